"""reunion: DNA kinship matching of missing persons against registered families."""

__version__ = "0.1.0"
