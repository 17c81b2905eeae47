"""The exact re-score of many candidates as arrays: a gather from their families' tables.

A family's lost-child table (float64, :mod:`reunion.genetics.batch_tables`) already holds
each locus' exact log10 LR at every lost-child genotype slot, so a candidate's per-locus
values are ``row[offset_l + code_l]`` and its total their sum in locus order (what the
screen sums, now in float64 from the family's own row). The descriptive fields come from
the members' codes as arrays: which loci are compared (the missing person and a member used
typed there, and the family possible there), which are inconsistent (against the typed
parents without mutation, as :meth:`reunion.genetics.family.FamilyScorer.rescore`), the
floored alleles, and the parents' duo totals (:func:`reunion.genetics.hypotheses.parent_lrs`,
the theta duo from its table). The per-locus formula path
(:meth:`~reunion.genetics.family.FamilyScorer.rescore`, through
:func:`reunion.genetics.hypotheses.locus_lr`) is the reference: tests/test_batch_rescore.py
compares the two on every hypothesis, mutation model and theta (rtol 1e-12).

``pedigree`` families are re-scored through that formula path (their table slots of a
locus where the joint pedigree is impossible without mutation need the engine's own
answer); their results are copied into the same arrays.

A nuclear family is impossible at a locus (no mutation model: no parents' genotypes explain
its siblings; the locus then has LR 1 and is not compared) exactly where its table has
log10 0 at every slot of a locus with a typed sibling and more than one genotype: a possible
family with a typed sibling has a non-constant table there (the siblings' alleles raise the
LR of the genotypes sharing them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reunion.encoding import PAIR_HI, PAIR_LO, UNTYPED
from reunion.genetics.batch_tables import _codes, _log10, _pairwise
from reunion.genetics.hypotheses import Hypothesis, parent_lrs
from reunion.genetics.kinship import KAPPA
from reunion.genetics.roles import Role, parse_role, role_key

if TYPE_CHECKING:
    from reunion.genetics.family import Family, FamilyScorer, Used

__all__ = ["Rescored", "rescore_arrays"]

_FATHER, _MOTHER = role_key(Role.FATHER), role_key(Role.MOTHER)
_PARENT_KINDS = (Hypothesis.TRIO, Hypothesis.DUO_FATHER, Hypothesis.DUO_MOTHER, Hypothesis.NUCLEAR)


@dataclass
class Rescored:
    """N candidates' exact scores; row i is ``child_codes[i]`` as the lost child of ``families[i]``.

    ``hypothesis[i]`` / ``used[i]``: the family's hypothesis and members (None: nobody typed,
    not scored; its array rows are meaningless); ``child`` uint16 [N, L] the missing persons'
    codes. Arrays: ``log10_lr`` float64 [N];
    ``loci_compared``, ``inconsistent_loci``, ``floored_alleles`` int64 [N];
    ``duo_father`` / ``duo_mother`` float64 [N] (NaN where the hypothesis has no such parent);
    per locus [N, L]: ``locus_log10`` float64 (0 where not compared), ``locus_lr`` float64
    (1 there), ``compared``, ``inconsistent`` bool, ``floored`` int64 (alleles on the floor,
    0 where not compared).
    """

    hypothesis: list[Hypothesis | None]
    used: list[Used | None]
    child: np.ndarray
    log10_lr: np.ndarray
    loci_compared: np.ndarray
    inconsistent_loci: np.ndarray
    floored_alleles: np.ndarray
    duo_father: np.ndarray
    duo_mother: np.ndarray
    locus_log10: np.ndarray
    locus_lr: np.ndarray
    compared: np.ndarray
    inconsistent: np.ndarray
    floored: np.ndarray


def _member_codes(used: list[Used], L: int) -> np.ndarray:
    """int64 [J, K, L] codes of every member each family uses (0-padded to the largest K)."""
    out = np.zeros((len(used), max((len(u) for u in used), default=0), L), np.int64)
    for j, u in enumerate(used):
        for k, m in enumerate(u.values()):
            out[j, k] = m.codes
    return out


def rescore_arrays(scorer: FamilyScorer, families: list[Family], child_codes: np.ndarray,
                   rows: np.ndarray | None = None, row_of: np.ndarray | None = None) -> Rescored:
    """Exact scores of N (family, missing person) pairs as arrays (module docstring).

    ``child_codes`` uint16 [N, L]. ``rows`` float64 [J, W]: the families' tables (the saved
    ones) with ``row_of`` int64 [N] the row of each pair's family; without them the distinct
    families' rows are built here (:meth:`FamilyScorer.table_rows`).
    """
    enc = scorer.enc
    N, L = child_codes.shape
    C = child_codes.astype(np.int64)
    hyps = [scorer.hypothesis(f) for f in families]
    out = Rescored(
        hypothesis=[h[0] if h else None for h in hyps], used=[h[1] if h else None for h in hyps],
        child=child_codes,
        log10_lr=np.zeros(N), loci_compared=np.zeros(N, np.int64), inconsistent_loci=np.zeros(N, np.int64),
        floored_alleles=np.zeros(N, np.int64), duo_father=np.full(N, np.nan), duo_mother=np.full(N, np.nan),
        locus_log10=np.zeros((N, L)), locus_lr=np.ones((N, L)), compared=np.zeros((N, L), bool),
        inconsistent=np.zeros((N, L), bool), floored=np.zeros((N, L), np.int64))
    slow = [i for i, h in enumerate(hyps) if h is not None and h[0] is Hypothesis.PEDIGREE]
    fast = np.array([i for i, h in enumerate(hyps) if h is not None and h[0] is not Hypothesis.PEDIGREE],
                    dtype=np.int64)
    for i in slow:
        _copy_formula(out, i, scorer.rescore(families[i], child_codes[i]))
    if not fast.size:
        return out
    # the distinct families of the fast pairs and their table rows
    if rows is None:
        first: dict[int, int] = {}
        fam_of = np.array([first.setdefault(id(families[i]), len(first)) for i in fast.tolist()], np.int64)
        uniq = list(first)
        pick = {id(families[i]): i for i in fast.tolist()}
        rows = scorer.table_rows([hyps[pick[k]] for k in uniq])
        j_index = [pick[k] for k in uniq]
    else:
        fam_of = np.asarray(row_of, np.int64)[fast]
        uniq_rows, fam_of = np.unique(fam_of, return_inverse=True)
        rows = np.asarray(rows[uniq_rows])
        j_index = [int(fast[np.flatnonzero(fam_of == j)[0]]) for j in range(len(uniq_rows))]
    used_j = [hyps[i][1] for i in j_index]
    hyp_j = [hyps[i][0] for i in j_index]
    offsets = enc.offsets.astype(np.int64)
    c = C[fast]                                                       # [n, L]
    members = _member_codes(used_j, L)                                # [J, K, L]
    typed_any = (members != UNTYPED).any(axis=1)[fam_of]              # [n, L]
    compared = (c != UNTYPED) & typed_any
    # nuclear families impossible at a locus (module docstring)
    nuclear_j = np.array([h is Hypothesis.NUCLEAR for h in hyp_j])
    if nuclear_j.any():
        sib_typed = np.zeros((len(used_j), L), bool)
        for j in np.flatnonzero(nuclear_j):
            for k, m in used_j[j].items():
                if parse_role(k)[0] in (Role.SIBLING, Role.HALF_SIBLING):
                    sib_typed[j] |= m.codes != UNTYPED
        widths = np.diff(np.append(offsets, enc.width)) - 1
        flat = np.add.reduceat(rows != 0.0, offsets, axis=1) == 0        # [J, L]
        impossible = flat & sib_typed & (widths > 1)[None, :] & nuclear_j[:, None]
        compared &= ~impossible[fam_of]
    vals = rows[fam_of[:, None], offsets[None, :] + c]
    vals = np.where(compared, vals, 0.0)
    total = np.zeros(len(fast))
    for l in range(L):                                                 # locus order, as the formula path
        total += vals[:, l]
    # inconsistent: against the typed parents without mutation (trio, duo, nuclear), an exclusion
    # of the pairwise formula (never: its kappa0 > 0), else none
    hyp_n = [hyp_j[j] for j in fam_of.tolist()]
    parental = np.array([h in _PARENT_KINDS for h in hyp_n])
    used_n = [used_j[j] for j in fam_of.tolist()]
    incons = np.zeros((len(fast), L), bool)
    duo_f, duo_m = np.full(len(fast), np.nan), np.full(len(fast), np.nan)
    if parental.any():
        sel = np.flatnonzero(parental)
        u_sel = [used_n[k] for k in sel.tolist()]
        a = scorer._parent_arrays(u_sel, child_codes[fast[sel]])
        incons[sel] = a["flags"][1].T
        has_f = np.array([_FATHER in u for u in u_sel])
        has_m = np.array([_MOTHER in u for u in u_sel])
        if scorer.theta == 0.0:
            df, dm = a["duo_father"], a["duo_mother"]
        else:
            df, dm = _theta_duos(scorer, u_sel, child_codes[fast[sel]])
        duo_f[sel[has_f]], duo_m[sel[has_m]] = df[has_f], dm[has_m]
        for h, d, own in ((Hypothesis.DUO_FATHER, duo_f, has_f), (Hypothesis.DUO_MOTHER, duo_m, has_m)):
            is_h = np.array([hyp_n[k] is h for k in sel.tolist()])
            d[sel[is_h]] = total[sel[is_h]]
    pair = np.array([h.relation is not None for h in hyp_n])
    incons[pair] = np.isneginf(vals[pair])
    incons &= compared
    # floored alleles: the missing person's and every used member's typed here
    fl = np.zeros((len(fast), L), np.int64)
    mem_n = members[fam_of]                                            # [n, K, L]
    for l, lc in enumerate(enc.loci):
        f = lc.floored.astype(np.int64)
        fl[:, l] = f[PAIR_LO[c[:, l]]] + f[PAIR_HI[c[:, l]]]
        m = mem_n[:, :, l]
        fl[:, l] += np.where(m != UNTYPED, f[PAIR_LO[m]] + f[PAIR_HI[m]], 0).sum(axis=1)
    fl = np.where(compared, fl, 0)
    out.log10_lr[fast] = total
    out.loci_compared[fast] = compared.sum(axis=1)
    out.inconsistent_loci[fast] = incons.sum(axis=1)
    out.floored_alleles[fast] = fl.sum(axis=1)
    out.duo_father[fast], out.duo_mother[fast] = duo_f, duo_m
    out.locus_log10[fast] = vals
    out.locus_lr[fast] = np.where(compared, 10.0 ** vals, 1.0)
    out.compared[fast], out.inconsistent[fast], out.floored[fast] = compared, incons, fl
    return out


def _theta_duos(scorer: FamilyScorer, used: list[Used], child_codes: np.ndarray):
    """The father's and mother's theta duo totals (float64 [n] each; 0 where the parent is
    absent): log10 of the theta duo table (:func:`batch_tables._pairwise`) at the child."""
    n, L = child_codes.shape
    F, Mo = _codes(used, _FATHER, L), _codes(used, _MOTHER, L)
    C = child_codes.astype(np.int64)
    pc = KAPPA["parent-child"]
    out = []
    for P in (F, Mo):
        tot = np.zeros(n)
        for l in range(L):
            ok = np.flatnonzero((P[:, l] != UNTYPED) & (C[:, l] != UNTYPED))
            if ok.size:
                tab = _pairwise(P[ok, l], scorer._locus_model(l).p, pc, scorer.theta)
                tot[ok] += _log10(tab[np.arange(ok.size), C[ok, l] - 1])
        out.append(tot)
    return out


def _copy_formula(out: Rescored, i: int, cs) -> None:
    """Row i of ``out`` from a formula-path :class:`~reunion.genetics.family.CandidateScore`."""
    out.log10_lr[i] = cs.log10_lr
    out.loci_compared[i], out.inconsistent_loci[i] = cs.loci_compared, cs.inconsistent_loci
    out.floored_alleles[i] = cs.floored_alleles
    out.duo_father[i] = np.nan if cs.log10_lr_duo_father is None else cs.log10_lr_duo_father
    out.duo_mother[i] = np.nan if cs.log10_lr_duo_mother is None else cs.log10_lr_duo_mother
    for l, r in enumerate(cs.loci):
        out.locus_lr[i, l] = r.lr
        out.locus_log10[i, l] = float(np.log10(r.lr)) if r.lr > 0 else -np.inf
        out.compared[i, l], out.inconsistent[i, l], out.floored[i, l] = r.compared, r.inconsistent, r.floored
