"""Locus-name normalisation and allele-label validation.

Labs spell loci differently (vWA/VWA, TH01/TH-01/THO1, Penta D/PentaD/PENTA_D,
CSF1PO/CSF1P0). A name is reduced to a key (upper case, letters and digits
only, common letter/digit confusions fixed) and matched to the frequency
table's spelling.

Not every marker of a kit is an autosomal STR: amelogenin (AMEL, Amelogenin)
types the sex, and Y-chromosome loci (DYS391, DYF387S1, Y-GATA-H4, Yindel, ...)
are inherited from father to son only. :func:`locus_kind` names them, so a
reader can keep them out of autosomal scoring and say so once, rather than
rejecting each row as a misspelt locus.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

_ALLELE_RE = re.compile(r"^\d{1,3}(\.\d)?$")

# Known confusions of the letter O and the digit 0 in locus names, on the key form.
_ALIASES = {
    "THO1": "TH01",
    "TH1": "TH01",
    "CSF1P0": "CSF1PO",
    "CSF": "CSF1PO",
    "F13A1": "F13A01",
    "FES": "FESFPS",
    "FESFPS": "FESFPS",
    "PENTAD": "PENTAD",
    "PENTAE": "PENTAE",
}


def locus_key(name: str) -> str:
    """Reduce a locus name to its comparison key: 'Penta D' -> 'PENTAD', 'TH-01' -> 'TH01'."""
    key = re.sub(r"[^A-Z0-9]", "", name.strip().upper())
    return _ALIASES.get(key, key)


LocusKind = Literal["autosomal", "amelogenin", "y"]

_AMELOGENIN_KEYS = frozenset({"AMEL", "AMELOGENIN", "AM"})
# Y-chromosome markers: DYS###, DYF###S#, Y-GATA-H4 / Y GATA A10 (also spelt without the Y:
# GATA H4, GATA_H4, GATA A10; no autosomal STR is named GATAH4 or GATAA10), the Yindel (GlobalFiler).
_Y_KEY_RE = re.compile(r"^(DYS\d|DYF\d|YGATA|GATAH4|GATAA10|YINDEL)")


def locus_kind(name: str) -> LocusKind:
    """'amelogenin' for AMEL/Amelogenin, 'y' for a Y-chromosome locus, else 'autosomal'."""
    key = locus_key(name)
    if key in _AMELOGENIN_KEYS:
        return "amelogenin"
    if _Y_KEY_RE.match(key):
        return "y"
    return "autosomal"


class LocusNormaliser:
    """Maps any accepted spelling of a locus to the canonical spelling of a table."""

    def __init__(self, canonical: list[str]):
        self._by_key: dict[str, str] = {}
        for name in canonical:
            self._by_key[locus_key(name)] = name

    def __call__(self, name: str) -> str | None:
        """Canonical name, or None when the locus is not in the table."""
        return self._by_key.get(locus_key(name))

    def suggest(self, name: str) -> str | None:
        """The table's locus closest in spelling to ``name`` (difflib), or None if none is close."""
        close = difflib.get_close_matches(locus_key(name), list(self._by_key), n=1, cutoff=0.6)
        return self._by_key[close[0]] if close else None


def valid_allele(label: str) -> bool:
    """True for a repeat-number allele label: '9', '10', '9.3', '15.2'."""
    return bool(_ALLELE_RE.match(label))


def canonical_allele(label: str) -> str:
    """Canonical spelling of a valid allele label: '09' -> '9', '9.0' -> '9'."""
    value = float(label)
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}"


def allele_value(label: str) -> float:
    """Numeric repeat value of an allele label."""
    return float(label)
