"""The genetics of reunion: mutation models, per-locus LRs, family table builders.

All values are float64. Table builders produce, for one family and its
hypothesis, log10 LR over every genotype index of every locus (KINSHIP.md,
"The engine's shape"); the kernels only gather and sum.

One home per idea:
- :mod:`.roles`: ``Relation`` (a relative's relation to the lost child) and ``Role``
  (the part a person plays in a hypothesis, with the role keys ``sibling1``, ...);
- :mod:`.hypotheses`: ``Hypothesis`` and the one dispatch from a hypothesis and the
  relatives typed at a locus to that locus' LR or lost-child table (scalar and array forms);
- :mod:`.mutation`: mutation matrices and the per-run cache ``MutationModels``;
- :mod:`.kinship`: the transmission vector and the duo / trio / pairwise formulas;
- :mod:`.pedigree`: the nuclear family (peeling); :mod:`.theta`: theta and the known mother;
- :mod:`.family`: families, their hypotheses, tables and exact re-scores.
"""
