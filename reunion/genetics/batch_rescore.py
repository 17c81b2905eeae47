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
:func:`reunion.genetics.hypotheses.locus_lr`) is the reference: tests/genetics/test_batch_rescore.py
compares the two on every hypothesis, mutation model and theta (rtol 1e-12).

``pedigree`` families are read from their tables too. What their rows cannot say comes from
the pedigree engine through the scorer's memo (:func:`reunion.genetics.batch_tables._pedigree_loci`,
once per distinct pedigree shape, locus and typed codes): where the joint pedigree is
impossible under the run's model (the locus is not compared, LR 1; asked only at the typed
loci where the row is 0 at every slot, as the builders write an impossible locus), and which
lost-child genotypes it excludes without mutation (the inconsistent loci, as
:meth:`~reunion.genetics.family.FamilyScorer.rescore` counts them: P = 0 under the model
none, or the family impossible there without mutation; under the model none the run's own
table, -inf).

A nuclear family impossible at a locus (no mutation model: no parents' genotypes explain
its siblings; the locus then has LR 1 and is not compared) is recognised from its saved row:
log10 0 at every slot of a locus with a typed sibling and more than one genotype (the table
builders write exactly that for an impossible locus; a possible family with a typed sibling
has a non-constant table there, the siblings' alleles raising the LR of the genotypes that
share them). tests/genetics/test_batch_rescore.py checks it against the formula path under
model none, where such loci occur.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

from reunion.encoding import PAIR_HI, PAIR_LO, UNTYPED
from reunion.genetics.batch_tables import _codes, _log10, _pairwise, _pedigree_loci
from reunion.genetics.hypotheses import Hypothesis
from reunion.genetics.kinship import KAPPA, _hw_table, transmission
from reunion.genetics.roles import Role, parse_role, role_key

if TYPE_CHECKING:
    from reunion.genetics.family import Family, FamilyScorer, Used

__all__ = ["Rescored", "rescore_arrays"]

_FATHER, _MOTHER = role_key(Role.FATHER), role_key(Role.MOTHER)
_PARENT_KINDS = (Hypothesis.TRIO, Hypothesis.DUO_FATHER, Hypothesis.DUO_MOTHER, Hypothesis.NUCLEAR)


@dataclass
class Rescored:
    """N candidates' exact scores; row i is ``child[i]`` as the lost child of ``families[i]``.

    Per distinct family j (``family_of`` int64 [N] maps pairs to them): ``hypothesis[j]`` /
    ``used[j]`` (None: nobody typed, not scored; its pairs' array rows are meaningless),
    ``father`` / ``mother`` int64 [J, L] the codes of the parents used (0 where none).
    Per pair: ``child`` uint16 [N, L] the missing persons' codes; ``log10_lr`` float64 [N];
    ``loci_compared``, ``inconsistent_loci``, ``floored_alleles`` int64 [N];
    ``duo_father`` / ``duo_mother`` float64 [N] (NaN where the hypothesis has no such parent);
    per locus [N, L]: ``locus_log10`` float64 (0 where not compared), ``locus_lr`` float64
    (1 there), ``compared``, ``inconsistent`` bool, ``floored`` int64 (alleles on the floor,
    0 where not compared).
    """

    family_of: np.ndarray
    hypothesis: list[Hypothesis | None]
    used: list[Used | None]
    father: np.ndarray
    mother: np.ndarray
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

    def pair_hypothesis(self, i: int) -> Hypothesis | None:
        """The hypothesis of pair i's family."""
        return self.hypothesis[int(self.family_of[i])]

    def pair_used(self, i: int) -> Used | None:
        """The members pair i's family uses, by role key."""
        return self.used[int(self.family_of[i])]


def _member_codes(used: list[Used | None], L: int) -> np.ndarray:
    """int64 [J, K, L] codes of every member each family uses (0-padded to the largest K)."""
    out = np.zeros((len(used), max((len(u) for u in used if u), default=0), L), np.int64)
    for j, u in enumerate(used):
        for k, m in enumerate((u or {}).values()):
            out[j, k] = m.codes
    return out


def rescore_arrays(scorer: FamilyScorer, families: list[Family], child_codes: np.ndarray,
                   rows: np.ndarray | None = None, row_of: np.ndarray | None = None) -> Rescored:
    """Exact scores of N (family, missing person) pairs as arrays (module docstring).

    ``child_codes`` uint16 [N, L]. ``rows`` float64 [R, W]: the families' tables (the saved
    ones) with ``row_of`` int64 [N] the row of each pair's family; without them the distinct
    families' rows are built here (:meth:`FamilyScorer.table_rows`). A family recurring in
    ``families`` (the same object) is looked at once.
    """
    enc = scorer.enc
    N, L = child_codes.shape
    first: dict[int, int] = {}
    family_of = np.fromiter((first.setdefault(id(f), len(first)) for f in families), np.int64, N)
    at = np.zeros(len(first), np.int64)
    at[family_of[::-1]] = np.arange(N)[::-1]                          # first pair of each family
    hyps = [scorer.hypothesis(families[i]) for i in at.tolist()]
    used_j = [h[1] if h else None for h in hyps]
    hyp_j = [h[0] if h else None for h in hyps]
    F_j, M_j = _codes([u or {} for u in used_j], _FATHER, L), _codes([u or {} for u in used_j], _MOTHER, L)
    out = Rescored(
        family_of=family_of, hypothesis=hyp_j, used=used_j, father=F_j, mother=M_j, child=child_codes,
        log10_lr=np.zeros(N), loci_compared=np.zeros(N, np.int64), inconsistent_loci=np.zeros(N, np.int64),
        floored_alleles=np.zeros(N, np.int64), duo_father=np.full(N, np.nan), duo_mother=np.full(N, np.nan),
        locus_log10=np.zeros((N, L)), locus_lr=np.ones((N, L)), compared=np.zeros((N, L), bool),
        inconsistent=np.zeros((N, L), bool), floored=np.zeros((N, L), np.int64))
    kind = np.array([h is not None for h in hyp_j], bool)
    fast = np.flatnonzero(kind[family_of])
    if not fast.size:
        return out
    fj = np.flatnonzero(kind)                                         # the scored families
    if rows is None:
        table = np.zeros((len(hyp_j), enc.width))
        table[fj] = scorer.table_rows([hyps[j] for j in fj.tolist()])
        row_j = np.arange(len(hyp_j))
    else:
        table = rows
        row_j = np.asarray(row_of, np.int64)[at]
    fam = family_of[fast]                                             # [n] distinct family of each fast pair
    offsets = enc.offsets.astype(np.int64)
    c = child_codes[fast].astype(np.int64)                            # [n, L]
    members = _member_codes(used_j, L)                                # [J, K, L]
    compared = np.zeros((len(fast), L), bool)
    impossible = np.zeros((len(hyp_j), L), bool)
    # nuclear families impossible at a locus (module docstring)
    nuclear = np.array([h is Hypothesis.NUCLEAR for h in hyp_j])
    if nuclear.any():
        nj = np.flatnonzero(nuclear)
        sib_typed = np.zeros((len(nj), L), bool)
        roles: dict[str, Role] = {}
        for q, j in enumerate(nj.tolist()):
            for k, m in used_j[j].items():
                if (roles.get(k) or roles.setdefault(k, parse_role(k)[0])) in (Role.SIBLING, Role.HALF_SIBLING):
                    sib_typed[q] |= m.codes != UNTYPED
        widths = np.diff(np.append(offsets, enc.width)) - 1
        flat = np.add.reduceat(np.asarray(table[row_j[nj]]) != 0.0, offsets, axis=1) == 0
        impossible[nj] = flat & sib_typed & (widths > 1)[None, :]
    # pedigree families impossible at a locus under the run's model: their row is 0 at every slot
    # of a typed locus there (as that of a possible family whose typed members say nothing of
    # the lost child's genotype, LR 1 exactly): only those loci ask the engine (its memo)
    ped_j = np.flatnonzero([h is Hypothesis.PEDIGREE for h in hyp_j])
    if ped_j.size:
        ped_used = [used_j[j] for j in ped_j.tolist()]
        flat = np.add.reduceat(np.asarray(table[row_j[ped_j]]) != 0.0, offsets, axis=1) == 0
        flat &= (members[ped_j] != 0).any(axis=1)
        if flat.any():
            for l, fam_p, inv, _, possible in _pedigree_loci(scorer, ped_used, cells=flat):
                impossible[ped_j[fam_p], l] = ~possible[inv]
    is_pair = np.array([h is not None and h.relation is not None for h in hyp_j])
    is_parental = np.array([h in _PARENT_KINDS for h in hyp_j])
    n = len(fast)
    vals, lrs, incons = np.zeros((n, L)), np.ones((n, L)), np.zeros((n, L), bool)
    fl, total = np.zeros((n, L), np.int64), np.zeros(n)
    _gather(np.asarray(table), row_j, fam, offsets, c, members, impossible, F_j, M_j, is_pair, is_parental,
            _slot_floor(enc), PAIR_LO, PAIR_HI, vals, lrs, compared, incons, fl, total)
    if ped_j.size:
        if scorer.models.on:
            _pedigree_inconsistent(scorer, ped_j, ped_used, fam, c, compared, incons)
        else:                            # the run's tables are the ones without mutation: P = 0 there
            ped_pair = np.isin(fam, ped_j)
            incons[ped_pair] = compared[ped_pair] & np.isneginf(vals[ped_pair])
    duo_f, duo_m = np.full(n, np.nan), np.full(n, np.nan)
    has_parent = np.array([u is not None and (_FATHER in u or _MOTHER in u) for u in used_j])
    sel = np.flatnonzero(has_parent[fam])                             # a pedigree's typed parents too
    if sel.size:
        f_all, m_all, c_all = F_j[fam[sel]], M_j[fam[sel]], c[sel]
        has_f = np.array([u is not None and _FATHER in u for u in used_j])
        has_m = np.array([u is not None and _MOTHER in u for u in used_j])
        own_f = np.array([h is Hypothesis.DUO_FATHER for h in hyp_j])
        own_m = np.array([h is Hypothesis.DUO_MOTHER for h in hyp_j])
        # a trio's or nuclear family's parents' duo totals (a duo's is its total)
        need_f = np.flatnonzero((has_f & ~own_f)[fam[sel]])
        need_m = np.flatnonzero((has_m & ~own_m)[fam[sel]])
        if scorer.theta == 0.0:
            df = _duo_totals(scorer, c_all[need_f], f_all[need_f], True)
            dm = _duo_totals(scorer, c_all[need_m], m_all[need_m], False)
        else:
            df = _theta_duo_totals(scorer, f_all[need_f], c_all[need_f])
            dm = _theta_duo_totals(scorer, m_all[need_m], c_all[need_m])
        duo_f[sel[need_f]], duo_m[sel[need_m]] = df, dm
        own_f, own_m = own_f[fam], own_m[fam]
        duo_f[own_f], duo_m[own_m] = total[own_f], total[own_m]
    per_pair = {"log10_lr": total, "loci_compared": compared.sum(axis=1), "inconsistent_loci": incons.sum(axis=1),
                "floored_alleles": fl.sum(axis=1), "duo_father": duo_f, "duo_mother": duo_m,
                "locus_log10": vals, "locus_lr": lrs, "compared": compared, "inconsistent": incons, "floored": fl}
    for name, value in per_pair.items():
        if n == N:                       # every pair went this way: the arrays as they are
            setattr(out, name, value)
        else:
            getattr(out, name)[fast] = value
    return out


_SLOT_FLOOR: dict[int, tuple[object, np.ndarray]] = {}


def _slot_floor(enc) -> np.ndarray:
    """int64 [W]: alleles on the rare-allele floor in each table slot's genotype (0 for slot 0)."""
    hit = _SLOT_FLOOR.get(id(enc))
    if hit is None or hit[0] is not enc:
        out = np.zeros(enc.width, np.int64)
        for l, lc in enumerate(enc.loci):
            off, f = int(enc.offsets[l]), lc.floored.astype(np.int64)
            g = np.arange(1, int(np.diff(np.append(enc.offsets, enc.width))[l]))
            out[off + g] = f[PAIR_LO[g]] + f[PAIR_HI[g]]
        if len(_SLOT_FLOOR) >= 8:
            _SLOT_FLOOR.clear()
        hit = _SLOT_FLOOR[id(enc)] = (enc, out)
    return hit[1]


@numba.njit(cache=True, nogil=True)
def _gather(table, row, fam, offsets, c, members, impossible, F, M, is_pair, is_parental, slot_floor,
            lo, hi, vals, lrs, compared, incons, floored, total):  # pragma: no cover (compiled)
    """Per pair i and locus l: compared (the child and a used member typed, the family
    possible), the table's log10 LR there (``vals``, 0 elsewhere), the locus-order sum
    (``total``), the floored alleles of the child and the typed members, and inconsistent:
    a pairwise exclusion (log10 -inf), or for a trio / duo / nuclear family no Mendelian
    transmission from the typed parents (trio: a from the father and b from the mother or
    the reverse; one parent: a or b from it; the zeros of hypotheses.parent_lrs without
    mutation, the frequencies being positive).

    ``table`` float64 [R, W]; ``row`` int64 [J] its row of family j; ``fam`` int64 [n];
    ``offsets`` int64 [L]; ``c`` int64 [n, L] the children's codes; ``members`` int64
    [J, K, L]; ``impossible`` bool [J, L]; ``F``, ``M`` int64 [J, L] the parents' codes;
    ``is_pair``, ``is_parental`` bool [J]; ``slot_floor`` int64 [W]; ``lo``, ``hi`` int64
    genotype index -> alleles. Writes ``vals``, ``lrs`` (10 ** vals; ones on entry),
    ``compared``, ``incons``, ``floored`` [n, L] and ``total`` [n] (zeros on entry)."""
    n, L = c.shape
    K = members.shape[1]
    for i in range(n):
        j = fam[i]
        r = row[j]
        t = 0.0
        for l in range(L):
            cl = c[i, l]
            if cl == 0 or impossible[j, l]:
                continue
            nf = 0
            typed = False
            for k in range(K):
                g = members[j, k, l]
                if g != 0:
                    typed = True
                    nf += slot_floor[offsets[l] + g]
            if not typed:
                continue
            v = table[r, offsets[l] + cl]
            vals[i, l] = v
            lrs[i, l] = 10.0 ** v
            compared[i, l] = True
            t += v
            floored[i, l] = nf + slot_floor[offsets[l] + cl]
            if is_pair[j]:
                incons[i, l] = v == -np.inf
            elif is_parental[j]:
                f, m = F[j, l], M[j, l]
                if f == 0 and m == 0:
                    continue
                ca, cb = lo[cl], hi[cl]
                a_f = f != 0 and (ca == lo[f] or ca == hi[f])
                b_f = f != 0 and (cb == lo[f] or cb == hi[f])
                a_m = m != 0 and (ca == lo[m] or ca == hi[m])
                b_m = m != 0 and (cb == lo[m] or cb == hi[m])
                if f != 0 and m != 0:
                    fits = (a_f and b_m) or (b_f and a_m)
                elif f != 0:
                    fits = a_f or b_f
                else:
                    fits = a_m or b_m
                incons[i, l] = not fits
        total[i] = t


def _duo_totals(scorer: FamilyScorer, c: np.ndarray, parent: np.ndarray, father: bool) -> np.ndarray:
    """log10 duo totals (with the run's mutation model, theta 0) of n pairs with a father
    (``father``) or a mother: the ``lr_father`` / ``lr_mother`` of :func:`hypotheses.parent_lrs`
    (the same float64 operations) summed in locus order where child and parent are typed,
    as :meth:`FamilyScorer.rescore` sums its duo. ``c``, ``parent`` int64 [n, L]; float64 [n]."""
    n, L = c.shape
    tot = np.zeros(n)
    for l in range(L):
        ok = np.flatnonzero((c[:, l] != UNTYPED) & (parent[:, l] != UNTYPED))
        if not ok.size:
            continue
        t = scorer._locus_model(l)
        M, pushed = (t.M_father, t.pushed_mother) if father else (t.M_mother, t.pushed_father)
        cl, pl = c[ok, l], parent[ok, l]
        ca, cb = PAIR_LO[cl], PAIR_HI[cl]
        pa_, pb_ = PAIR_LO[pl], PAIR_HI[pl]
        hw = _hw_table(t.p, ca, cb)
        t1 = transmission((pa_, pb_), M, ca), transmission((pa_, pb_), M, cb)
        with_p = np.where(ca == cb, t1[0] * pushed[ca], t1[0] * pushed[cb] + t1[1] * pushed[ca])
        tot[ok] += _log10(with_p / hw)
    return tot


def _theta_duo_totals(scorer: FamilyScorer, P: np.ndarray, C: np.ndarray) -> np.ndarray:
    """A parent's theta duo totals of n pairs (float64 [n]): log10 of the theta duo table
    (:func:`batch_tables._pairwise`) at the child's slot, summed in locus order where both
    are typed. ``P``, ``C`` int64 [n, L] codes."""
    n, L = C.shape
    pc = KAPPA["parent-child"]
    tot = np.zeros(n)
    for l in range(L):
        ok = np.flatnonzero((P[:, l] != UNTYPED) & (C[:, l] != UNTYPED))
        if ok.size:
            tab = _pairwise(P[ok, l], scorer._locus_model(l).p, pc, scorer.theta)
            tot[ok] += _log10(tab[np.arange(ok.size), C[ok, l] - 1])
    return tot


def _pedigree_inconsistent(scorer: FamilyScorer, ped_j: np.ndarray, ped_used: list, fam: np.ndarray,
                           c: np.ndarray, compared: np.ndarray, incons: np.ndarray) -> None:
    """Mark the inconsistent loci of the pairs of ``pedigree`` families (``ped_j`` int64 [P]
    their distinct-family indices, ``ped_used`` their members): compared there, and the
    family impossible without mutation or the child's genotype of probability 0 under it
    (the engine's table under the model none, :func:`_pedigree_loci`). ``fam`` int64 [n],
    ``c`` int64 [n, L] the pairs' children; ``compared`` bool [n, L]; writes ``incons``."""
    where = np.full(int(max(ped_j.max(), fam.max())) + 1, -1, np.int64)
    where[ped_j] = np.arange(ped_j.size)
    pairs = np.flatnonzero(where[fam] >= 0)
    if not pairs.size:
        return
    q = where[fam[pairs]]                      # each pair's position among the pedigree families
    for l, fam_p, inv, tabs, possible in _pedigree_loci(scorer, ped_used, mutation=False):
        u = np.full(ped_j.size, -1, np.int64)
        u[fam_p] = inv
        sel = np.flatnonzero(compared[pairs, l] & (u[q] >= 0))
        if not sel.size:
            continue
        i, uu = pairs[sel], u[q[sel]]
        incons[i, l] = ~possible[uu] | np.isneginf(tabs[uu, c[i, l] - 1])
