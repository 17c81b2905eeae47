"""Locus-name normalisation and allele-label validation.

Labs spell loci differently (vWA/VWA, TH01/TH-01/THO1, Penta D/PentaD/PENTA_D,
CSF1PO/CSF1P0). A name is reduced to a key (upper case, letters and digits
only, common letter/digit confusions fixed) and matched to the frequency
table's spelling.
"""

from __future__ import annotations

import re

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


class LocusNormaliser:
    """Maps any accepted spelling of a locus to the canonical spelling of a table."""

    def __init__(self, canonical: list[str]):
        self._by_key: dict[str, str] = {}
        for name in canonical:
            self._by_key[locus_key(name)] = name

    def __call__(self, name: str) -> str | None:
        """Canonical name, or None when the locus is not in the table."""
        return self._by_key.get(locus_key(name))


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
