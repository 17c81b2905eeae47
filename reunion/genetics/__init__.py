"""The genetics of reunion: mutation models, per-locus LRs, family table builders.

All values are float64. Table builders produce, for one family and its
hypothesis, log10 LR over every genotype index of every locus (KINSHIP.md,
"The engine's shape"); the kernels only gather and sum.
"""
