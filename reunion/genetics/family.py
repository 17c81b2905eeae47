"""Families as lost-child tables, and the exact re-score of a candidate.

A registered family is scored by its strongest available hypothesis:

- ``nuclear`` when full or half siblings of the lost child are typed: the exact
  family-level LR over the couple (typed or not), every typed full sibling and
  every typed half sibling (:mod:`reunion.genetics.pedigree`, Elston-Stewart peeling);
- ``trio`` when a father and a mother are typed, ``duo_father`` or
  ``duo_mother`` with one parent;
- otherwise ``pair_<relation>`` with the relative typed at the most loci
  (pairwise IBD formula).

In a trio, a locus where one parent is untyped scores as the duo with the
other; a locus where no member used is typed contributes LR 1 and is not
compared. Inconsistent loci are counted against the typed parents without
mutation (siblings can share no allele with a true full sibling).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reunion.encoding import PAIR_HI, PAIR_LO, UNTYPED, Encoding, genotype_pairs
from reunion.genetics import kinship
from reunion.genetics import theta as theta_mod
from reunion.genetics.pedigree import InconsistentFamilyError, child_lr, nuclear_child_table, nuclear_joint
from reunion.genetics.mutation import MutationModels

PARENT_SEX = {"father": "M", "mother": "F"}
PARENT_HYPOTHESES = ("trio", "duo_father", "duo_mother")
RESCORE_CHUNK = 4096      # trio / duo pairs re-scored together as arrays
JOINT_CACHE = 5_000       # nuclear families' per-locus (X, Z) kept while re-scoring (n x n float64: 2-20 KB each)


@dataclass
class Member:
    sample_id: str
    relation: str
    sex: str | None
    codes: np.ndarray  # uint16 [L] genotype indices

    @property
    def n_typed(self) -> int:
        return int(np.count_nonzero(self.codes))


@dataclass
class Family:
    family_id: str
    members: list[Member]

    def hypothesis(self, siblings: bool = True) -> tuple[str, dict[str, Member]] | None:
        """(hypothesis name, members used by role) or None when nobody is typed.

        With ``siblings=False`` (theta runs) typed full siblings do not make a
        ``nuclear`` hypothesis; they are used only when no parent is typed.
        """
        def first(rel: str) -> Member | None:
            typed = [m for m in self.members if m.relation == rel and m.n_typed]
            return min(typed, key=lambda m: m.sample_id) if typed else None
        father, mother = first("father"), first("mother")
        def typed(rel: str) -> list[Member]:
            return sorted((m for m in self.members if m.relation == rel and m.n_typed),
                          key=lambda m: m.sample_id)
        sibs, halfs = typed("full_sibling"), typed("half_sibling")
        if (sibs or halfs) and siblings:
            used = {"father": father, "mother": mother}
            used = {k: v for k, v in used.items() if v is not None}
            used.update({f"sibling{i}": m for i, m in enumerate(sibs, start=1)})
            used.update({f"halfsib{i}": m for i, m in enumerate(halfs, start=1)})
            return "nuclear", used
        if father and mother:
            return "trio", {"father": father, "mother": mother}
        if father:
            return "duo_father", {"father": father}
        if mother:
            return "duo_mother", {"mother": mother}
        others = [m for m in self.members if m.n_typed]
        if not others:
            return None
        best = max(others, key=lambda m: (m.n_typed, [-ord(c) for c in m.sample_id]))
        return f"pair_{best.relation}", {"other": best}


@dataclass
class LocusResult:
    locus: str
    lr: float
    compared: bool
    inconsistent: bool
    floored: int
    genotypes: dict[str, str] = field(default_factory=dict)  # role -> label


@dataclass
class CandidateScore:
    hypothesis: str
    members: dict[str, str]          # role -> sample_id
    log10_lr: float
    loci_compared: int
    inconsistent_loci: int
    floored_alleles: int
    log10_lr_duo_father: float | None
    log10_lr_duo_mother: float | None
    loci: list[LocusResult]


def _chunks(pairs: list[tuple[int, object]]):
    """``pairs`` (row, item) in chunks of RESCORE_CHUNK (bounded memory: [L, chunk] arrays),
    each with its rows as int64 [n]."""
    for c in range(0, len(pairs), RESCORE_CHUNK):
        part = pairs[c:c + RESCORE_CHUNK]
        yield part, np.array([i for i, _ in part], dtype=np.int64)


def _log10(x):
    with np.errstate(divide="ignore"):
        return np.log10(x)


class FamilyScorer:
    """Builds lost-child tables and re-scores candidates for one encoding and mutation setting."""

    def __init__(self, encoding: Encoding, models: MutationModels, theta: float = 0.0):
        """``theta`` > 0 applies the Balding-Nichols correction (NRC II 4.10) to the trio,
        duo and pairwise hypotheses; it requires the mutation model 'none' (checked by
        :class:`reunion.settings.Settings`), and nuclear (sibling) families are then
        scored through their parents."""
        self.enc = encoding
        self.models = models
        self.theta = float(theta)
        self._identity: dict[int, np.ndarray] = {}
        self._floored = [lc.floored.tolist() for lc in encoding.loci]   # per locus: code -> bool
        self._joints: dict[tuple, tuple[np.ndarray, float] | InconsistentFamilyError] = {}

    def hypothesis(self, family: Family) -> tuple[str, dict[str, Member]] | None:
        """The hypothesis this scorer uses for ``family``."""
        return family.hypothesis(siblings=self.theta == 0.0)

    # ------------------------------------------------------------------ helpers
    def _pair(self, l: int, g: int):
        return self.enc.decode(l, int(g))

    def _eye(self, l: int) -> np.ndarray:
        if l not in self._identity:
            self._identity[l] = np.eye(self.enc.loci[l].n_alleles)
        return self._identity[l]

    def _locus_members(self, hyp: str, used: dict[str, Member], l: int) -> dict[str, tuple[int, int]]:
        return {role: self._pair(l, m.codes[l]) for role, m in used.items() if m.codes[l] != UNTYPED}

    # ------------------------------------------------------------------ tables
    def table_row(self, hyp: str, used: dict[str, Member]) -> np.ndarray:
        """log10 LR over every genotype index of every locus, float64 [W]."""
        row = np.zeros(self.enc.width, dtype=np.float64)
        for l, lc in enumerate(self.enc.loci):
            typed = self._locus_members(hyp, used, l)
            if not typed:
                continue
            p = lc.frequencies
            sibs = [g for role, g in typed.items() if role.startswith("sibling")]
            halfs = [g for role, g in typed.items() if role.startswith("halfsib")]
            if self.theta > 0.0:
                lr = self._theta_table(typed, used, p)
            elif sibs or halfs:  # loci without a typed sibling use the trio / duo closed forms
                try:
                    lr = nuclear_child_table(typed.get("father"), typed.get("mother"), sibs, p,
                                             self.models.matrix(l, "M"), self.models.matrix(l, "F"),
                                             half_siblings=halfs)
                except InconsistentFamilyError:
                    continue  # the family itself is impossible here without mutation: LR 1
            elif "father" in typed and "mother" in typed:
                lr = kinship.trio_child_table(typed["father"], typed["mother"], p,
                                              self.models.matrix(l, "M"), self.models.matrix(l, "F"))
            elif "father" in typed:
                lr = kinship.duo_child_table(typed["father"], p, self.models.matrix(l, "M"),
                                             self.models.pushed(l, "F"))
            elif "mother" in typed:
                lr = kinship.duo_child_table(typed["mother"], p, self.models.matrix(l, "F"),
                                             self.models.pushed(l, "M"))
            else:
                rel = used["other"].relation
                lr = kinship.pairwise_child_table(typed["other"], p,
                                                  kinship.KAPPA[kinship.RELATION_KAPPA[rel]])
            off = int(self.enc.offsets[l])
            row[off + 1: off + 1 + lr.size] = _log10(lr)
        return row

    def table_rows(self, hyps: list[tuple[str, dict[str, Member]]]) -> np.ndarray:
        """:meth:`table_row` of many families, float64 [F, W] (bit-identical).

        Trio and duo families are built together, locus by locus, as arrays over
        families (the national-scale path); other hypotheses row by row.
        """
        rows = np.zeros((len(hyps), self.enc.width), dtype=np.float64)
        fast = [i for i, (h, _) in enumerate(hyps)
                if h in ("trio", "duo_father", "duo_mother") and self.theta == 0.0]
        fast_set = set(fast)
        for i, (h, used) in enumerate(hyps):
            if i not in fast_set:
                rows[i] = self.table_row(h, used)
        if not fast:
            return rows
        idx = np.asarray(fast)
        F = np.array([hyps[i][1]["father"].codes if "father" in hyps[i][1] else
                      np.zeros(len(self.enc.loci), np.uint16) for i in fast])
        Mo = np.array([hyps[i][1]["mother"].codes if "mother" in hyps[i][1] else
                       np.zeros(len(self.enc.loci), np.uint16) for i in fast])
        for l, lc in enumerate(self.enc.loci):
            n = lc.n_alleles
            lo, hi = genotype_pairs(n)
            g_lo = np.concatenate([[0], lo])   # genotype index -> allele codes (index 0 unused)
            g_hi = np.concatenate([[0], hi])
            p = lc.frequencies
            hw = kinship._hw_table(p, lo, hi)
            MF, MM = self.models.matrix(l, "M"), self.models.matrix(l, "F")
            f, m = F[:, l].astype(np.int64), Mo[:, l].astype(np.int64)
            tF = 0.5 * (MF[g_lo[f]] + MF[g_hi[f]])          # [F', n]
            tM = 0.5 * (MM[g_lo[m]] + MM[g_hi[m]])
            pF, pM = self.models.pushed(l, "M"), self.models.pushed(l, "F")
            both, only_f, only_m = (f > 0) & (m > 0), (f > 0) & (m == 0), (f == 0) & (m > 0)
            off = int(self.enc.offsets[l])
            for sel, t1, t2 in ((both, tF, tM), (only_f, tF, pM), (only_m, tM, pF)):
                if not sel.any():
                    continue
                lr = kinship._ordered_table(t1[sel], t2[sel] if t2.ndim == 2 else t2, lo, hi) / hw
                rows[idx[sel], off + 1: off + 1 + lr.shape[1]] = _log10(lr)
        return rows

    def _theta_table(self, typed: dict, used: dict[str, Member], p: np.ndarray) -> np.ndarray:
        th = self.theta
        if "father" in typed and "mother" in typed:
            return theta_mod.trio_child_table_theta(typed["father"], typed["mother"], p, th)
        if "father" in typed or "mother" in typed:
            return theta_mod.duo_child_table_theta(typed.get("father") or typed["mother"], p, th)
        kappa = kinship.KAPPA[kinship.RELATION_KAPPA[used["other"].relation]]
        return theta_mod.pairwise_child_table_theta(typed["other"], p, kappa, th)

    # ------------------------------------------------------------------ exact re-score
    def _locus_lr(self, typed: dict, child, l: int, mutation: bool, relation: str | None) -> float:
        p = self.enc.loci[l].frequencies
        if mutation and self.theta > 0.0:
            th = self.theta
            if "father" in typed and "mother" in typed:
                return theta_mod.trio_lr_theta(child, typed["father"], typed["mother"], p, th)
            if "father" in typed or "mother" in typed:
                return theta_mod.duo_lr_theta(child, typed.get("father") or typed["mother"], p, th)
            return theta_mod.pairwise_lr_theta(typed["other"], child, p,
                                               kinship.KAPPA[kinship.RELATION_KAPPA[relation]], th)
        if mutation:
            MF, MM = self.models.matrix(l, "M"), self.models.matrix(l, "F")
            pF, pM = self.models.pushed(l, "M"), self.models.pushed(l, "F")
        else:
            MF = MM = self._eye(l)
            pF = pM = p
        sibs = [g for role, g in typed.items() if role.startswith("sibling")]
        halfs = [g for role, g in typed.items() if role.startswith("halfsib")]
        if sibs or halfs:   # pedigree.nuclear_lr, with the family's (X, Z) kept for its next candidate
            key = (l, mutation, typed.get("father"), typed.get("mother"), tuple(sibs), tuple(halfs))
            joint = self._joints.get(key)
            if joint is None:
                if len(self._joints) >= JOINT_CACHE:
                    self._joints.clear()
                try:
                    joint = nuclear_joint(typed.get("father"), typed.get("mother"), sibs, p, MF, MM, halfs)
                except InconsistentFamilyError as exc:
                    joint = exc
                self._joints[key] = joint
            if isinstance(joint, InconsistentFamilyError):
                raise InconsistentFamilyError(*joint.args)     # a fresh one: no growing traceback
            return child_lr(child, *joint, p)
        if "father" in typed and "mother" in typed:
            return kinship.trio_lr(child, typed["father"], typed["mother"], p, MF, MM)
        if "father" in typed:
            return kinship.duo_lr(child, typed["father"], p, MF, pM)
        if "mother" in typed:
            return kinship.duo_lr(child, typed["mother"], p, MM, pF)
        return kinship.pairwise_lr(typed["other"], child, p,
                                   kinship.KAPPA[kinship.RELATION_KAPPA[relation]])

    def _score(self, used: dict[str, Member], child_codes: np.ndarray, detail: bool):
        total, compared, inconsistent, floored = 0.0, 0, 0, 0
        relation = used["other"].relation if "other" in used else None
        rows = []
        for l, lc in enumerate(self.enc.loci):
            child = self._pair(l, child_codes[l])
            typed = self._locus_members("", used, l)
            if child is None or not typed:
                if detail:
                    rows.append(LocusResult(lc.locus, 1.0, False, False, 0, self._labels(l, used, child_codes)))
                continue
            try:
                lr = self._locus_lr(typed, child, l, True, relation)
            except InconsistentFamilyError:
                lr = None
            if lr is None:  # impossible family data at this locus (no mutation model): LR 1
                if detail:
                    rows.append(LocusResult(lc.locus, 1.0, False, False, 0, self._labels(l, used, child_codes)))
                continue
            parents = {k: v for k, v in typed.items() if k in ("father", "mother")}
            if parents or "other" in typed:
                incons = self._locus_lr(parents or typed, child, l, False, relation) == 0.0
            else:
                incons = False
            fl = self._floored[l]
            n_floor = sum(fl[a] for g in [child, *typed.values()] for a in g)
            total += float(np.log10(lr)) if lr != 0 else -np.inf     # scalar: no errstate context
            compared += 1
            inconsistent += int(incons)
            floored += n_floor
            if detail:
                rows.append(LocusResult(lc.locus, float(lr), True, bool(incons), n_floor,
                                        self._labels(l, used, child_codes)))
        return total, compared, inconsistent, floored, rows

    def _labels(self, l: int, used: dict[str, Member], child_codes: np.ndarray) -> dict[str, str]:
        out = {"missing": self.enc.genotype_label(l, int(child_codes[l]))}
        for role, m in used.items():
            out[role] = self.enc.genotype_label(l, int(m.codes[l]))
        return out

    def rescore(self, family: Family, child_codes: np.ndarray,
                duo: dict[str, float] | None = None) -> CandidateScore | None:
        """Exact float64 score of a missing person as the family's lost child, per locus.

        ``duo``: the parents' duo totals when already computed (:meth:`rescore_many`).
        """
        h = self.hypothesis(family)
        if h is None:
            return None
        hyp, used = h
        total, compared, inconsistent, floored, rows = self._score(used, child_codes, True)
        duo = dict(duo or {})
        for role in ("father", "mother"):
            if role in used and role not in duo:
                duo[role] = total if hyp == f"duo_{role}" else \
                    self._score({role: used[role]}, child_codes, False)[0]
        return CandidateScore(
            hypothesis=hyp, members={r: m.sample_id for r, m in used.items()},
            log10_lr=total, loci_compared=compared, inconsistent_loci=inconsistent,
            floored_alleles=floored, log10_lr_duo_father=duo.get("father"),
            log10_lr_duo_mother=duo.get("mother"), loci=rows)

    def rescore_many(self, families: list[Family], child_codes: np.ndarray) -> list[CandidateScore | None]:
        """:meth:`rescore` of many (family, missing person) pairs, bit-identical to it.

        ``child_codes`` uint16 [N, L]: row i is scored as the lost child of
        ``families[i]``. Trio and duo pairs (theta 0: the national-scale bulk) are
        scored as arrays over pairs, locus by locus, with the same float64
        operations in the same order as the scalar formulas; other hypotheses go
        through :meth:`rescore` one by one, nuclear families taking their parents'
        duo totals from those arrays.
        """
        out: list[CandidateScore | None] = [None] * len(families)
        fast, nuclear = [], []
        for i, fam in enumerate(families):
            h = self.hypothesis(fam)
            if h is None:
                continue
            if self.theta == 0.0 and h[0] in PARENT_HYPOTHESES:
                fast.append((i, h))
            elif self.theta == 0.0 and h[0] == "nuclear" and ("father" in h[1] or "mother" in h[1]):
                nuclear.append((i, h))
            else:
                out[i] = self.rescore(fam, child_codes[i])
        for part, rows in _chunks(fast):
            for i, score in zip(rows.tolist(), self._rescore_parents([h for _, h in part], child_codes[rows])):
                out[i] = score
        for part, rows in _chunks(nuclear):
            arrays = self._parent_arrays([u for _, (_, u) in part], child_codes[rows])
            for j, (i, (_, used)) in enumerate(part):
                duo = {role: float(arrays[f"duo_{role}"][j]) for role in ("father", "mother") if role in used}
                out[i] = self.rescore(families[i], child_codes[i], duo=duo)
        return out

    def _parent_arrays(self, used: list[dict[str, Member]], child_codes: np.ndarray) -> dict[str, np.ndarray]:
        """Per locus and pair, the trio / duo re-score of N pairs as float64 arrays.

        ``used[i]``: the members of pair i's hypothesis (its father and mother, if any,
        are used). Returns ``total``, ``duo_father``, ``duo_mother`` [N] (log10 LR sums
        in locus order), ``lrs`` [L, N] (1 where not compared), ``flags`` bool [2, L, N]
        (compared, inconsistent) and ``n_floor`` int64 [L, N].
        """
        N, L = child_codes.shape
        zeros = np.zeros(L, np.uint16)
        F = np.array([u["father"].codes if "father" in u else zeros for u in used]).reshape(N, L)
        Mo = np.array([u["mother"].codes if "mother" in u else zeros for u in used]).reshape(N, L)
        total = np.zeros(N)
        duo_f, duo_m = np.zeros(N), np.zeros(N)
        lrs = np.ones((L, N))
        flags = np.zeros((2, L, N), dtype=bool)          # compared, inconsistent
        n_floor = np.zeros((L, N), np.int64)
        for l, lc in enumerate(self.enc.loci):
            c, f, m = child_codes[:, l], F[:, l], Mo[:, l]
            ok = (c != UNTYPED) & ((f != UNTYPED) | (m != UNTYPED))
            if not ok.any():
                continue
            ca, cb = PAIR_LO[c], PAIR_HI[c]
            f0, f1, m0, m1 = PAIR_LO[f], PAIR_HI[f], PAIR_LO[m], PAIR_HI[m]
            p = lc.frequencies
            same = ca == cb
            hw = kinship._hw_table(p, ca, cb)

            def ordered(t1, t2):    # kinship._ordered, from (t(a), t(b)) at each child's alleles
                return np.where(same, t1[0] * t2[0], t1[0] * t2[1] + t1[1] * t2[0])

            def at(y0, y1, M):      # kinship.transmission of parent (y0, y1), at the child's a and b
                return 0.5 * (M[y0, ca] + M[y1, ca]), 0.5 * (M[y0, cb] + M[y1, cb])

            MF, MM = self.models.matrix(l, "M"), self.models.matrix(l, "F")
            pF, pM = self.models.pushed(l, "M"), self.models.pushed(l, "F")
            tF, tM = at(f0, f1, MF), at(m0, m1, MM)
            both, only_f = (f != UNTYPED) & (m != UNTYPED), (f != UNTYPED) & (m == UNTYPED)
            lr_f = ordered(tF, (pM[ca], pM[cb])) / hw               # duo with the father
            lr_m = ordered(tM, (pF[ca], pF[cb])) / hw               # duo with the mother
            lr = np.where(both, ordered(tF, tM) / hw, np.where(only_f, lr_f, lr_m))
            eye = self._eye(l)                                      # no mutation: inconsistency
            iF, iM = at(f0, f1, eye), at(m0, m1, eye)
            lr0 = np.where(both, ordered(iF, iM), np.where(only_f, ordered(iF, (p[ca], p[cb])),
                                                          ordered(iM, (p[ca], p[cb])))) / hw
            fl = lc.floored.astype(np.int64)
            nf = fl[ca] + fl[cb] + np.where(f != UNTYPED, fl[f0] + fl[f1], 0) + \
                np.where(m != UNTYPED, fl[m0] + fl[m1], 0)
            with np.errstate(divide="ignore"):
                total[ok] += np.log10(lr[ok])
                has_f, has_m = ok & (f != UNTYPED), ok & (m != UNTYPED)
                duo_f[has_f] += np.log10(lr_f[has_f])
                duo_m[has_m] += np.log10(lr_m[has_m])
            lrs[l] = np.where(ok, lr, 1.0)
            flags[0, l], flags[1, l] = ok, ok & (lr0 == 0.0)
            n_floor[l] = np.where(ok, nf, 0)
        return {"total": total, "duo_father": duo_f, "duo_mother": duo_m, "lrs": lrs, "flags": flags,
                "n_floor": n_floor}

    def _rescore_parents(self, hyps: list[tuple[str, dict[str, Member]]],
                         child_codes: np.ndarray) -> list[CandidateScore]:
        """Trio / duo pairs as arrays over the N pairs (see :meth:`rescore_many`)."""
        a = self._parent_arrays([u for _, u in hyps], child_codes)
        total, duo_f, duo_m, lrs, flags, n_floor = (a[k] for k in ("total", "duo_father", "duo_mother", "lrs",
                                                                    "flags", "n_floor"))
        compared, inconsistent, floored = flags[0].sum(axis=0), flags[1].sum(axis=0), n_floor.sum(axis=0)
        out = []
        lr_rows, cmp_rows, inc_rows, nf_rows = lrs.T.tolist(), flags[0].T.tolist(), flags[1].T.tolist(), n_floor.T.tolist()
        for i, (hyp, used) in enumerate(hyps):
            rows = []
            for l, lc in enumerate(self.enc.loci):
                rows.append(LocusResult(lc.locus, lr_rows[i][l], cmp_rows[i][l], inc_rows[i][l],
                                        nf_rows[i][l], self._labels(l, used, child_codes[i])))
            t = float(total[i])
            out.append(CandidateScore(
                hypothesis=hyp, members={r: mem.sample_id for r, mem in used.items()}, log10_lr=t,
                loci_compared=int(compared[i]), inconsistent_loci=int(inconsistent[i]),
                floored_alleles=int(floored[i]),
                log10_lr_duo_father=(t if hyp == "duo_father" else float(duo_f[i])) if "father" in used else None,
                log10_lr_duo_mother=(t if hyp == "duo_mother" else float(duo_m[i])) if "mother" in used else None,
                loci=rows))
        return out
