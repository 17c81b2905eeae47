"""Lost-child table building speed, families per second on one core, by family kind.

    python benchmarks/engine_speed.py [--families 300] [--seed 1] [--config configs/demo.yaml] [--rank1 F]

Families are drawn by gene dropping (no mutation) through their relation-code pedigree
(:func:`reunion.genetics.engine.relatives_pedigree`) on the configured frequency table's
loci, every member typed at every locus. Each kind is built with
:meth:`reunion.genetics.family.FamilyScorer.table_rows` twice: ``pedigree=False`` (today's
dispatch: trio / duo / nuclear closed forms, else the single relative typed at the most
loci) and ``pedigree=True`` (the engine for families beyond the nuclear menu). Today's
kinds take the same closed forms in both, so their rates should agree; three-generation
families change from one pairwise relative to the joint pedigree. Prints one line per
kind: hypothesis before / after and families per second before / after (best of 3).
Single-threaded BLAS (set before NumPy loads) so that the rate is per core. With
``--rank1 F``: for each kind, F families with their lost child drawn by the same gene
dropping, and the share of lost children whose own family ranks first among the F by
the gather-sum score, with today's tables and with the engine's. With ``--explicit``: the
engine's kinds also registered as explicit pedigrees (the samples' father_id / mother_id form:
every person of the relation-code pedigree a member, the untyped ones without genotypes, a
lost_child row), their families per second, and the largest difference of their tables from
the relation codes' (log10).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import dataclasses
import time

import numpy as np

from reunion.encoding import Encoding, genotype_index
from reunion.frequencies import load_frequency_table
from reunion.genetics.engine import Relative, relatives_pedigree
from reunion.genetics.family import Family, FamilyScorer, Member
from reunion.genetics.mutation import MutationModels
from reunion.genetics.roles import Relation as R
from reunion.settings import load_settings

KINDS: dict[str, list[tuple[R, str | None]]] = {
    "trio": [(R.FATHER, "M"), (R.MOTHER, "F")],
    "duo": [(R.FATHER, "M")],
    "siblings (2, no parent)": [(R.FULL_SIBLING, None), (R.FULL_SIBLING, None)],
    "mother + 2 siblings": [(R.MOTHER, "F"), (R.FULL_SIBLING, None), (R.FULL_SIBLING, None)],
    "grandmother + uncle + aunt": [(R.PATERNAL_GRANDMOTHER, "F"), (R.PATERNAL_UNCLE_AUNT, "M"),
                                   (R.PATERNAL_UNCLE_AUNT, "F")],
    "both paternal grandparents + 2 uncles": [(R.PATERNAL_GRANDFATHER, "M"), (R.PATERNAL_GRANDMOTHER, "F"),
                                              (R.PATERNAL_UNCLE_AUNT, "M"), (R.PATERNAL_UNCLE_AUNT, "F")],
    "grandparent + avuncular (side-less)": [(R.GRANDPARENT, "F"), (R.AVUNCULAR, "M")],
    "maternal grandmother + paternal uncle + cousin": [(R.MATERNAL_GRANDMOTHER, "F"), (R.PATERNAL_UNCLE_AUNT, "M"),
                                                       (R.PATERNAL_FIRST_COUSIN, None)],
    "missing adult: 2 children + other parent": [(R.CHILD, None), (R.CHILD, None), (R.CHILD_OTHER_PARENT, "F")],
}


def _families(kind: list, enc: Encoding, n: int, rng: np.random.Generator,
              lost: list | None = None) -> list[Family]:
    rels = [Relative(f"m{i}", rel, sex) for i, (rel, sex) in enumerate(kind)]
    ped = relatives_pedigree(rels, lost_sex="M").components[0][1]
    order, done = [], set()
    while len(order) < len(ped.persons):
        for q in ped.persons:
            if q.id not in done and (q.father is None or (q.father in done and q.mother in done)):
                order.append(q)
                done.add(q.id)
    out = []
    for f in range(n):
        codes = {r.id: np.zeros(len(enc.loci), np.uint16) for r in rels}
        lost_codes = np.zeros(len(enc.loci), np.uint16)
        for l, lc in enumerate(enc.loci):
            p = lc.frequencies / lc.frequencies.sum()
            g: dict[str, tuple[int, int]] = {}
            for q in order:
                if q.father is None:
                    g[q.id] = tuple(int(a) for a in rng.choice(lc.n_alleles, 2, p=p))
                else:
                    g[q.id] = (g[q.father][rng.integers(2)], g[q.mother][rng.integers(2)])
            for r in rels:
                codes[r.id][l] = genotype_index(*g[r.id])
            if lost is not None:
                lost_codes[l] = genotype_index(*g[ped.lost])
        if lost is not None:
            lost.append(lost_codes)
        out.append(Family(f"F{f}", [Member(f"{r.id}_{f}", r.relation, r.sex, codes[r.id]) for r in rels]))
    return out


def _explicit(kind: list, fams: list[Family]) -> list[Family] | None:
    """``fams`` (of ``kind``, from :func:`_families`) registered as explicit pedigrees: every
    person of the kind's relation-code pedigree a member (ids suffixed as the family's), the
    registered ones with their codes; None for a kind whose pedigree is a mixture of several."""
    rels = [Relative(f"m{i}", rel, sex) for i, (rel, sex) in enumerate(kind)]
    mix = relatives_pedigree(rels, lost_sex="M")
    if len(mix.components) > 1:
        return None
    ped = mix.components[0][1]
    out = []
    for f, fam in enumerate(fams):
        codes = {m.sample_id: m for m in fam.members}
        members = []
        for q in ped.persons:
            sid = f"{q.id}_{f}"
            reg = codes.get(sid)
            rel = reg.relation if reg is not None else R.LOST_CHILD if q.id == ped.lost else R.OTHER
            members.append(Member(sid, rel, q.sex, reg.codes if reg is not None else
                                  np.zeros_like(fam.members[0].codes),
                                  f"{q.father}_{f}" if q.father else None, f"{q.mother}_{f}" if q.mother else None))
        out.append(Family(fam.family_id, members))
    return out


def _rate(scorer: FamilyScorer, fams: list[Family]) -> tuple[str, float]:
    hyps = [scorer.hypothesis(f) for f in fams]
    if any(h is None for h in hyps):    # no hypothesis without the engine (a missing adult's children)
        raise ValueError("not scored")
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        scorer.table_rows(hyps)
        best = min(best, time.perf_counter() - t0)
    return str(hyps[0][0]), len(fams) / best


def _rank1(scorer: FamilyScorer, fams: list[Family], lost: list[np.ndarray], enc: Encoding) -> float:
    """Share of lost children whose own family scores highest among ``fams`` (gather-sum)."""
    hyps = [scorer.hypothesis(f) for f in fams]
    if any(h is None for h in hyps):
        raise ValueError("not scored")
    rows = scorer.table_rows(hyps)                                          # [F, W]
    q = np.array(lost, dtype=np.int64) + enc.offsets[None, :].astype(np.int64)   # [Q, L]
    scores = rows[:, q].sum(axis=2)                                         # [F, Q]
    return float(np.mean(np.argmax(scores, axis=0) == np.arange(len(fams))))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--families", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", default=None)
    ap.add_argument("--rank1", type=int, default=0, metavar="F",
                    help="also: rank-1 rate of each family kind's planted lost child among F families of "
                         "that kind, before / after")
    ap.add_argument("--explicit", action="store_true",
                    help="also: the engine's kinds registered as explicit pedigrees (father_id / mother_id)")
    a = ap.parse_args(argv)
    s = load_settings(a.config)
    ft = load_frequency_table(s.frequencies.table, s.frequencies.population)
    enc = Encoding.build(ft, {}, s.frequencies.floor)
    models = MutationModels(s.mutation, enc)
    before, after = FamilyScorer(enc, models), FamilyScorer(enc, models, pedigree=True)
    rng = np.random.default_rng(a.seed)
    n_alleles = [lc.n_alleles for lc in enc.loci]
    print(f"{ft.population}, {len(enc.loci)} loci, {min(n_alleles)}-{max(n_alleles)} alleles "
          f"(median {int(np.median(n_alleles))}), mutation {s.mutation.model}; families/s on one core, best of 3")
    print(f"{'kind':48s} {'before':>18s} {'after':>18s} {'fam/s before':>13s} {'fam/s after':>12s}")
    for name, kind in KINDS.items():
        fams = _families(kind, enc, a.families, rng)
        try:
            h0, r0 = _rate(before, fams)
        except ValueError:          # a relation with no pairwise formula: only the engine scores it
            h0, r0 = "-", float("nan")
        h1, r1 = _rate(after, fams)
        print(f"{name:48s} {h0:>18s} {h1:>18s} {r0:13.0f} {r1:12.0f}")
        ex = _explicit(kind, fams) if a.explicit and h1 == "pedigree" else None
        if ex is not None:
            hx, rx = _rate(after, ex)
            same = [Family(f.family_id, [dataclasses.replace(m, lost_sex="M") for m in f.members]) for f in fams]
            rows_c = after.table_rows([after.hypothesis(f) for f in same])     # the lost child male in both
            rows_x = after.table_rows([after.hypothesis(f) for f in ex])
            diff = float(np.max(np.abs(rows_c - rows_x)))
            print(f"{'  the same, explicit pedigree form':48s} {'':>18s} {hx:>18s} {'':13s} {rx:12.0f}"
                  f"   max |log10 difference| {diff:.1e}")
    if a.rank1:
        print(f"\nrank-1 rate of the planted lost child among {a.rank1} families of its kind (before / after)")
        for name, kind in KINDS.items():
            lost: list[np.ndarray] = []
            fams = _families(kind, enc, a.rank1, rng, lost)
            try:
                r0 = f"{_rank1(before, fams, lost, enc):.3f}"
            except ValueError:
                r0 = "-"
            print(f"{name:48s} {r0:>8s} {_rank1(after, fams, lost, enc):8.3f}")


if __name__ == "__main__":
    main()
