"""The fine-grained work of a re-match, as plain functions run by Dask workers.

One piece = (query block x reference shard). These functions load what they
need by path (cached per worker process), call the table builders and the
screening kernel, and return small results. No Prefect here: per-piece
Prefect tasks would start a temporary Prefect server in every worker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import dask
import numpy as np
import pyarrow as pa

from reunion import ranking
from reunion.contracts import CANDIDATES, PER_LOCUS, Y_CANDIDATES, Y_PER_LOCUS
from reunion.contracts.records import Manifest
from reunion.flows.cluster import StageResources, needing
from reunion.flows.context import (context, family_at, family_y, lost_sexes, query_rows, query_sexes,
                                   y_context)
from reunion.flows.tables import TableHandle, saved_rows, shard_tables, table_values
from reunion.genetics.family import Family
from reunion.genetics.roles import Role, parse_role
from reunion.ingest import (
    shards_of,
)
from reunion.io import atomic
from reunion.kernels.device import get_kernel
from reunion.settings import Settings

log = logging.getLogger(__name__)


def screen_piece(shards_dir: str, settings_json: str, q_index: int | list[str], start: int, stop: int,
                 tables: TableHandle, save_to: str | None = None) -> dict:
    """Top-k families of one reference shard for each missing person of one query block.

    Returns ``{"ref_index", "position": int64 [n, k] (-1 = none), "score": float64 [n, k],
    "tables_file": the shard's saved tables (None when held in memory), where the re-score
    reads its rows}``.
    Missing persons typed at fewer than ``scoring.min_typed_loci`` loci get no candidates; with
    ``scoring.sex_mismatch: exclude`` a family whose lost child's registered sex differs from
    the missing person's known sex is not among them (:func:`screen_by_sex`).
    ``q_index`` may instead be a list of missing-person ids (start/stop ignored). With ``save_to``, the result is also persisted there (atomically) so that a
    crashed or cancelled run resumes without redoing this piece.
    """
    settings, _, enc, _ = context(shards_dir, settings_json)
    sc = settings.scoring
    ids, codes = query_rows(shards_dir, settings_json, q_index, start, stop)
    # a saved table file is named by its content (shard sha256, table settings): a GPU keeps it
    kernel = get_kernel(sc.device, cache_key=tables.file if tables.file is not None and tables.rows is None
                        else None)
    values = table_values(tables)
    fam_sex = lost_sexes(shards_dir, settings_json, tables.ref_index) if sc.sex_mismatch == "exclude" else None
    yc = y_context(shards_dir, settings_json)
    if yc is not None and len(tables.positions):
        idx, score = screen_with_y(get_kernel(sc.device), values, enc.offsets, codes, ids,
                                   query_sexes(shards_dir, settings_json, q_index, start, stop),
                                   fam_sex[tables.positions] if fam_sex is not None else None,
                                   family_y(shards_dir, settings_json, tables.ref_index,
                                            tables.positions.tolist()), yc, sc)
    else:
        idx, score = screen_with_strong(kernel, values, enc.offsets, codes,
                                        sc.top_k, sc.log10_lr_floor, sc.keep_all_log10_lr)
        if fam_sex is not None and len(tables.positions):
            idx, score = screen_by_sex(get_kernel(sc.device), values, enc.offsets, codes, idx, score,
                                       query_sexes(shards_dir, settings_json, q_index, start, stop),
                                       fam_sex[tables.positions], sc)
    too_few = np.count_nonzero(codes, axis=1) < sc.min_typed_loci
    idx[too_few] = -1
    score[too_few] = -np.inf
    position = np.where(idx >= 0, tables.positions[np.maximum(idx, 0)] if len(tables.positions)
                        else -1, -1)
    result = {"ref_index": tables.ref_index, "position": position.astype(np.int64),
              "score": score.astype(np.float64), "tables_reused": tables.reused,
              "tables_file": tables.file}
    if save_to:
        with atomic.atomic_path(Path(save_to)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, ref_index=result["ref_index"], position=result["position"],
                     score=result["score"], tables_file=tables.file or "")
    return result


def screen_with_strong(kernel, tables: np.ndarray, offsets: np.ndarray, codes: np.ndarray, k: int,
                       floor: float, keep_all: float | None) -> tuple[np.ndarray, np.ndarray]:
    """``kernel``'s top-k, widened for profiles whose k-th kept table reaches ``keep_all``.

    Those profiles are screened again with 4x the k (on the CPU kernel past the GPU's
    1,024) until their last kept score falls below ``keep_all`` or every table is kept,
    so every table scoring at least ``keep_all`` is listed. Returns ``index`` int32
    [n, K] and ``score`` [n, K] (K >= k; -1 / -inf pad the shorter rows).
    """
    idx, score = kernel(tables, offsets, codes, k, floor)
    if keep_all is None or not len(codes):
        return idx, score
    T = tables.shape[0]
    bar = keep_all - ranking.CUT_TOL
    more = np.flatnonzero(score[:, -1] >= bar) if k < T else np.zeros(0, np.int64)
    kk = k
    while more.size:
        kk = min(4 * kk, T)
        run = kernel if kk <= 1024 else get_kernel("cpu")
        mi, ms = run(tables, offsets, codes[more], kk, floor)
        wide_i = np.full((len(codes), kk), -1, dtype=idx.dtype)
        wide_s = np.full((len(codes), kk), -np.inf, dtype=score.dtype)
        wide_i[:, :idx.shape[1]], wide_s[:, :score.shape[1]] = idx, score
        wide_i[more], wide_s[more] = mi, ms
        idx, score = wide_i, wide_s
        more = more[ms[:, -1] >= bar] if kk < T else more[:0]
    return idx, score


def screen_by_sex(kernel, tables: np.ndarray, offsets: np.ndarray, codes: np.ndarray, idx: np.ndarray,
                  score: np.ndarray, query_sex: np.ndarray, table_sex: np.ndarray, sc) -> tuple[np.ndarray,
                                                                                                np.ndarray]:
    """The screen's (``idx`` int32 [n, K], ``score`` [n, K]) with every sex mismatch screened out:
    the missing persons of known sex (``query_sex`` str [n]: 'M', 'F', '') are screened again
    against only the tables (``table_sex`` str [T]: each table's lost-child sex, '' unknown) that
    are not of the other sex, so their top_k (and keep-all widening, :func:`screen_with_strong`)
    holds no mismatch and loses no match to one. Returns arrays padded to a common width."""
    parts = []
    for sex, other in (("M", "F"), ("F", "M")):
        rows = np.flatnonzero(query_sex == sex)
        bad = table_sex == other
        if rows.size and bad.any():
            keep = np.flatnonzero(~bad)
            if keep.size:
                i2, s2 = screen_with_strong(kernel, tables[keep], offsets, codes[rows], sc.top_k,
                                            sc.log10_lr_floor, sc.keep_all_log10_lr)
                i2 = np.where(i2 >= 0, keep[np.maximum(i2, 0)], -1).astype(idx.dtype)
            else:
                i2 = np.full((rows.size, 1), -1, dtype=idx.dtype)
                s2 = np.full((rows.size, 1), -np.inf, dtype=score.dtype)
            parts.append((rows, i2, s2))
    if not parts:
        return idx, score
    width = max([idx.shape[1]] + [i2.shape[1] for _, i2, _ in parts])
    out_i = np.full((len(idx), width), -1, dtype=idx.dtype)
    out_s = np.full((len(idx), width), -np.inf, dtype=score.dtype)
    out_i[:, :idx.shape[1]], out_s[:, :score.shape[1]] = idx, score
    for rows, i2, s2 in parts:
        out_i[rows], out_s[rows] = -1, -np.inf
        out_i[rows, :i2.shape[1]], out_s[rows, :s2.shape[1]] = i2, s2
    return out_i, out_s


#: most distinct denominators one screen's extra "locus" holds (its codes are uint16)
_MAX_DENOMINATORS = 60_000


def screen_with_y(kernel, values: np.ndarray, offsets: np.ndarray, codes: np.ndarray, ids: list[str],
                  query_sex: np.ndarray, table_sex: np.ndarray | None, fys: list, yc, sc
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The screen (``idx`` int32 [n, K] rows of ``values``, ``score`` [n, K]) by TOTAL log10 LR,
    autosomal + Y (:mod:`reunion.yevidence`).

    ``values`` float64 [T, W] the autosomal tables, ``offsets`` int32 [L], ``codes`` uint16
    [n, L] of the missing persons ``ids`` (known sexes ``query_sex`` str [n]); ``table_sex``
    str [T] the lost children's sexes (None: no sex exclusion); ``fys`` [T] each table's
    :class:`reunion.yevidence.FamilyY`. The tables are screened in groups of equal typed-Y-locus
    set (one group for the families without a Y factor: autosomal tables alone). In a Y group
    each table row is [autosomal | Y numerator row | denominators] and each missing person's
    codes [autosomal | Y value codes | k], the k-th slot of the last block holding his
    -log10 P(haplotype over the group's loci he is typed at) (0: none): so the kernel's top_k,
    floor and keep-all (:func:`screen_with_strong`, sex exclusion :func:`screen_by_sex`) are
    on the total, and the groups' lists side by side hold the exact top_k by total."""
    groups: dict[bytes | None, list[int]] = {}
    for t, fy in enumerate(fys):
        groups.setdefault(None if fy.reason is not None else fy.mask.tobytes(), []).append(t)
    yq = yc.query_codes(ids, query_sex)
    W = values.shape[1]
    parts = []
    for key, rows_l in groups.items():
        rows = np.array(rows_l, dtype=np.int64)
        t_sex = table_sex[rows] if table_sex is not None else None
        if key is None:
            i_parts = [_screen_tables(kernel, values[rows], offsets, codes, query_sex, t_sex, sc)]
            q_parts = [np.arange(len(ids))]
        else:
            mask = fys[rows_l[0]].mask
            den = np.array([-(yc.log10_probability(q, yq[r], mask) or 0.0) for r, q in enumerate(ids)])
            base = np.hstack([values[rows], np.stack([fys[t].row for t in rows_l])])
            off = np.concatenate([offsets.astype(np.int64), W + yc.offsets, [W + yc.width]]).astype(np.int32)
            i_parts, q_parts = [], []
            for lo in range(0, len(ids), _MAX_DENOMINATORS):
                qs = np.arange(lo, min(lo + _MAX_DENOMINATORS, len(ids)))
                uniq, inv = np.unique(den[qs], return_inverse=True)
                v = np.hstack([base, np.tile(np.concatenate([[0.0], uniq]), (len(rows), 1))])
                c = np.hstack([codes[qs], yq[qs], (inv + 1).astype(np.uint16)[:, None]])
                i_parts.append(_screen_tables(kernel, v, off, c, query_sex[qs], t_sex, sc))
                q_parts.append(qs)
        width = max(i.shape[1] for i, _ in i_parts)
        gi = np.full((len(ids), width), -1, dtype=np.int64)
        gs = np.full((len(ids), width), -np.inf)
        for (i, sc_), qs in zip(i_parts, q_parts):
            gi[qs, :i.shape[1]] = np.where(i >= 0, rows[np.maximum(i, 0)], -1)
            gs[qs, :sc_.shape[1]] = sc_
        parts.append((gi, gs))
    return (np.hstack([i for i, _ in parts]).astype(np.int32), np.hstack([s_ for _, s_ in parts]))


def _screen_tables(kernel, values, offsets, codes, query_sex, table_sex, sc):
    """:func:`screen_with_strong` of ``values``, then the sex exclusion (``table_sex`` not None)."""
    idx, score = screen_with_strong(kernel, np.ascontiguousarray(values), offsets, codes, sc.top_k,
                                    sc.log10_lr_floor, sc.keep_all_log10_lr)
    if table_sex is not None and len(values):
        idx, score = screen_by_sex(kernel, np.ascontiguousarray(values), offsets, codes, idx, score,
                                   query_sex, table_sex, sc)
    return idx, score


def load_piece(path: str) -> dict:
    """A piece persisted by :func:`screen_piece`."""
    with np.load(path) as z:
        return {"ref_index": int(z["ref_index"]), "position": z["position"], "score": z["score"],
                "tables_file": str(z["tables_file"]) if "tables_file" in z.files else None}


def piece_file(piece_dir: Path, q_index: int, start: int, ref_index: int) -> Path:
    return Path(piece_dir) / f"q{q_index:05d}-{start:010d}-r{ref_index:05d}.npz"


def candidate_rows(missing_id: str, family_id: str, cs) -> tuple[dict, list[dict]]:
    """The candidate row (without rank) and per-locus rows of one exact score."""
    cand = {
        "missing_id": missing_id, "rank": 0, "family_id": family_id,
        "hypothesis": cs.hypothesis,
        "members": ";".join(f"{k}:{v}" for k, v in cs.members.items()),
        "log10_lr": cs.log10_lr, "lr": float(10.0 ** cs.log10_lr),
        "loci_compared": cs.loci_compared, "inconsistent_loci": cs.inconsistent_loci,
        "log10_lr_duo_father": cs.log10_lr_duo_father,
        "log10_lr_duo_mother": cs.log10_lr_duo_mother,
        "floored_alleles": cs.floored_alleles,
    }
    loci = []
    for lr in cs.loci:
        g = lr.genotypes
        loci.append({
            "missing_id": missing_id, "family_id": family_id, "locus": lr.locus,
            "missing_genotype": g.get("missing", ""), "father_genotype": g.get("father", ""),
            "mother_genotype": g.get("mother", ""),
            "other_genotype": "; ".join(f"{key}: {lab}" for key, lab in g.items()
                                        if key not in (Role.MISSING, Role.FATHER, Role.MOTHER) and lab)
                              if any(parse_role(key)[1] is not None for key in g) else g.get(Role.OTHER, ""),
            "lr": lr.lr, "log10_lr": float(np.log10(lr.lr)) if lr.lr > 0 else float("-inf"),
            "compared": lr.compared, "inconsistent": lr.inconsistent,
            "floored": lr.floored > 0,
        })
    return cand, loci


@dataclass(frozen=True)
class _Exact:
    """A re-scored candidate as :func:`reunion.ranking.rank_scored` orders it: its exact log10
    LR and its row ``j`` of the :class:`reunion.genetics.batch_rescore.Rescored` arrays."""
    log10_lr: float
    j: int


_LABELS: dict[int, tuple[object, pa.Array, list[str]]] = {}


def _labels(enc) -> tuple[pa.Array, list[str]]:
    """The genotype label of every table slot of ``enc`` ('' for slot 0; string [W], as an
    Arrow array and a list), as :meth:`reunion.encoding.Encoding.genotype_label` writes it;
    built once per encoding."""
    hit = _LABELS.get(id(enc))
    if hit is None or hit[0] is not enc:
        offsets = enc.offsets.tolist() + [enc.width]
        labels = [enc.genotype_label(l, g) for l in range(len(enc.loci)) for g in range(offsets[l + 1] - offsets[l])]
        if len(_LABELS) >= 8:
            _LABELS.clear()
        hit = _LABELS[id(enc)] = (enc, pa.array(labels, pa.string()), labels)
    return hit[1], hit[2]


def _other_labels(enc, used, labels: list[str]) -> list[str]:
    """The ``other_genotype`` of each locus of one family's members (per-locus rows' field,
    as :func:`candidate_rows` writes it): 'key: a/b; ...' of the members other than the
    parents where their keys are numbered (siblings, pedigree members), else the pairwise
    relative's label. ``labels``: :func:`_labels`' list."""
    offsets = enc.offsets.tolist()
    if any(parse_role(k)[1] is not None for k in used):
        cols = [(k, [labels[o + g] for o, g in zip(offsets, m.codes.tolist())])
                for k, m in used.items() if k not in (Role.FATHER, Role.MOTHER)]
        return ["; ".join(f"{k}: {lab[l]}" for k, lab in cols if lab[l]) for l in range(len(offsets))]
    if Role.OTHER in used:
        return [labels[o + g] for o, g in zip(offsets, used[Role.OTHER].codes.tolist())]
    return [""] * len(offsets)


def candidate_tables(scorer, ids: list[str], out: list[tuple[int, int, str, int]], res
                     ) -> tuple[pa.Table, pa.Table]:
    """The candidates (CANDIDATES) and per-locus rows (PER_LOCUS) of ``out`` (row of the
    missing person in ``ids``, rank, family id, row of ``res``, the
    :class:`reunion.genetics.batch_rescore.Rescored` arrays) in that order, built as columns;
    the same values as :func:`candidate_rows` of the formula path's scores."""
    enc = scorer.enc
    L = len(enc.loci)
    n = len(out)
    r_of = np.array([o[0] for o in out], np.int64)
    j_of = np.array([o[3] for o in out], np.int64)
    fam_of = res.family_of[j_of]
    fam_ids = [o[2] for o in out]
    miss = [ids[r] for r in r_of.tolist()]
    labels, label_list = _labels(enc)
    members: dict[int, str] = {}
    others: dict[int, int] = {}
    other_vals: list[str] = []
    for j in np.unique(fam_of).tolist():
        used = res.used[j]
        members[j] = ";".join(f"{key}:{m.sample_id}" for key, m in used.items())
        others[j] = len(other_vals)
        other_vals.extend(_other_labels(enc, used, label_list))
    fam_list = fam_of.tolist()
    member_col = [members[j] for j in fam_list]
    other_idx = [others[j] for j in fam_list]
    lg = res.log10_lr[j_of]
    duo_f, duo_m = res.duo_father[j_of], res.duo_mother[j_of]
    cand = pa.Table.from_arrays([
        pa.array(miss, pa.string()), pa.array([o[1] for o in out], pa.int32()), pa.array(fam_ids, pa.string()),
        pa.array([res.hypothesis[j].value for j in fam_list], pa.string()), pa.array(member_col, pa.string()),
        pa.array(lg, pa.float64()), pa.array([10.0 ** x for x in lg.tolist()], pa.float64()),  # C pow, as before
        pa.array(res.loci_compared[j_of].astype(np.int32)), pa.array(res.inconsistent_loci[j_of].astype(np.int32)),
        pa.array(duo_f, pa.float64(), mask=np.isnan(duo_f)), pa.array(duo_m, pa.float64(), mask=np.isnan(duo_m)),
        pa.array(res.floored_alleles[j_of].astype(np.int32)),
    ], names=["missing_id", "rank", "family_id", "hypothesis", "members", "log10_lr", "lr", "loci_compared",
              "inconsistent_loci", "log10_lr_duo_father", "log10_lr_duo_mother", "floored_alleles"])
    cand = cand.select(CANDIDATES.names).cast(CANDIDATES)
    offsets = enc.offsets.astype(np.int64)[None, :]
    child = res.child[j_of].astype(np.int64)
    fa, mo = res.father[fam_of], res.mother[fam_of]
    rep = np.repeat(np.arange(n), L)
    other = (np.array(other_idx, np.int64)[:, None] + np.arange(L)[None, :]).ravel()
    take = lambda a: labels.take(pa.array((offsets + a).ravel()))    # noqa: E731
    locus_t = pa.Table.from_arrays([
        pa.array(miss, pa.string()).take(pa.array(rep)), pa.array(fam_ids, pa.string()).take(pa.array(rep)),
        pa.array(enc.locus_names, pa.string()).take(pa.array(np.tile(np.arange(L), n))),
        take(child), take(fa), take(mo), pa.array(other_vals, pa.string()).take(pa.array(other)),
        pa.array(res.locus_lr[j_of].ravel()), pa.array(res.locus_log10[j_of].ravel()),
        pa.array(res.compared[j_of].ravel()), pa.array(res.inconsistent[j_of].ravel()),
        pa.array((res.floored[j_of] > 0).ravel()),
    ], names=PER_LOCUS.names)
    return cand, locus_t.cast(PER_LOCUS)


def with_y(cand: pa.Table, loci: pa.Table, out: list[tuple[int, int, str, int]], res, pairs: list,
           yc, yq: np.ndarray, L: int) -> tuple[pa.Table, pa.Table]:
    """:func:`candidate_tables`' rows with the Y evidence: ``log10_lr`` and ``lr`` the total
    (autosomal + Y), the Y_CANDIDATE_FIELDS columns, and per candidate with a Y factor its
    Y per-locus rows (one per compared Y locus: lr = P(value | paternal line); then one
    'y_haplotype' row: lr = 1 / P(haplotype)) after its L autosomal rows (Y_PER_LOCUS).
    ``pairs[j]``: the :class:`reunion.yevidence.PairY` of re-scored entry j; ``yq`` uint16
    [n, L_Y] the missing persons' Y codes; ``L`` the autosomal loci."""
    from reunion.io.yrows import value_label

    j_of = [o[3] for o in out]
    auto = res.log10_lr[np.array(j_of, np.int64)] if out else np.zeros(0)
    ys = [pairs[j] for j in j_of]
    y = np.array([p.log10_lr if p.log10_lr is not None else np.nan for p in ys])
    tot = auto + np.nan_to_num(y, nan=0.0)
    prob = np.array([p.probability if p.probability is not None else np.nan for p in ys])
    cols = {n: cand.column(n) for n in cand.column_names}
    cols["log10_lr"] = pa.array(tot, pa.float64())
    cols["lr"] = pa.array([10.0 ** x for x in tot.tolist()], pa.float64())
    cols["log10_lr_autosomal"] = pa.array(auto, pa.float64())
    cols["log10_lr_y"] = pa.array(y, pa.float64(), mask=np.isnan(y))
    cols["y_loci_compared"] = pa.array([len(p.loci) for p in ys], pa.int32())
    cols["y_haplotype_probability"] = pa.array(prob, pa.float64(), mask=np.isnan(prob))
    cols["y_reason"] = pa.array([p.reason for p in ys], pa.string())
    cand = pa.Table.from_pydict(cols).select(Y_CANDIDATES.names).cast(Y_CANDIDATES)
    # per-locus: the autosomal rows (L per candidate, in out order), then each candidate's Y rows
    rows: dict[str, list] = {f.name: [] for f in Y_PER_LOCUS}
    order: list[int] = []
    pos = {locus: i for i, locus in enumerate(yc.loci)}
    for n, (o, p) in enumerate(zip(out, ys)):
        if p.log10_lr is None:
            continue
        r, _, family_id, _ = o
        men = p.men
        for locus, lg in zip(p.loci, p.per_locus):
            v = yc.values[pos[locus]][int(yq[r][pos[locus]]) - 1]
            line = "; ".join(f"{m}: {value_label(yc.haplotypes[m].get(locus))}" for m in men
                             if m in yc.haplotypes and yc.haplotypes[m].get(locus) is not None)
            _y_row(rows, cand["missing_id"][n].as_py(), family_id, locus, value_label(v), line,
                   10.0 ** lg, lg, lg == -np.inf, "y")
            order.append(n)
        _y_row(rows, cand["missing_id"][n].as_py(), family_id, "Y haplotype", "", "",
               1.0 / p.probability, -float(np.log10(p.probability)), False, "y_haplotype")
        order.append(n)
    auto_t = loci.append_column(pa.field("marker", pa.string(), nullable=False),
                                pa.array(["autosomal"] * loci.num_rows, pa.string()))
    y_t = pa.Table.from_pydict(rows, schema=Y_PER_LOCUS)
    both = pa.concat_tables([auto_t.cast(Y_PER_LOCUS), y_t])
    key = np.concatenate([np.repeat(np.arange(len(out)), L), np.array(order, np.int64)])
    return cand, both.take(pa.array(np.argsort(key, kind="stable")))


def _y_row(rows: dict, missing_id: str, family_id: str, locus: str, missing: str, other: str, lr: float,
           lg: float, inconsistent: bool, marker: str) -> None:
    for k, v in (("missing_id", missing_id), ("family_id", family_id), ("locus", locus),
                 ("missing_genotype", missing), ("father_genotype", ""), ("mother_genotype", ""),
                 ("other_genotype", other), ("lr", lr), ("log10_lr", lg), ("compared", True),
                 ("inconsistent", bool(inconsistent)), ("floored", False), ("marker", marker)):
        rows[k].append(v)


def merge_and_rescore(shards_dir: str, settings_json: str, q_index: int | list[str], start: int,
                      stop: int, pieces: list[dict]) -> dict:
    """Merge per-shard top-k lists and re-score the shortlist exactly (float64, per locus).

    Candidates are ordered by exact log10 LR (desc), ties by family_id; chunking
    and sharding never change the result. Returns ``{"candidates": Arrow table of
    the CANDIDATES contract, "per_locus": Arrow table of PER_LOCUS, "queries",
    "too_few_loci", "tables_reused", "with_candidates", "rescored" (candidates
    re-scored), "shortlist_checks_failed" (missing persons whose whole shortlist was
    re-scored because a screen score disagreed with its re-score)}``: the rows are built into
    Arrow here, on the worker, so the flow process only concatenates them.
    """
    settings, _, _, scorer = context(shards_dir, settings_json)
    sc = settings.scoring
    ids, codes = query_rows(shards_dir, settings_json, q_index, start, stop)
    n_too_few = int(np.sum(np.count_nonzero(codes, axis=1) < sc.min_typed_loci))
    rows_l, shard_l, pos_l, score_l = listed_entries(pieces, len(ids))
    keep = ranking.shortlist_cut(rows_l, score_l, sc.top_k, sc.keep_all_log10_lr)

    def entries(mask: np.ndarray) -> list[tuple[int, tuple[int, int], float]]:
        """(row, (shard, position), screen score) of the listed entries under ``mask``."""
        return [(r, (q, i), x) for r, q, i, x in zip(rows_l[mask].tolist(), shard_l[mask].tolist(),
                                                     pos_l[mask].tolist(), score_l[mask].tolist())]
    fams: dict[tuple[int, int], Family] = {}
    # the shards' saved tables, where the pieces name them: the re-score reads its rows there
    files = {p["ref_index"]: p["tables_file"] for p in pieces if p.get("tables_file")}

    def rescore(entries: list[tuple[int, tuple[int, int], float]]):
        for _, key, _ in entries:
            if key not in fams:
                fams[key] = family_at(shards_dir, settings_json, *key)
        rows = np.array([r for r, _, _ in entries], dtype=np.int64)
        saved = saved_rows(files, [key for _, key, _ in entries]) if entries else None
        return scorer.rescore_arrays([fams[key] for _, key, _ in entries],
                                     codes[rows].reshape(len(rows), codes.shape[1]), *(saved or ()))

    yc = y_context(shards_dir, settings_json)
    yq = yc.query_codes(ids, query_sexes(shards_dir, settings_json, q_index, start, stop)) if yc else None

    def totals(entries, res):
        """(total log10 LR float64 [J]: autosomal + Y, the :class:`PairY` of each or None)."""
        if yc is None:
            return res.log10_lr, None
        at: dict[int, list[int]] = {}                 # reference shard -> positions asked
        for _, (ref, pos), _ in entries:
            at.setdefault(ref, []).append(pos)
        fy = {(ref, pos): f for ref, ps in at.items()
              for pos, f in zip(ps, family_y(shards_dir, settings_json, ref, ps))}
        pairs = [yc.pair(ids[r], yq[r], fy[key]) for r, key, _ in entries]
        return res.log10_lr + np.array([p.log10_lr or 0.0 for p in pairs]), pairs

    first = entries(keep)
    res = rescore(first)
    total, pairs = totals(first, res)
    # the cut trusts screen score == exact score within CUT_TOL / 4; where a re-scored candidate
    # says otherwise, that missing person's whole shortlist is re-scored
    off = {r for j, (r, _, s_) in enumerate(first)
           if res.pair_hypothesis(j) is not None and not ranking.same_score(s_, float(total[j]))}
    if off:
        log.warning("%d missing persons: a screen score differs from its exact re-score by more "
                    "than %g; their whole shortlists are re-scored", len(off), ranking.CUT_TOL / 4)
        first = first + entries(~keep & np.isin(rows_l, np.fromiter(off, np.int64, len(off))))
        res = rescore(first)
        total, pairs = totals(first, res)
    scored_of: dict[int, list] = {}
    for j, (r, key, _) in enumerate(first):
        if res.pair_hypothesis(j) is not None and total[j] >= sc.log10_lr_floor:
            scored_of.setdefault(r, []).append((fams[key].family_id, _Exact(float(total[j]), j)))
    out = [(r, rank, family_id, s_.j) for r in range(len(ids))
           for rank, family_id, s_ in ranking.rank_scored(scored_of.get(r, []), sc.top_k,
                                                          sc.keep_all_log10_lr)]
    cand_t, locus_t = candidate_tables(scorer, ids, out, res)
    if yc is not None:
        cand_t, locus_t = with_y(cand_t, locus_t, out, res, pairs, yc, yq, len(scorer.enc.loci))
    return {"candidates": cand_t, "per_locus": locus_t,
            "queries": len(ids), "too_few_loci": n_too_few,
            "rescored": len(first), "shortlist_checks_failed": len(off),
            "tables_reused": {k: v for p in pieces for k, v in p.get("tables_reused", {}).items()},
            "with_candidates": len({r for r, _, _, _ in out})}


def listed_entries(pieces: list[dict], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every listed (missing person row, shard, position, screen score) of a block's ``pieces``
    (:func:`screen_piece` results for its ``n`` missing persons), as int64 / int64 / int64 /
    float64 arrays [m], in (row, piece, column) order; the -1 (none) slots left out. Memory grows
    with the entries listed, not with rows x pieces x the widest list."""
    rows, shards, pos, score = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], \
        [np.zeros(0, np.float64)]
    for p in pieces:
        r, c = np.nonzero(p["position"][:n] >= 0)           # row-major: (row, column) order
        rows.append(r.astype(np.int64))
        shards.append(np.full(r.size, p["ref_index"], np.int64))
        pos.append(p["position"][r, c].astype(np.int64))
        score.append(p["score"][r, c].astype(np.float64))
    rows_a = np.concatenate(rows)
    order = np.argsort(rows_a, kind="stable")                # by row; pieces, then columns, in order
    return rows_a[order], np.concatenate(shards)[order], np.concatenate(pos)[order], np.concatenate(score)[order]


def rescore_part(shards_dir: str, settings_json: str, ids: list[str], start: int, stop: int,
                 pieces: list[dict]) -> dict:
    """:func:`merge_and_rescore` of the missing persons ``ids[start:stop]`` of a block whose
    ``pieces`` were screened for all of ``ids`` (re-scoring a block in parallel parts)."""
    part = [{**p, "position": p["position"][start:stop], "score": p["score"][start:stop]} for p in pieces]
    return merge_and_rescore(shards_dir, settings_json, ids[start:stop], 0, 0, part)


@dataclass(frozen=True)
class WorkPlan:
    """The pieces of a re-match: every query block against every reference shard, screened in
    tasks of a group of reference shards each (:func:`plan_work`)."""
    #: (query shard index, first row, row past the last) of each query block, in output order
    blocks: list[tuple[int, int, int]]
    #: indices of the reference shards among the manifest's reference shards
    references: list[int]
    #: the reference shards each screening task takes, consecutive runs of ``references`` in
    #: order (:func:`group_shards`); how the work is scheduled, never what it finds
    groups: list[list[int]]

    @property
    def pieces(self) -> int:
        """Query blocks x reference shards."""
        return len(self.blocks) * len(self.references)

    @property
    def tasks(self) -> int:
        """Screening tasks: query blocks x shard groups."""
        return len(self.blocks) * len(self.groups)


def group_shards(families: list[int], block: int, pairs_per_task: int) -> list[list[int]]:
    """Consecutive reference shards (``families`` int per shard, in order) fused into groups of
    about ``pairs_per_task`` pairs for a query block of ``block`` missing persons: a shard joins
    the group while the group's families x ``block`` stay within it; a group holds at least one
    shard, and a shard is never split. Returns the shard indices of each group."""
    groups: list[list[int]] = []
    size = 0
    for r, f in enumerate(families):
        if groups and (size + f) * block <= pairs_per_task:
            groups[-1].append(r)
            size += f
        else:
            groups.append([r])
            size = f
    return groups


def plan_work(manifest: Manifest, settings: Settings) -> WorkPlan:
    """Query blocks (query shard, start, stop), reference shard indices of a run, and the shard
    groups of its screening tasks (``scoring.pairs_per_task``: :func:`group_shards`)."""
    block = settings.scoring.query_block
    queries, refs = shards_of(manifest, "query"), shards_of(manifest, "reference")
    blocks = [(qi, start, min(start + block, q.rows))
              for qi, q in enumerate(queries) for start in range(0, q.rows, block)]
    widest = max((stop - start for _, start, stop in blocks), default=0)
    groups = group_shards([r.families if r.families is not None else r.rows for r in refs], max(widest, 1),
                          settings.scoring.pairs_per_task)
    return WorkPlan(blocks=blocks, references=list(range(len(refs))), groups=groups)


class RematchGraph(list):
    """The Dask graph of a re-match (:func:`rematch_graph`): a list of one Delayed
    merge_and_rescore per query block, in output order, with ``screens``: the screening tasks
    still to run, (Delayed of that graph, pieces it screens), to follow the run's progress."""
    screens: list


def screen_group(shards_dir: str, settings_json: str, q_index: int, start: int, stop: int,
                 jobs: list[tuple[TableHandle | None, str | None]]) -> list[dict]:
    """:func:`screen_piece` of one query block against a group of reference shards, one after
    another in one task: ``jobs`` holds per shard (its tables, the file its piece is saved in);
    a job without tables is a finished piece, loaded from its file. Returns the pieces in
    ``jobs`` order."""
    return [load_piece(path) if handle is None
            else screen_piece(shards_dir, settings_json, q_index, start, stop, handle, path)
            for handle, path in jobs]


def merge_groups(shards_dir: str, settings_json: str, q_index: int, start: int, stop: int,
                 groups: list[list[dict]]) -> dict:
    """:func:`merge_and_rescore` of a block's pieces, given per shard group (:func:`screen_group`)
    in reference shard order."""
    return merge_and_rescore(shards_dir, settings_json, q_index, start, stop,
                             [p for g in groups for p in g])


def rematch_graph(shards_dir: str, settings: Settings, work: WorkPlan,
                  piece_dir: Path | None = None, save_tables: Path | None = None,
                  resources: StageResources | None = None) -> RematchGraph:
    """Dask graph of a re-match: one delayed merge_and_rescore per query block.

    Tables are built once per reference shard (and saved in ``save_tables``) and
    shared by every piece of that shard. A query block is screened against each group of
    reference shards (``work.groups``) in one task. With ``piece_dir``, every piece
    (query block, reference shard) is saved there as it is screened, and finished pieces found
    there are loaded instead of recomputed (a shard whose pieces are all done is not even
    tabulated), whatever the grouping was when they were saved. ``resources`` (a GPU cluster's,
    flows/cluster.py :func:`~reunion.flows.cluster.stage_resources`): the Dask worker resources
    the screening tasks and the host stages' tasks ask for, so that the screens run on the GPU
    workers and the tables and re-scores on the host workers beside them.
    """
    res = resources or StageResources()

    sd, sj = str(shards_dir), settings.model_dump_json()
    tables: dict[int, object] = {}
    screens: list = []

    def table(r: int):
        if r not in tables:
            with needing(res.host):
                tables[r] = dask.delayed(shard_tables)(sd, sj, r, str(save_tables) if save_tables else None)
        return tables[r]

    def group(qi: int, start: int, stop: int, refs: list[int]):
        paths = [piece_file(piece_dir, qi, start, r) if piece_dir else None for r in refs]
        done = [p is not None and p.exists() for p in paths]
        if all(done):
            return [dask.delayed(load_piece)(str(p)) for p in paths]
        jobs = [(None if d else table(r), str(p) if p else None) for r, p, d in zip(refs, paths, done)]
        with needing(res.screen):
            task = dask.delayed(screen_group)(sd, sj, qi, start, stop, jobs)
        screens.append((task, len(done) - sum(done)))
        return task

    merged = RematchGraph()
    for (qi, start, stop) in work.blocks:
        gs = [group(qi, start, stop, refs) for refs in work.groups]
        with needing(res.host):
            merged.append(dask.delayed(merge_groups)(sd, sj, qi, start, stop, gs))
    merged.screens = screens
    return merged


def screen_pieces(merged: RematchGraph) -> list:
    """The screening tasks still to run in a :func:`rematch_graph`, as (Delayed of the same
    graph, pieces it screens), to follow a run's progress piece by piece."""
    return list(merged.screens)
