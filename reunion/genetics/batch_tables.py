"""Lost-child tables of many families at once: array passes per locus and family shape.

Families of one hypothesis differ only in their members' genotype codes, so a locus' tables
of a whole batch are one set of array operations (the national-scale path of
:meth:`reunion.genetics.family.FamilyScorer.table_rows`). The per-family builder
(:meth:`~reunion.genetics.family.FamilyScorer.table_row`, through
:func:`reunion.genetics.hypotheses.locus_table`) stays the reference: tests/genetics/test_batch_tables.py
compares the two on every family kind, mutation model and theta (rtol 1e-12 on the
log10 values, atol 1e-13 near log10 0).

By hypothesis (at each locus the formula :func:`reunion.genetics.hypotheses.at_locus` picks):

- ``trio`` / ``duo_*`` (theta 0): one compiled pass over families and loci
  (:func:`_parent_lrs`, the operations of :func:`reunion.genetics.hypotheses.parent_tables`),
  log10 by NumPy: bit-identical to the per-family rows; the trio / duo loci of ``nuclear``
  families (no sibling typed there) through ``parent_tables`` itself; theta > 0: the Balding-Nichols tables of :mod:`reunion.genetics.theta` as arrays
  (:func:`_trio_theta`, :func:`_pairwise`, same operations in the same order);
- ``pair_*``: the pairwise kappa table (:func:`_pairwise`, theta 0 or not);
- ``nuclear`` loci with a typed full or half sibling: the peeling sum of
  :mod:`reunion.genetics.pedigree` (``_joint``) over all families of one shape (which
  parents are typed here, how many siblings and half siblings), :func:`_nuclear`;
- ``pedigree``: the pedigree engine over a batch (:func:`reunion.genetics.engine.mixture_joint_batch`:
  one elimination program per pedigree shape and typing pattern at a locus, its einsums over
  the families) once per distinct (pedigree shape, locus, typed members' codes there) of the
  batch and of the scorer's memo (:class:`PedigreeMemo`): a lost child's table at a locus
  depends only on the pedigree up to its persons' names, the typed members' genotypes there
  and the locus model, and families of one shape (the same relation codes and sexes in
  member order, or the same explicit links) share those more often the larger the database
  (:func:`_pedigree_loci`).

Shapes: ``codes`` uint16 / int64 genotype indices (0: untyped), tables float64
[B, n(n+1)/2] per locus, rows float64 [F, W] (the encoding's width; slot 0 of each locus 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from reunion.encoding import PAIR_HI, PAIR_LO, UNTYPED, genotype_pairs
from reunion.genetics import engine
from reunion.genetics.hypotheses import Hypothesis, parent_tables
from reunion.genetics.kinship import KAPPA, _hw_table, _ordered_table, transmission
from reunion.genetics.mutation import LocusModel
from reunion.genetics.pedigree import _side
from reunion.genetics.roles import Role, parse_role, role_key

if TYPE_CHECKING:       # no import cycle: family.py imports this module
    from reunion.genetics.family import FamilyScorer, Used

__all__ = ["table_rows", "NUCLEAR_BATCH_BYTES", "PEDIGREE_MEMO_BYTES", "PedigreeMemo", "pedigree_shape"]

_FATHER, _MOTHER, _OTHER = (role_key(r) for r in (Role.FATHER, Role.MOTHER, Role.OTHER))
_PARENTS = (Hypothesis.TRIO, Hypothesis.DUO_FATHER, Hypothesis.DUO_MOTHER)
#: the most bytes one nuclear batch's joint weights [B, G_F, G_M] may take (batches are cut to fit)
NUCLEAR_BATCH_BYTES = 32 << 20
#: the most bytes of lost-child tables a scorer's :class:`PedigreeMemo` keeps (cleared when full)
PEDIGREE_MEMO_BYTES = 64 << 20


def _log10(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log10(x)


def _codes(used: list[Used], key: str, L: int) -> np.ndarray:
    """int64 [N, L] codes of each family's member ``key`` (0 where it has none)."""
    out = np.zeros((len(used), L), np.int64)
    for i, u in enumerate(used):
        if key in u:
            out[i] = u[key].codes
    return out


def _members(used: list[Used], role: Role, L: int) -> np.ndarray:
    """int64 [N, K, L] codes of each family's members of ``role`` (siblings, half siblings)
    in role-key order, 0-padded to the largest count K."""
    roles: dict[str, Role] = {}             # parse each role key once
    lists = [[m for k, m in u.items() if (roles.get(k) or roles.setdefault(k, parse_role(k)[0])) is role]
             for u in used]
    out = np.zeros((len(used), max((len(x) for x in lists), default=0), L), np.int64)
    for i, ms in enumerate(lists):
        for j, m in enumerate(ms):
            out[i, j] = m.codes
    return out


def _mendelian(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """:func:`reunion.genetics.kinship.mendelian` of B genotypes (alleles a, b [B]); float64 [B, n]."""
    t = np.zeros((len(a), n))
    rows = np.arange(len(a))
    np.add.at(t, (rows, a), 0.5)
    np.add.at(t, (rows, b), 0.5)
    return t


def _pairwise(q: np.ndarray, p: np.ndarray, kappa: tuple[float, float, float], theta: float) -> np.ndarray:
    """:func:`kinship.pairwise_child_table` (theta 0) / :func:`theta.pairwise_child_table_theta`
    of B relatives with genotype indices ``q`` [B]; float64 [B, n(n+1)/2]."""
    n = len(p)
    lo, hi = genotype_pairs(n)
    k0, k1, k2 = kappa
    qa, qb = PAIR_LO[q], PAIR_HI[q]
    same = (lo[None, :] == qa[:, None]) & (hi[None, :] == qb[:, None])      # PAIR_LO <= PAIR_HI
    if theta == 0.0:
        onehot = _mendelian(qa, qb, n)
        ibd1 = np.where(lo == hi, onehot[:, lo] * p[lo], onehot[:, lo] * p[hi] + onehot[:, hi] * p[lo])
        return k0 + (k1 * ibd1 + k2 * same) / _hw_table(p, lo, hi)
    m = 2.0 * _mendelian(qa, qb, n)
    u = 0.5 * m
    pi = (m * theta + (1.0 - theta) * p) / (1.0 + theta)
    second = (m[:, hi] + (lo == hi)) * theta + (1.0 - theta) * p[hi]
    den = np.where(lo == hi, 1.0, 2.0) * pi[:, lo] * second / (1.0 + 2.0 * theta)
    ibd1 = _ordered_table(u, pi, lo, hi)
    return k0 + (k1 * ibd1 + k2 * same) / den


def _trio_theta(f: np.ndarray, m: np.ndarray, p: np.ndarray, theta: float) -> np.ndarray:
    """:func:`theta.trio_child_table_theta` of B couples (genotype indices f, m [B]); float64 [B, n(n+1)/2]."""
    n = len(p)
    lo, hi = genotype_pairs(n)
    tf, tm = _mendelian(PAIR_LO[f], PAIR_HI[f], n), _mendelian(PAIR_LO[m], PAIR_HI[m], n)
    cnt = 2.0 * (tf + tm)
    pi4 = (cnt * theta + (1.0 - theta) * p) / (1.0 + 3.0 * theta)
    second = ((cnt[:, hi] + (lo == hi)) * theta + (1.0 - theta) * p[hi]) / (1.0 + 4.0 * theta)
    den = np.where(lo == hi, 1.0, 2.0) * pi4[:, lo] * second
    return _ordered_table(tf, tm, lo, hi) / den


def _parents(f: np.ndarray, m: np.ndarray, t: LocusModel, theta: float):
    """(sel bool [N], tables [sel.sum(), n(n+1)/2]) of the trio / duo at one locus, as
    :func:`reunion.genetics.hypotheses.parent_tables` (theta 0) or the theta tables."""
    if theta == 0.0:
        yield from parent_tables(f, m, t)
        return
    pc = KAPPA["parent-child"]
    both, only_f, only_m = (f > 0) & (m > 0), (f > 0) & (m == 0), (f == 0) & (m > 0)
    if both.any():
        yield both, _trio_theta(f[both], m[both], t.p, theta)
    if only_f.any():
        yield only_f, _pairwise(f[only_f], t.p, pc, theta)
    if only_m.any():
        yield only_m, _pairwise(m[only_m], t.p, pc, theta)


def _parent_models(scorer: FamilyScorer):
    """The run's locus models packed for :func:`_parent_rows`: ``n`` int64 [L] alleles per
    locus; ``MF``, ``MM`` float64 [L, n_max, n_max] the father's / mother's mutation
    matrices; ``pf``, ``pm`` float64 [L, n_max] p.M of an untested father / mother; ``hw``
    float64 [W] the Hardy-Weinberg probability of each table slot's genotype (0 in slot 0)."""
    enc = scorer.enc
    L = len(enc.loci)
    n = np.array([lc.n_alleles for lc in enc.loci], np.int64)
    k = int(n.max())
    MF, MM = np.zeros((L, k, k)), np.zeros((L, k, k))
    pf, pm = np.zeros((L, k)), np.zeros((L, k))
    hw = np.zeros(enc.width)
    for l in range(L):
        t = scorer._locus_model(l)
        a = int(n[l])
        MF[l, :a, :a], MM[l, :a, :a] = t.M_father, t.M_mother
        pf[l, :a], pm[l, :a] = t.pushed_father, t.pushed_mother
        lo, hi = genotype_pairs(a)
        off = int(enc.offsets[l])
        hw[off + 1: off + 1 + lo.size] = _hw_table(t.p, lo, hi)
    return n, MF, MM, pf, pm, hw


@numba.njit(cache=True, nogil=True)
def _parent_lrs(out, F, Mo, n, MF, MM, pf, pm, hw, offsets, lo, hi):  # pragma: no cover (compiled)
    """The trio / duo LR tables (theta 0) of N families into ``out`` float64 [N, W] (ones on
    entry: slot 0 and loci without a typed parent stay 1), as
    :func:`reunion.genetics.hypotheses.parent_tables` computes them (the same float64
    operations: transmission vectors 1/2 M[y1] + 1/2 M[y2], the ordered sum, / P_HW):
    per locus the trio where both parents are typed, else the typed parent's duo with the
    untested parent's p.M, else nothing (LR 1). ``F``, ``Mo`` int64 [N, L] codes (0 untyped);
    ``lo``, ``hi`` int64 genotype index -> alleles; the rest as :func:`_parent_models`."""
    N, L = F.shape
    k = MF.shape[1]
    t1 = np.empty(k)
    t2 = np.empty(k)
    for i in range(N):
        for l in range(L):
            f, m = F[i, l], Mo[i, l]
            if f == 0 and m == 0:
                continue
            a = n[l]
            if f != 0:
                f1, f2 = lo[f], hi[f]
                for x in range(a):
                    t1[x] = 0.5 * (MF[l, f1, x] + MF[l, f2, x])
            if m != 0:
                m1, m2 = lo[m], hi[m]
                dst = t2 if f != 0 else t1
                for x in range(a):
                    dst[x] = 0.5 * (MM[l, m1, x] + MM[l, m2, x])
            if f != 0 and m == 0:
                for x in range(a):
                    t2[x] = pm[l, x]
            elif f == 0:
                for x in range(a):
                    t2[x] = pf[l, x]
            off = offsets[l]
            for g in range(1, a * (a + 1) // 2 + 1):
                u, v = lo[g], hi[g]
                if u == v:
                    val = t1[u] * t2[u]
                else:
                    val = t1[u] * t2[v] + t1[v] * t2[u]
                out[i, off + g] = val / hw[off + g]


# ----------------------------------------------------------------------- nuclear families
def _side_arrays(codes: np.ndarray, p: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(prior [B|1, G], transmission [B|1, G, n]) of one parent of B families at a locus:
    typed (``codes`` [B] > 0, G = 1) or untyped (all of them; :func:`pedigree._side`, shared)."""
    if codes[0] == UNTYPED:
        prior, T = _side(None, p, M)
        return prior[None, :], T[None, :, :]
    T = transmission((PAIR_LO[codes], PAIR_HI[codes]), M)
    return np.ones((len(codes), 1)), T[:, None, :]


def _col(T: np.ndarray, a: np.ndarray) -> np.ndarray:
    """T[b, :, a[b]] for each family b: float64 [B, G] (T [B|1, G, n], a [B])."""
    if T.shape[0] == 1:
        return T[0][:, a].T
    return T[np.arange(len(a)), :, a]


def _nuclear(f: np.ndarray, m: np.ndarray, sibs: np.ndarray, halfs: np.ndarray, t: LocusModel
             ) -> tuple[np.ndarray, np.ndarray]:
    """Nuclear lost-child tables of B families of one shape at one locus.

    ``f``, ``m`` int64 [B]: the parents' genotype indices (all typed or all 0 in a batch);
    ``sibs`` int64 [B, S], ``halfs`` int64 [B, H]: the typed full / half siblings' (S + H >= 1).
    The sums of :func:`reunion.genetics.pedigree._joint`: dense over the parents' joint
    genotypes W [B, G_F, G_M] where that is small (a typed parent), else over the
    2^(S+H) allele origins (each sibling's, each half sibling's parent of origin), which
    factor by parent. Returns (tables float64 [B, n(n+1)/2], ok bool [B]: the family is
    possible here; rows of impossible ones are meaningless).
    """
    p = t.p
    n = len(p)
    lo, hi = genotype_pairs(n)
    pf, TF = _side_arrays(f, p, t.M_father)
    pm, TM = _side_arrays(m, p, t.M_mother)
    B, gf, gm = len(f), TF.shape[1], TM.shape[1]
    S, H = sibs.shape[1], halfs.shape[1]
    pushed_f, pushed_m = p @ t.M_father, p @ t.M_mother
    sa, sb = PAIR_LO[sibs], PAIR_HI[sibs]
    ha, hb = PAIR_LO[halfs], PAIR_HI[halfs]
    het_s = (sa != sb).astype(np.float64)
    het_h = (ha != hb).astype(np.float64)

    def via(T, pushed, a, b, het):      # a half sibling's alleles from this parent, the other's untested
        return _col(T, a) * pushed[b][:, None] + het[:, None] * _col(T, b) * pushed[a][:, None]

    n_terms = 2 ** (S + H)
    if gf * gm <= n_terms * (gf + gm):
        W = np.broadcast_to(pf[:, :, None] * pm[:, None, :], (B, gf, gm)).copy()
        for s in range(S):
            a, b = sa[:, s], sb[:, s]
            W *= _col(TF, a)[:, :, None] * _col(TM, b)[:, None, :] + \
                het_s[:, s, None, None] * _col(TF, b)[:, :, None] * _col(TM, a)[:, None, :]
        for h in range(H):
            a, b, het = ha[:, h], hb[:, h], het_h[:, h]
            W *= 0.5 * via(TF, pushed_m, a, b, het)[:, :, None] + 0.5 * via(TM, pushed_f, a, b, het)[:, None, :]
        X = np.matmul(np.matmul(TF.transpose(0, 2, 1), W), TM)
        Z = W.sum(axis=(1, 2))
    else:
        X = np.zeros((B, n, n))
        Z = np.zeros(B)
        colsF = [(_col(TF, sa[:, s]), _col(TF, sb[:, s]) * het_s[:, s, None]) for s in range(S)]
        colsM = [(_col(TM, sb[:, s]), _col(TM, sa[:, s])) for s in range(S)]
        halfF = [0.5 * via(TF, pushed_m, ha[:, h], hb[:, h], het_h[:, h]) for h in range(H)]
        halfM = [0.5 * via(TM, pushed_f, ha[:, h], hb[:, h], het_h[:, h]) for h in range(H)]
        for term in range(n_terms):
            wf = np.broadcast_to(pf, (B, gf)).copy()
            wm = np.broadcast_to(pm, (B, gm)).copy()
            for s in range(S):
                c = (term >> s) & 1
                wf *= colsF[s][c]
                wm *= colsM[s][c]
            for h in range(H):
                if (term >> (S + h)) & 1:
                    wm *= halfM[h]
                else:
                    wf *= halfF[h]
            AF = np.matmul(wf[:, None, :], TF)[:, 0, :]
            AM = np.matmul(wm[:, None, :], TM)[:, 0, :]
            X += AF[:, :, None] * AM[:, None, :]
            Z += wf.sum(axis=1) * wm.sum(axis=1)
    ok = (Z > 0.0) & np.isfinite(Z)
    pc = np.where(lo == hi, X[:, lo, lo], X[:, lo, hi] + X[:, hi, lo]) / np.where(ok, Z, 1.0)[:, None]
    return pc / _hw_table(p, lo, hi), ok


def _nuclear_rows(scorer: FamilyScorer, used: list[Used], rows: np.ndarray, idx: np.ndarray) -> None:
    """Write the tables of the ``nuclear`` families ``used`` into ``rows[idx]`` (theta 0)."""
    enc = scorer.enc
    L = len(enc.loci)
    F, Mo = _codes(used, _FATHER, L), _codes(used, _MOTHER, L)
    Sc, Hc = _members(used, Role.SIBLING, L), _members(used, Role.HALF_SIBLING, L)
    for l in range(L):
        off = int(enc.offsets[l])
        t = scorer._locus_model(l)
        f, m = F[:, l], Mo[:, l]
        s_l, h_l = Sc[:, :, l], Hc[:, :, l]
        ns, nh = np.count_nonzero(s_l, axis=1), np.count_nonzero(h_l, axis=1)
        kin = (ns + nh) > 0
        plain = ~kin                   # no sibling typed here: the parents' trio / duo
        if plain.any():
            sel_p = np.flatnonzero(plain)
            for sel, lr in parent_tables(f[sel_p], m[sel_p], t):
                rows[idx[sel_p[sel]], off + 1: off + 1 + lr.shape[1]] = _log10(lr)
        if not kin.any():
            continue
        # order each family's typed siblings first (stable: role order kept)
        s_l = np.take_along_axis(s_l, np.argsort(s_l == 0, axis=1, kind="stable"), axis=1)
        h_l = np.take_along_axis(h_l, np.argsort(h_l == 0, axis=1, kind="stable"), axis=1)
        key = ((f > 0).astype(np.int64) * 2 + (m > 0)) * 1_000_000 + ns * 1000 + nh
        for k in np.unique(key[kin]):
            group = np.flatnonzero(kin & (key == k))
            S, H = int(ns[group[0]]), int(nh[group[0]])
            n = len(t.p)
            G = n * (n + 1) // 2
            gf = 1 if f[group[0]] else G
            gm = 1 if m[group[0]] else G
            per = 8 * (gf * gm + 2 * n * n + (gf + gm) * (S + H + 2))
            step = max(1, NUCLEAR_BATCH_BYTES // per)
            for c in range(0, len(group), step):
                g = group[c:c + step]
                tab, ok = _nuclear(f[g], m[g], s_l[g, :S], h_l[g, :H], t)
                vals = np.where(ok[:, None], _log10(tab), 0.0)   # impossible here without mutation: LR 1
                rows[idx[g], off + 1: off + 1 + tab.shape[1]] = vals


# ----------------------------------------------------------------------- pedigree families
class PedigreeMemo:
    """A scorer's pedigree-engine answers per (run model or none, pedigree shape, locus, typed
    members' codes there): ``log10`` float64 [n(n+1)/2] the lost child's log10 LR table (zeros
    where the family is impossible there) and ``possible`` (P(family data) > 0 under that
    model). At most :data:`PEDIGREE_MEMO_BYTES` of tables (cleared when full). ``lookups``
    counts the (family, locus) cells asked for, ``computed`` the engine calls they took:
    the hit rate is 1 - computed / lookups."""

    def __init__(self, max_bytes: int = PEDIGREE_MEMO_BYTES):
        self.max_bytes = int(max_bytes)
        self._tables: dict[tuple, tuple[np.ndarray, bool]] = {}
        self._bytes = 0
        self.lookups = 0
        self.computed = 0

    def get(self, key: tuple) -> tuple[np.ndarray, bool] | None:
        return self._tables.get(key)

    def put(self, key: tuple, log10: np.ndarray, possible: bool) -> None:
        if self._bytes + log10.nbytes > self.max_bytes:
            self._tables.clear()
            self._bytes = 0
        self._tables[key] = (log10, possible)
        self._bytes += log10.nbytes

    @property
    def hit_rate(self) -> float:
        """Share of the (family, locus) cells asked for that needed no engine call (0 when none)."""
        return 1.0 - self.computed / self.lookups if self.lookups else 0.0


_EXPLICIT_SHAPES: dict[int, tuple[engine.Pedigree, tuple]] = {}


def pedigree_shape(scorer: FamilyScorer, used: Used) -> tuple:
    """What a ``pedigree`` family's engine computation depends on besides its genotypes: its
    pedigree with the persons renamed by position. A family by relation codes: its members'
    (relation, sex as :meth:`FamilyScorer.pedigree` passes it) in member order and the lost
    child's sex (they make its :func:`engine.relatives_pedigree`, names aside); an explicit
    family: its persons' (father, mother) positions and sexes, the lost child's position and
    the members' positions, in member order."""
    for m in used.values():
        if m.pedigree is not None:
            ped = m.pedigree
            hit = _EXPLICIT_SHAPES.get(id(ped))
            if hit is None or hit[0] is not ped:
                at = ped._index
                persons = tuple((-1 if q.father is None else at[q.father], -1 if q.mother is None else at[q.mother],
                                 q.sex) for q in ped.persons)
                if len(_EXPLICIT_SHAPES) >= 10_000:
                    _EXPLICIT_SHAPES.clear()
                hit = _EXPLICIT_SHAPES[id(ped)] = (ped, ("explicit", persons, at[ped.lost]))
            return hit[1] + (tuple(ped._index[x.sample_id] for x in used.values()),)
    lost_sex = next((m.lost_sex for m in used.values() if m.lost_sex in ("M", "F")), None)
    return ("codes", tuple((m.relation, m.sex if m.sex in ("M", "F") and m.relation not in engine.SLOT_RELATIONS
                            else None) for m in used.values()), lost_sex)


def _pedigree_loci(scorer: FamilyScorer, used: list[Used], mutation: bool = True,
                   cells: np.ndarray | None = None):
    """The lost-child tables of ``pedigree`` families, locus by locus, each distinct (shape,
    locus, typed codes) once (:class:`PedigreeMemo`, module docstring). Yields
    ``(l, fam int64 [b], inv int64 [b], log10 float64 [U, n(n+1)/2], possible bool [U])``:
    the families typed at locus ``l`` (positions in ``used``) and, for each, its row ``inv``
    of the distinct tables (log10 LR, the run's mutation model or with ``mutation`` False
    none; zeros where impossible). ``cells`` bool [len(used), L]: only those (family, locus)
    cells (default all)."""
    enc = scorer.enc
    L = len(enc.loci)
    memo: PedigreeMemo = scorer.pedigree_memo
    groups: dict[tuple, list[int]] = {}
    for i, u in enumerate(used):
        groups.setdefault(pedigree_shape(scorer, u), []).append(i)
    for shape, pos in groups.items():
        pos_a = np.asarray(pos, np.int64)
        rep = used[pos[0]]                      # its pedigree and names serve the whole shape
        ped = scorer.pedigree(rep)
        ids = [m.sample_id for m in rep.values()]
        C = np.stack([np.stack([m.codes for m in used[i].values()]) for i in pos]).astype(np.int64)  # [B, K, L]
        for l in range(L):
            X = C[:, :, l]
            typed = np.flatnonzero(X.any(axis=1) if cells is None else X.any(axis=1) & cells[pos_a, l])
            if not typed.size:
                continue
            if typed.size == 1:
                uniq, inv = X[typed], np.zeros(1, np.int64)
            else:
                uniq, inv = np.unique(X[typed], axis=0, return_inverse=True)
                inv = inv.reshape(-1)
            t = scorer._locus_model(l, mutation)
            G = len(t.p) * (len(t.p) + 1) // 2
            tabs, possible = np.empty((len(uniq), G)), np.empty(len(uniq), bool)
            memo.lookups += typed.size
            keys = [(mutation, shape, l, combo.tobytes()) for combo in uniq]
            miss = []
            for u, key in enumerate(keys):
                hit = memo.get(key)
                if hit is None:
                    miss.append(u)
                else:
                    tabs[u], possible[u] = hit
            if miss:
                engine.check_no_theta(scorer.theta)
                memo.computed += len(miss)
                miss_a = np.asarray(miss, np.int64)
                M = uniq[miss_a]                                    # [m, K] codes
                mask = M != UNTYPED
                pattern = mask @ (1 << np.arange(M.shape[1], dtype=np.int64))    # who is typed here
                for pat in np.unique(pattern).tolist():
                    sel = np.flatnonzero(pattern == pat)
                    ks = np.flatnonzero(mask[sel[0]])
                    codes = M[sel][:, ks]                           # [b, k]
                    alleles = np.stack([PAIR_LO[codes], PAIR_HI[codes]], axis=-1).astype(np.int64)
                    J, Z = engine.mixture_joint_batch(ped, [ids[k] for k in ks.tolist()], alleles, t)
                    lg, ok = engine.tables_from_joint_batch(J, Z, t.p)   # impossible under this model: LR 1
                    tabs[miss_a[sel]], possible[miss_a[sel]] = lg, ok
                for u in miss:
                    memo.put(keys[u], tabs[u].copy(), bool(possible[u]))
            yield l, pos_a[typed], inv, tabs, possible


def _pedigree_rows(scorer: FamilyScorer, used: list[Used], rows: np.ndarray, idx: np.ndarray) -> None:
    """Write the tables of the ``pedigree`` families ``used`` into ``rows[idx]``."""
    for l, fam, inv, tabs, _ in _pedigree_loci(scorer, used):
        off = int(scorer.enc.offsets[l])
        rows[idx[fam], off + 1: off + 1 + tabs.shape[1]] = tabs[inv]


# ----------------------------------------------------------------------- all hypotheses
def table_rows(scorer: FamilyScorer, hyps: list[tuple[Hypothesis | str, Used]]) -> np.ndarray:
    """:meth:`FamilyScorer.table_row` of many families, float64 [F, W], built per hypothesis
    as arrays over the families (module docstring); ``pedigree`` families once per distinct
    (shape, locus, typed codes) (:class:`PedigreeMemo`)."""
    enc = scorer.enc
    L = len(enc.loci)
    theta = scorer.theta
    rows = np.zeros((len(hyps), enc.width), dtype=np.float64)
    by: dict[Hypothesis, list[int]] = {}
    for i, (h, _) in enumerate(hyps):
        by.setdefault(Hypothesis(h), []).append(i)
    parents = [i for h in _PARENTS for i in by.get(h, [])]
    if parents:
        idx = np.asarray(parents)
        used = [hyps[i][1] for i in parents]
        F, Mo = _codes(used, _FATHER, L), _codes(used, _MOTHER, L)
        if theta == 0.0:        # the LRs compiled, their log10 by NumPy (its log10, as the per-family path)
            lrs = np.ones((len(parents), enc.width))
            _parent_lrs(lrs, F, Mo, *_parent_models(scorer), enc.offsets.astype(np.int64), PAIR_LO, PAIR_HI)
            with np.errstate(divide="ignore"):
                rows[idx] = np.log10(lrs, out=lrs)
        else:
            for l in range(L):
                off = int(enc.offsets[l])
                for sel, lr in _parents(F[:, l], Mo[:, l], scorer._locus_model(l), theta):
                    rows[idx[sel], off + 1: off + 1 + lr.shape[1]] = _log10(lr)
    for h, members in by.items():
        if h.relation is not None:          # PAIR_*
            idx = np.asarray(members)
            Q = _codes([hyps[i][1] for i in members], _OTHER, L)
            for l in range(L):
                typed = np.flatnonzero(Q[:, l])
                if typed.size:
                    off = int(enc.offsets[l])
                    lr = _pairwise(Q[typed, l], scorer._locus_model(l).p, h.kappa, theta)
                    rows[idx[typed], off + 1: off + 1 + lr.shape[1]] = _log10(lr)
        elif h is Hypothesis.NUCLEAR and theta == 0.0:
            _nuclear_rows(scorer, [hyps[i][1] for i in members], rows, np.asarray(members))
        elif h is Hypothesis.PEDIGREE:
            _pedigree_rows(scorer, [hyps[i][1] for i in members], rows, np.asarray(members))
        elif h not in _PARENTS:             # anything without an array form
            for i in members:
                rows[i] = scorer.table_row(h, hyps[i][1])
    return rows
