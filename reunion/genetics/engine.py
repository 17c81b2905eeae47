"""One exact pedigree likelihood engine: the lost child's table for any registered family.

A family is a :class:`Pedigree` (data): persons with an id, a sex label and links to
their father and mother inside the pedigree; exactly one of them is the lost child,
who carries no genotype. For one locus, with the typed persons' genotypes ``D``,
:func:`lost_child_table` gives for every genotype slot g of the lost child (the
encoding's unordered pair order, :func:`reunion.encoding.genotype_pairs`)

    LR(g) = P(c = g, D | pedigree) / (P(D | pedigree) P_HW(g)),

i.e. P(c = g | D) / P_HW(g) (KINSHIP.md, "Any pedigree"). H2 (the missing person
unrelated to the family) gives P_HW(g) P(D); both hypotheses share P(D), so this is the
ratio of the joint likelihoods. Founders have Hardy-Weinberg priors (the frequencies as
given: the rare-allele floor is already in them); every parent-to-child transmission
goes through that parent's mutation matrix (a father's through ``t.M_father``, the male
matrix; a mother's through ``t.M_mother``, the female one; Familias / pedmut
conventions: an untyped parent's allele too, so an untyped founder parent transmits p.M).

Method: variable elimination (Cannings, Thompson & Skolnick 1978; Lauritzen &
Sheehan 2003; Koller & Friedman 2009 ch. 9) on the allele graph. Every person i has
two allele variables, the allele it received from its father (pat_i) and from its
mother (mat_i), each over the locus' n alleles (a typed person's over its one or two
alleles only). The factors are: a founder's p[pat_i] and p[mat_i]; a non-founder's
transmissions t(pat_i | pat_f, mat_f) = 1/2 M_male[pat_f, pat_i] + 1/2 M_male[mat_f, pat_i]
(:func:`reunion.genetics.kinship.transmission`) and the same from its mother with
M_female; and a typed heterozygote's phase indicator [{pat_i, mat_i} = {a, b}]. The
lost child's two variables are kept; everything else is summed out in a greedy
min-cost order. The result J[x, y] = P(D, pat_c = x, mat_c = y) gives
P(c = {a, b}, D) = J[a, b] + J[b, a] (J[a, a] for a homozygote) and P(D) = sum J. Pedigrees
with loops (cousin marriages, double first cousins, a lost child with children by a
relative) need no special treatment: elimination is exact on any graph.

Complexity per locus: the sum over elimination steps of the product of the domain
sizes of the variables joined at that step (at most n per variable, 1-2 for a typed
person). In the relation-code pedigrees of tests/test_engine.py and
benchmarks/engine_speed.py (:func:`relatives_pedigree`: grandparents, uncles / aunts,
cousins, half siblings, descendants) a step joins at most four untyped allele variables,
in the cousin-marriage loop five: O(P n^4) time for P persons (O(P n^5) for that loop),
O(n^3) memory; a mixture of S side / sex assignments costs S times that. n is 5 to 25
for forensic STRs. Untyped persons without typed descendants are removed first (their
factors sum to 1), and an untyped founder with one child is summed out in closed form
(it transmits p.M). The elimination order and its einsum steps are planned once per
graph shape and domain sizes and replayed (families of one shape share them).
:func:`lost_child_joint_batch` runs one such program for a batch of families of one shape
typed alike at a locus (every einsum over the batch axis; the table builders' path,
:mod:`reunion.genetics.batch_tables`); :func:`lost_child_joint` stays its reference.

Sources: Elston & Stewart (1971), Hum. Hered. 21:523; Lange & Elston (1975),
Hum. Hered. 25:95; Cannings, Thompson & Skolnick (1978), Adv. Appl. Prob. 10:26;
Egeland, Kling & Mostad, *Relationship Inference with Familias and R* (2016), ch. 2-3;
Vigeland, *Pedigree Analysis in R* (2021), ch. 2 and 5 (pedprobr's peeling).

theta: the engine is mutation-aware and theta-free. :func:`lost_child_table` refuses
theta > 0 (ValueError naming it); the closed forms of :mod:`reunion.genetics.theta` stay
the only theta path (trio, duo, pairwise), as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from reunion.encoding import genotype_pairs
from reunion.genetics.kinship import Genotype, _hw_table
from reunion.genetics.mutation import LocusModel
from reunion.genetics.pedigree import InconsistentFamilyError
from reunion.genetics.roles import Relation

__all__ = [
    "MAX_COMPONENTS",
    "SLOT_RELATIONS",
    "Mixture",
    "Pedigree",
    "PedigreeError",
    "Person",
    "Relative",
    "check_no_theta",
    "lost_child_joint",
    "lost_child_joint_batch",
    "lost_child_table",
    "mixture_joint",
    "mixture_joint_batch",
    "relatives_pedigree",
    "table_from_joint",
    "tables_from_joint_batch",
]

SexLabel = Literal["M", "F"]


class PedigreeError(ValueError):
    """A pedigree that is not well formed (unknown links, a cycle, a female father, ...)."""


@dataclass(frozen=True)
class Person:
    """One person of a pedigree.

    ``id``: unique within the pedigree; ``father`` / ``mother``: ids of persons of the
    same pedigree, or both None for a founder (a person with one parent named gets an
    implicit untyped founder as the other); ``sex``: 'M', 'F' or None (a father is male
    and a mother female whatever the label; a contradicting label is an error);
    ``label``: free text for reviewers (a relation code, a sample id).
    """

    id: str
    father: str | None = None
    mother: str | None = None
    sex: SexLabel | None = None
    label: str = ""


@dataclass(frozen=True)
class Pedigree:
    """A family as data: its persons and the id of the lost child (no genotype).

    Checked on construction (:class:`PedigreeError`): unique ids, links to persons of
    this pedigree, no cycle of parenthood, nobody both a father and a mother, sexes
    consistent with the links, the lost child present.
    """

    persons: tuple[Person, ...]
    lost: str
    _index: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        persons = list(self.persons)
        ids = [q.id for q in persons]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise PedigreeError(f"person ids must be unique; repeated: {', '.join(dup)}")
        known = set(ids)
        if self.lost not in known:
            raise PedigreeError(f"the lost child {self.lost!r} is not a person of the pedigree")
        extra = []
        for k, q in enumerate(persons):
            for link in (q.father, q.mother):
                if link is not None and link not in known:
                    raise PedigreeError(f"{q.id}: parent {link!r} is not a person of the pedigree")
            if q.father is not None and q.father == q.mother:
                raise PedigreeError(f"{q.id}: father and mother are the same person {q.father!r}")
            if (q.father is None) != (q.mother is None):      # one parent named: the other untyped
                other = f"{q.id}~{'mother' if q.mother is None else 'father'}"
                while other in known:
                    other += "~"
                known.add(other)
                extra.append(Person(other, sex="F" if q.mother is None else "M", label="implicit"))
                persons[k] = Person(q.id, q.father or other, q.mother or other, q.sex, q.label)
        persons += extra
        fathers = {q.father for q in persons if q.father is not None}
        mothers = {q.mother for q in persons if q.mother is not None}
        both = fathers & mothers
        if both:
            raise PedigreeError(f"{min(both)!r} is both a father and a mother")
        for q in persons:
            if q.id in fathers and q.sex == "F":
                raise PedigreeError(f"{q.id} is a father but registered female")
            if q.id in mothers and q.sex == "M":
                raise PedigreeError(f"{q.id} is a mother but registered male")
        by_id = {q.id: q for q in persons}
        state: dict[str, int] = {}                            # 1: on the path, 2: done
        for start, first in by_id.items():                    # cycles of parenthood
            if state.get(start) == 2:
                continue
            stack = [(start, iter((first.father, first.mother)))]
            state[start] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, StopIteration)
                if nxt is StopIteration:
                    state[node] = 2
                    stack.pop()
                elif nxt is not None:
                    s = state.get(nxt)
                    if s == 1:
                        raise PedigreeError(f"a cycle of parenthood through {nxt!r}")
                    if s is None:
                        state[nxt] = 1
                        stack.append((nxt, iter((by_id[nxt].father, by_id[nxt].mother))))
        object.__setattr__(self, "persons", tuple(persons))
        object.__setattr__(self, "_index", {q.id: i for i, q in enumerate(persons)})

    def person(self, pid: str) -> Person:
        return self.persons[self._index[pid]]

    def children(self, pid: str) -> list[str]:
        return [q.id for q in self.persons if pid in (q.father, q.mother)]


@dataclass(frozen=True)
class Mixture:
    """H1 as a prior-weighted set of pedigrees (relatives of unknown side or sex):
    P(c = g, D | H1) = sum_s w_s P_s(c = g, D). ``components``: (weight, pedigree), the
    weights positive and summing to 1; every pedigree has the same lost child id and the
    same typed ids."""

    components: tuple[tuple[float, Pedigree], ...]

    def __post_init__(self):
        w = [c[0] for c in self.components]
        if not self.components or min(w) <= 0 or abs(sum(w) - 1.0) > 1e-12:
            raise PedigreeError("a mixture needs positive weights summing to 1")

    def sexless(self) -> tuple[tuple[float, Pedigree], ...]:
        """The components with those equal but for which parent is the father merged
        (weights added): the same mixture when both sexes transmit through one matrix."""
        merged: dict[tuple, list] = {}
        for w, ped in self.components:
            key = (ped.lost, tuple(sorted((q.id, tuple(sorted((q.father or "", q.mother or ""))))
                                          for q in ped.persons)))
            if key in merged:
                merged[key][0] += w
            else:
                merged[key] = [w, ped]
        return tuple((w, ped) for w, ped in merged.values())


def check_no_theta(theta: float) -> None:
    """ValueError naming theta when theta > 0: the engine is theta-free (module docstring)."""
    if theta:
        raise ValueError(f"theta = {theta}: the pedigree engine does not combine theta with a pedigree; "
                         "theta is supported for trio, duo and pairwise hypotheses only")


# ------------------------------------------------------------------------ elimination
def _prune(ped: Pedigree, typed: Mapping[str, Genotype], also: str | None = None) -> list[Person]:
    """The persons that matter at this locus: every typed person, the lost child (and the
    kept person ``also``) and their ancestors (an untyped person with no typed descendant and
    not the lost child or an ancestor of theirs sums out to 1: barren nodes)."""
    keep: set[str] = set()
    stack = [pid for pid in typed] + [ped.lost] + ([also] if also is not None else [])
    while stack:
        pid = stack.pop()
        if pid in keep:
            continue
        keep.add(pid)
        q = ped.person(pid)
        if q.father is not None:
            stack += [q.father, q.mother]
    return [q for q in ped.persons if q.id in keep]


def _check_genotype(g, n: int, who: str) -> Genotype:
    a, b = int(g[0]), int(g[1])
    if not (0 <= a < n and 0 <= b < n):
        raise ValueError(f"{who}: genotype has allele codes outside 0..{n - 1}")
    return (a, b) if a <= b else (b, a)


def lost_child_joint(ped: Pedigree, typed: Mapping[str, Genotype], t: LocusModel,
                     theta: float = 0.0, also: str | None = None) -> np.ndarray:
    """J float64 [n, n]: J[x, y] = P(D, lost child received x from its father, y from its
    mother | pedigree) at one locus, exactly (variable elimination, see the module).

    ``typed``: person id -> allele codes (a, b) of the persons typed at this locus (the
    lost child must not be among them); ``t``: the locus' frequencies ``t.p`` [n] and the
    male / female mutation matrices ``t.M_father`` / ``t.M_mother`` [n, n]
    (:meth:`MutationModels.locus`, or :meth:`MutationModels.identity` without mutation).
    ``also``: the id of an untyped person kept with the lost child (an added relative, whose
    genotype is not yet known: reunion/sampling_advice.py); then K float64 [n, n, n, n]:
    K[u, v, x, y] = P(D, that person received u from its father and v from its mother, the
    lost child x and y).
    """
    check_no_theta(theta)
    if ped.lost in typed:
        raise PedigreeError(f"the lost child {ped.lost!r} must not be typed")
    if also is not None and (also in typed or also == ped.lost or also not in ped._index):
        raise PedigreeError(f"the kept person {also!r} must be an untyped person of the pedigree "
                            "other than the lost child")
    p = np.asarray(t.p, dtype=np.float64)
    n = len(p)
    gen = {}
    for pid, g in typed.items():
        if pid not in ped._index:
            raise PedigreeError(f"typed person {pid!r} is not in the pedigree")
        gen[pid] = _check_genotype(g, n, pid)
    persons = _prune(ped, gen, also)
    slot = {q.id: i for i, q in enumerate(persons)}
    full = np.arange(n)
    dom: list[np.ndarray] = []          # variable 2i: pat_i, 2i + 1: mat_i
    for q in persons:
        g = gen.get(q.id)
        d = full if g is None else np.array(sorted(set(g)), dtype=np.int64)
        dom += [d, d]
    folded = _folded(persons, gen, (ped.lost, also))
    factors: list[tuple[tuple[int, ...], np.ndarray]] = []
    for i, q in enumerate(persons):
        if q.id in folded:
            continue
        g = gen.get(q.id)
        if g is not None and g[0] != g[1]:
            factors.append(((2 * i, 2 * i + 1), np.array([[0.0, 1.0], [1.0, 0.0]])))
        if q.father is None:
            factors.append(((2 * i,), p[dom[2 * i]]))
            factors.append(((2 * i + 1,), p[dom[2 * i + 1]]))
            continue
        for parent, M, var in ((q.father, t.M_father, 2 * i), (q.mother, t.M_mother, 2 * i + 1)):
            j = slot[parent]
            if parent in folded:          # sum over its two HW alleles: (p @ M)[c]
                pushed = t.pushed_father if var % 2 == 0 else t.pushed_mother
                factors.append(((var,), np.asarray(pushed, dtype=np.float64)[dom[var]]))
                continue
            dx, dy, dc = dom[2 * j], dom[2 * j + 1], dom[var]
            # t(c | x, y) = 1/2 M[x, c] + 1/2 M[y, c] (kinship.transmission over both alleles)
            T = 0.5 * (_rows_cols(M, dx, dc, full)[:, None, :] + _rows_cols(M, dy, dc, full)[None, :, :])
            factors.append(((2 * j, 2 * j + 1, var), T))
    c = slot[ped.lost]
    if also is not None:
        r = slot[also]
        return _eliminate(factors, dom, keep=(2 * r, 2 * r + 1, 2 * c, 2 * c + 1))
    J = _eliminate(factors, dom, keep=(2 * c, 2 * c + 1))
    return J


def _folded(persons, gen, kept: tuple) -> set[str]:
    """The untyped founders (not in ``kept``) with one child among ``persons``: each transmits
    p.M to it, summed out in closed form (the pushed vector) instead of as two variables."""
    n_children: dict[str, int] = {}
    for q in persons:
        for parent in (q.father, q.mother):
            if parent is not None:
                n_children[parent] = n_children.get(parent, 0) + 1
    return {q.id for q in persons if q.father is None and q.id not in gen and q.id not in kept
            and n_children.get(q.id, 0) == 1}


def lost_child_joint_batch(ped: Pedigree, typed_ids: Sequence[str], alleles: np.ndarray,
                           t: LocusModel) -> np.ndarray:
    """:func:`lost_child_joint` of B families of one pedigree shape at one locus: J float64
    [B, n, n] (equal to it, rtol 1e-12: the same factors, summed in another order).

    ``ped`` names the persons (any family of the shape: the others differ only in names);
    ``typed_ids``: the K persons typed at this locus in every family of the batch;
    ``alleles`` int64 [B, K, 2]: their allele codes (a <= b). A typed person's two allele
    variables range over (a, b) in every family (size 2, homozygotes too: their phase factor
    is [[1, 0], [0, 0]], a heterozygote's [[0, 1], [1, 0]]), so all B share one elimination
    program, each einsum of it running over the batch axis (``...``)."""
    if ped.lost in typed_ids:
        raise PedigreeError(f"the lost child {ped.lost!r} must not be typed")
    p = np.asarray(t.p, dtype=np.float64)
    n = len(p)
    B = alleles.shape[0]
    if alleles.size and (alleles.min() < 0 or alleles.max() >= n):
        raise ValueError(f"genotypes have allele codes outside 0..{n - 1}")
    gen = {}
    for k, pid in enumerate(typed_ids):
        if pid not in ped._index:
            raise PedigreeError(f"typed person {pid!r} is not in the pedigree")
        gen[pid] = alleles[:, k, :]                   # [B, 2]
    persons = _prune(ped, gen)
    slot = {q.id: i for i, q in enumerate(persons)}
    full = np.arange(n)[None, :]                      # [1, n]
    dom: list[np.ndarray] = []                        # [B | 1, size] allele codes of each variable
    for q in persons:
        d = gen.get(q.id, full)
        dom += [d, d]
    folded = _folded(persons, gen, (ped.lost,))
    het, hom = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 0.0]])
    factors: list[tuple[tuple[int, ...], np.ndarray]] = []
    for i, q in enumerate(persons):
        if q.id in folded:
            continue
        g = gen.get(q.id)
        if g is not None:
            factors.append(((2 * i, 2 * i + 1), np.where((g[:, 0] != g[:, 1])[:, None, None], het, hom)))
        if q.father is None:
            pi = p[None, :] if g is None else p[g]
            factors += [((2 * i,), pi), ((2 * i + 1,), pi)]
            continue
        for parent, M, var in ((q.father, t.M_father, 2 * i), (q.mother, t.M_mother, 2 * i + 1)):
            j = slot[parent]
            if parent in folded:
                pushed = np.asarray(t.pushed_father if var % 2 == 0 else t.pushed_mother, dtype=np.float64)
                factors.append(((var,), pushed[None, :] if g is None else pushed[g]))
                continue
            dx, dc = dom[2 * j], dom[var]             # the parent's two variables share a domain
            if dx is full and dc is full:             # untyped to untyped: one table per matrix
                T = _full_transmission(M)
            else:
                Mx = M[dx[:, :, None], dc[:, None, :]]
                T = 0.5 * (Mx[:, :, None, :] + Mx[:, None, :, :])
            factors.append(((2 * j, 2 * j + 1, var), T))
    c = slot[ped.lost]
    J = _eliminate(factors, [d[0] for d in dom], keep=(2 * c, 2 * c + 1), batch=True)
    return np.broadcast_to(J, (B, n, n))


_FULL_T: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _full_transmission(M: np.ndarray) -> np.ndarray:
    """T float64 [1, n, n, n]: t(c | x, y) = 1/2 M[x, c] + 1/2 M[y, c], kept per matrix."""
    hit = _FULL_T.get(id(M))
    if hit is None or hit[0] is not M:
        if len(_FULL_T) >= 256:
            _FULL_T.clear()
        hit = _FULL_T[id(M)] = (M, 0.5 * (M[None, :, None, :] + M[None, None, :, :]))
    return hit[1]


def mixture_joint_batch(ped: Pedigree | Mixture, typed_ids: Sequence[str], alleles: np.ndarray,
                        t: LocusModel) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mixture_joint` of B families of one shape (:func:`lost_child_joint_batch`):
    (J float64 [B, n, n], Z float64 [B]); no error where Z = 0 (the caller reads Z)."""
    if isinstance(ped, Pedigree):
        J = lost_child_joint_batch(ped, typed_ids, alleles, t)
    else:
        comps = ped.components
        if len(comps) > 1 and (t.M_father is t.M_mother or np.array_equal(t.M_father, t.M_mother)):
            comps = ped.sexless()
        J = sum(w * lost_child_joint_batch(q, typed_ids, alleles, t) for w, q in comps)
    return J, J.sum(axis=(1, 2))


def tables_from_joint_batch(J: np.ndarray, Z: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log10 LR float64 [B, n(n+1)/2] as :func:`table_from_joint` gives it, zeros where the
    family is impossible; possible bool [B]: Z > 0) from :func:`mixture_joint_batch`."""
    p = np.asarray(p, dtype=np.float64)
    lo, hi = genotype_pairs(len(p))
    ok = (Z > 0.0) & np.isfinite(Z)
    pc = np.where(lo == hi, J[:, lo, lo], J[:, lo, hi] + J[:, hi, lo]) / np.where(ok, Z, 1.0)[:, None]
    with np.errstate(divide="ignore"):
        out = np.log10(pc / _hw_table(p, lo, hi))
    out[~ok] = 0.0
    return out, ok


def _rows_cols(M: np.ndarray, rows: np.ndarray, cols: np.ndarray, full: np.ndarray) -> np.ndarray:
    """M[rows][:, cols] (M itself where both are every allele)."""
    if rows is full and cols is full:
        return M
    return M[np.ix_(rows, cols)]


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: elimination programs by (factor scopes, domain sizes, kept variables): families of one
#: shape and loci with one allele count and typing pattern share theirs
_PROGRAMS: dict[tuple, list] = {}


def _eliminate(factors, dom, keep, batch: bool = False):
    """Sum out every variable but ``keep`` from the product of ``factors``; the result has
    axes ``keep`` in that order. Greedy order: the variable whose joined factors span the
    fewest cells first. The order and its einsum steps depend only on the factors' scopes
    and the domain sizes: they are planned once per such key (:data:`_PROGRAMS`) and replayed."""
    size = [len(d) for d in dom]
    key = (tuple(vs for vs, _ in factors), tuple(size), keep, batch)
    program = _PROGRAMS.get(key)
    if program is None:
        if len(_PROGRAMS) >= 4096:
            _PROGRAMS.clear()
        program = _plan([vs for vs, _ in factors], size, tuple(keep))
        if batch:       # every operand and result with a leading batch axis (size B or 1)
            program = [(inputs, tuple(",".join("..." + w for w in spec.split("->")[0].split(",")) + "->..." +
                                      spec.split("->")[1] for spec in specs)) for inputs, specs in program]
        _PROGRAMS[key] = program
    arrays = [a for _, a in factors]
    for inputs, specs in program:
        acc = arrays[inputs[0]]
        if len(inputs) == 1:
            acc = np.einsum(specs[0], acc)
        for spec, k in zip(specs, inputs[1:]):
            acc = np.einsum(spec, acc, arrays[k])
        arrays.append(acc)
    return arrays[-1]


def _plan(scopes: list[tuple[int, ...]], size: list[int], keep: tuple[int, ...]) -> list:
    """The elimination program: steps (input factor positions, einsum specs), each appending
    its result; pairwise products over the union of the operands' variables (never larger
    than the step's clique), the last one of a step summing its variable out."""
    live = list(range(len(scopes)))
    scopes = list(scopes)
    todo = {v for vs in scopes for v in vs} - set(keep)
    program = []

    def step(inputs: list[int], out: tuple[int, ...]):
        letter: dict[int, str] = {}
        for k in inputs:
            for v in scopes[k]:
                letter.setdefault(v, _LETTERS[len(letter)])
        for v in out:
            letter.setdefault(v, _LETTERS[len(letter)])

        def word(vs):
            return "".join(letter[v] for v in vs)
        specs, acc = [], scopes[inputs[0]]
        if len(inputs) == 1:
            specs.append(f"{word(acc)}->{word(out)}")
        for n_done, k in enumerate(inputs[1:], start=2):
            res = out if n_done == len(inputs) else tuple(dict.fromkeys(acc + scopes[k]))
            specs.append(f"{word(acc)},{word(scopes[k])}->{word(res)}")
            acc = res
        program.append((tuple(inputs), tuple(specs)))
        scopes.append(out)
        return len(scopes) - 1

    while todo:
        best, best_cost = None, None
        for v in sorted(todo):
            span = set()
            for k in live:
                if v in scopes[k]:
                    span.update(scopes[k])
            cost = 1
            for u in span:
                cost *= size[u]
            if best_cost is None or cost < best_cost:
                best, best_cost = v, cost
        todo.discard(best)
        joined = [k for k in live if best in scopes[k]]
        out = tuple(sorted({u for k in joined for u in scopes[k]} - {best}))
        live = [k for k in live if best not in scopes[k]] + [step(joined, out)]
    step(live, keep)
    return program


# ------------------------------------------------------------------------ tables
def mixture_joint(ped: Pedigree | Mixture, typed: Mapping[str, Genotype], t: LocusModel,
                  theta: float = 0.0) -> tuple[np.ndarray, float]:
    """(J float64 [n, n], Z = P(D | H1)) of a pedigree or a mixture: J = sum_s w_s J_s
    (:func:`lost_child_joint`), Z = sum J, normalising by sum_s w_s P_s(D) (KINSHIP.md,
    "Side unknown"). The same pair as :func:`reunion.genetics.pedigree.nuclear_joint`, so
    :func:`reunion.genetics.pedigree.child_lr` reads one lost-child genotype off it.
    Raises :class:`InconsistentFamilyError` when Z = 0 (the typed members cannot form
    this pedigree under the model), ValueError for theta > 0."""
    if isinstance(ped, Pedigree):
        J = lost_child_joint(ped, typed, t, theta)
    else:
        comps = ped.components
        if len(comps) > 1 and (t.M_father is t.M_mother or np.array_equal(t.M_father, t.M_mother)):
            comps = ped.sexless()       # one matrix for both sexes: who is father or mother is moot
        J = sum(w * lost_child_joint(q, typed, t, theta) for w, q in comps)
    Z = float(J.sum())
    if not Z > 0.0 or not np.isfinite(Z):
        raise InconsistentFamilyError(
            "the typed members cannot form this pedigree under this mutation model "
            f"(P(family data) = {Z}); use a mutation model, or check the family's samples")
    return J, Z


def table_from_joint(J: np.ndarray, Z: float, p: np.ndarray, log10: bool = False) -> np.ndarray:
    """The lost-child table from ``(J, Z)`` (:func:`mixture_joint`): float64 [n(n+1)/2] in
    genotype-index order, P(c = g | D) / P_HW(g), or its log10."""
    p = np.asarray(p, dtype=np.float64)
    lo, hi = genotype_pairs(len(p))
    pc = np.where(lo == hi, J[lo, lo], J[lo, hi] + J[hi, lo]) / Z
    lr = pc / _hw_table(p, lo, hi)
    if log10:
        with np.errstate(divide="ignore"):
            return np.log10(lr)
    return lr


def lost_child_table(ped: Pedigree | Mixture, typed: Mapping[str, Genotype], t: LocusModel,
                     theta: float = 0.0, log10: bool = False) -> np.ndarray:
    """LR (or log10 LR) of every lost-child genotype at one locus, float64 [n(n+1)/2] in
    genotype-index order: P(c = g, D) / (P(D) P_HW(g)) under the pedigree, or under the
    mixture of pedigrees (sum_s w_s P_s(c = g, D) / sum_s w_s P_s(D)), exactly. See
    :func:`lost_child_joint` for ``typed`` and ``t``. Raises :class:`InconsistentFamilyError`
    when P(D) = 0, ValueError for theta > 0."""
    return table_from_joint(*mixture_joint(ped, typed, t, theta), t.p, log10)


# ------------------------------------------------------------------------ relation codes
@dataclass(frozen=True)
class Relative:
    """A registered member by relation code to the lost child: ``id`` (a sample id),
    ``relation`` (:class:`reunion.genetics.roles.Relation`), ``sex`` 'M' / 'F' / None."""

    id: str
    relation: Relation
    sex: SexLabel | None = None


#: the sided kinds a side-less code may be (each 1/2; a grandparent of known sex: its two)
_SIDES: dict[Relation, tuple[Relation, ...]] = {
    Relation.HALF_SIBLING: (Relation.HALF_SIBLING_PATERNAL, Relation.HALF_SIBLING_MATERNAL),
    Relation.AVUNCULAR: (Relation.PATERNAL_UNCLE_AUNT, Relation.MATERNAL_UNCLE_AUNT),
    Relation.GRANDPARENT: (Relation.PATERNAL_GRANDFATHER, Relation.MATERNAL_GRANDFATHER,
                           Relation.PATERNAL_GRANDMOTHER, Relation.MATERNAL_GRANDMOTHER),
}
#: kinds that name one person of the pedigree (two members of one of them cannot both be it)
_SLOTS: dict[Relation, tuple[str, SexLabel]] = {
    Relation.FATHER: ("~father", "M"), Relation.MOTHER: ("~mother", "F"),
    Relation.PATERNAL_GRANDFATHER: ("~paternal_grandfather", "M"),
    Relation.PATERNAL_GRANDMOTHER: ("~paternal_grandmother", "F"),
    Relation.MATERNAL_GRANDFATHER: ("~maternal_grandfather", "M"),
    Relation.MATERNAL_GRANDMOTHER: ("~maternal_grandmother", "F"),
    Relation.CHILD_OTHER_PARENT: ("~child_other_parent", None),
}
MAX_COMPONENTS = 4096     # side / sex assignments of one family's mixture
#: relations that fix a member's sex (a father is male, ...)
SLOT_RELATIONS = frozenset(k for k, (_, sex) in _SLOTS.items() if sex is not None)


def _options(r: Relative) -> tuple[Relation, ...]:
    rel = Relation(r.relation)
    if rel is Relation.GRANDPARENT and r.sex is not None:
        return tuple(k for k in _SIDES[rel] if _SLOTS[k][1] == r.sex)
    return _SIDES.get(rel, (rel,))


def relatives_pedigree(relatives: Sequence[Relative], lost_id: str = "lost",
                       lost_sex: SexLabel | None = None) -> Mixture:
    """The pedigree (H1) of a family registered by relation codes, as a :class:`Mixture`
    (one component when every code is sided and every connecting sex is known).

    Structure (members of one kind share their connecting ancestors): the lost child's
    father and mother (typed members or untyped ``~father`` / ``~mother``); full siblings
    are their children; a paternal (maternal) half sibling is a child of the father
    (mother) and an own untyped other parent; grandparents of a side are that parent's
    parents (untyped where not registered), uncles / aunts of a side their children,
    first cousins of a side the children of one untyped uncle / aunt of that side and an
    untyped spouse (cousins of one side are full siblings); ``child`` members are the
    lost person's children by ``child_other_parent`` (typed, or an untyped ``~child_other_parent``);
    grandchildren are children of one untyped child of the lost person (by that other
    parent) and an untyped spouse.

    Uncertainty, as prior-weighted components: a side-less code (``half_sibling``,
    ``grandparent``, ``avuncular``) is each of its sides with prior 1/2 (a grandparent of
    unknown sex each of four places, 1/4), assignments putting two members into one place
    (two paternal grandfathers) are impossible and dropped, the rest equally likely; the
    sex of an untyped connecting parent (the cousins' uncle / aunt, the grandchildren's
    parent, the lost person when it has descendants and ``lost_sex`` is None and the
    other parent's sex is unknown) is male or female with prior 1/2.
    Raises :class:`PedigreeError` for impossible registrations (two fathers, a female
    father, more than :data:`MAX_COMPONENTS` assignments).
    """
    import itertools

    rels = [Relative(r.id, Relation(r.relation), r.sex) for r in relatives]
    ids = [r.id for r in rels] + [lost_id]
    if len(set(ids)) != len(ids):
        raise PedigreeError("member ids must be unique and differ from the lost child's")
    for r in rels:
        slot = _SLOTS.get(r.relation)
        if slot is not None and slot[1] is not None and r.sex is not None and r.sex != slot[1]:
            raise PedigreeError(f"{r.id}: a {r.relation.value} cannot be of sex {r.sex}")
    choices = [_options(r) for r in rels]
    kinds_present = {k for ch in choices for k in ch}
    other = next((r for r in rels if r.relation is Relation.CHILD_OTHER_PARENT), None)
    descendants = any(r.relation in (Relation.CHILD, Relation.GRANDCHILD) for r in rels) or other is not None
    if lost_sex is not None:
        lost_sexes: tuple = (lost_sex,)
    elif other is not None and other.sex is not None:
        lost_sexes = ("F" if other.sex == "M" else "M",)
    else:
        lost_sexes = ("M", "F") if descendants else (None,)
    if other is not None and other.sex is not None and other.sex == lost_sexes[0]:
        raise PedigreeError(f"{other.id}: the other parent of the lost person's children has the lost "
                            "person's sex")
    cousin_sides = [s for s, k in (("paternal", Relation.PATERNAL_FIRST_COUSIN),
                                   ("maternal", Relation.MATERNAL_FIRST_COUSIN)) if k in kinds_present]
    grand = Relation.GRANDCHILD in kinds_present
    sex_axes = [lost_sexes] + [("M", "F")] * (len(cousin_sides) + int(grand))
    n_assign = 1
    for ch in choices:
        n_assign *= len(ch)
    for ax in sex_axes:
        n_assign *= len(ax)
    if n_assign > MAX_COMPONENTS:
        raise PedigreeError(f"{n_assign} side / sex assignments exceed {MAX_COMPONENTS}: "
                            "register sides (paternal_..., maternal_...) or an explicit pedigree")
    comps = []
    for kinds in itertools.product(*choices):
        taken = [k for k in kinds if k in _SLOTS]
        if len(taken) != len(set(taken)):
            continue                                           # two members in one place
        for sexes in itertools.product(*sex_axes):
            comps.append(_build(rels, kinds, lost_id, sexes[0], dict(zip(cousin_sides, sexes[1:])),
                                sexes[-1] if grand else None))
    if not comps:
        raise PedigreeError("no assignment of the side-less members fits one pedigree "
                            "(more grandparents of one sex than there are places)")
    w = 1.0 / len(comps)
    return Mixture(tuple((w, ped) for ped in comps))


def _build(rels: list[Relative], kinds: tuple[Relation, ...], lost_id: str, lost_sex,
           cousin_parent_sex: dict[str, str], grandchild_parent_sex) -> Pedigree:
    """One pedigree: every member with its sided kind (see :func:`relatives_pedigree`)."""
    R = Relation
    person: dict[str, list] = {}          # id -> [father, mother, sex, label]
    place = {k: None for k in _SLOTS}
    for r, k in zip(rels, kinds):
        if k in _SLOTS:
            place[k] = r.id

    def node(kind: Relation) -> str:
        """The person in a unique place: the member registered there, else an untyped one."""
        pid = place[kind] or f"~{kind.value}"
        if pid not in person:
            sex = _SLOTS[kind][1]
            person[pid] = [None, None, sex, kind.value]
        return pid

    def add(pid: str, father: str, mother: str, sex, label: str):
        if pid in person:
            person[pid][0], person[pid][1] = father, mother
        else:
            person[pid] = [father, mother, sex, label]

    sex_of = {r.id: r.sex for r in rels}
    side_parent = {"paternal": R.FATHER, "maternal": R.MOTHER}
    side_gf = {"paternal": R.PATERNAL_GRANDFATHER, "maternal": R.MATERNAL_GRANDFATHER}
    side_gm = {"paternal": R.PATERNAL_GRANDMOTHER, "maternal": R.MATERNAL_GRANDMOTHER}
    F, M = node(R.FATHER), node(R.MOTHER)
    add(lost_id, F, M, lost_sex, "lost_child")
    for r, k in zip(rels, kinds):
        if k in (R.PATERNAL_GRANDFATHER, R.PATERNAL_GRANDMOTHER, R.PATERNAL_UNCLE_AUNT, R.PATERNAL_FIRST_COUSIN):
            side = "paternal"
        elif k in (R.MATERNAL_GRANDFATHER, R.MATERNAL_GRANDMOTHER, R.MATERNAL_UNCLE_AUNT, R.MATERNAL_FIRST_COUSIN):
            side = "maternal"
        else:
            side = None
        if side is not None:                                  # that parent's parents exist
            add(node(side_parent[side]), node(side_gf[side]), node(side_gm[side]),
                _SLOTS[side_parent[side]][1], side_parent[side].value)
        if k is R.FULL_SIBLING:
            add(r.id, F, M, r.sex, k.value)
        elif k in (R.HALF_SIBLING_PATERNAL, R.HALF_SIBLING_MATERNAL):
            own = f"{r.id}~other_parent"
            if k is R.HALF_SIBLING_PATERNAL:
                person[own] = [None, None, "F", "half sibling's other parent"]
                add(r.id, F, own, r.sex, k.value)
            else:
                person[own] = [None, None, "M", "half sibling's other parent"]
                add(r.id, own, M, r.sex, k.value)
        elif k in (R.PATERNAL_UNCLE_AUNT, R.MATERNAL_UNCLE_AUNT):
            add(r.id, node(side_gf[side]), node(side_gm[side]), r.sex, k.value)
        elif k in (R.PATERNAL_FIRST_COUSIN, R.MATERNAL_FIRST_COUSIN):
            x, y = f"~{side}_uncle_aunt", f"~{side}_uncle_aunt_spouse"
            xs = cousin_parent_sex[side]
            add(x, node(side_gf[side]), node(side_gm[side]), xs, "uncle / aunt (untyped)")
            add(y, None, None, "F" if xs == "M" else "M", "spouse (untyped)")
            add(r.id, x if xs == "M" else y, y if xs == "M" else x, r.sex, k.value)
        elif k in (R.CHILD, R.GRANDCHILD, R.CHILD_OTHER_PARENT):
            o = node(R.CHILD_OTHER_PARENT)
            person[o][2] = "F" if lost_sex == "M" else "M"
            fa, mo = (lost_id, o) if lost_sex == "M" else (o, lost_id)
            if k is R.CHILD:
                add(r.id, fa, mo, r.sex, k.value)
            elif k is R.GRANDCHILD:
                kid, spouse = "~child", "~child_spouse"
                ks = grandchild_parent_sex
                add(kid, fa, mo, ks, "child (untyped)")
                add(spouse, None, None, "F" if ks == "M" else "M", "spouse (untyped)")
                add(r.id, kid if ks == "M" else spouse, spouse if ks == "M" else kid, r.sex, k.value)
    for pid, k in ((F, R.FATHER), (M, R.MOTHER)):
        if pid in sex_of and sex_of[pid] is None:
            person[pid][2] = _SLOTS[k][1]
    persons = tuple(Person(pid, f, m, s, lab) for pid, (f, m, s, lab) in person.items())
    return Pedigree(persons, lost_id)
