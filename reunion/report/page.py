"""The report page: one self-contained HTML string (inline CSS, JS, SVG and JSON data).

The page is ``assets/page.html``, a :meth:`str.format` template, filled with
``assets/report.css``, ``assets/report.js``, the summary, what changed, the
overview table and the JSON the script draws the per-candidate evidence from.

Report URL parameters (in the hash or the query string), applied on load:
``sort=<key>-<asc|desc>`` with key one of id, family, hyp, lr, rival, cat,
post, loci, inc, n; ``q=<text>`` (filter on ids); ``cat=<category>``;
``open=<missing_id>`` (show that missing person's candidates) and
``family=<family_id>`` (expand that candidate; default rank 1).
"""

from __future__ import annotations

import itertools
import json
import math
from html import escape
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reunion.genetics.roles import Role, parse_role
from reunion.report.format import (fmt_count, fmt_log10, fmt_posterior, fmt_pow10, fmt_rival,
                                   hypotheses, json_num, key_words, lr_text, members, num_attr)
from reunion.report.review import (CATEGORIES, CATEGORY_COLORS, CATEGORY_RANK, ReviewSettings,
                                   log10_of, posterior, prior_label)
from reunion.report.svg import chance_curve_svg, histogram_svg

_MAX_CHANGES_LISTED = 200


def _asset(name: str) -> str:
    """The text of ``reunion/report/assets/<name>``."""
    return files("reunion.report").joinpath("assets", name).read_text(encoding="utf-8")


def _json_script(obj) -> str:
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


#: per-locus columns a detail view shows, in its row order (:func:`locus_rows`)
_LOCUS_SHOWN = ("locus", "missing_genotype", "father_genotype", "mother_genotype", "other_genotype")


def locus_rows(per_locus: pa.Table | None, order: list[tuple[str, str]]
               ) -> tuple[dict[tuple[str, str], list[list]], list[str]]:
    """The detail views' per-locus rows of the pairs ``order`` (missing_id, family_id), in the
    order the page lists them, from PER_LOCUS rows (``per_locus``; None: no rows): ``({pair:
    [[locus index, missing, father, mother, other genotype, log10 LR (:func:`json_num`, 4
    places), flags], ...] in the table's row order}, loci)``, the loci named in order of first
    appearance along ``order``. Flags: 1 compared, 2 inconsistent, 4 floored. Built column by
    column (a pair's rows are a run of the table, found by where the ids change): the detail
    views of a national run hold millions of per-locus rows."""
    if per_locus is None or not per_locus.num_rows:
        return {}, []
    n = per_locus.num_rows
    mid, fid = per_locus.column("missing_id"), per_locus.column("family_id")
    change = pc.or_(pc.not_equal(mid.slice(1), mid.slice(0, n - 1)),
                    pc.not_equal(fid.slice(1), fid.slice(0, n - 1)))
    starts = np.r_[0, np.flatnonzero(change.to_numpy(zero_copy_only=False)) + 1]
    bounds = np.r_[starts, n].tolist()
    runs: dict[tuple[str, str], list[int]] = {}           # pair -> its runs (one, unless rows interleave)
    for j, key in enumerate(zip(mid.take(starts).to_pylist(), fid.take(starts).to_pylist())):
        runs.setdefault(key, []).append(j)
    # table rows in the page's order, for the loci's order of first appearance
    seen = [j for key in dict.fromkeys(order) for j in runs.get(key, ())]
    along = (np.concatenate([np.arange(bounds[j], bounds[j + 1]) for j in seen]) if seen
             else np.zeros(0, np.int64))
    enc = per_locus.column("locus").combine_chunks().dictionary_encode()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    uniq, first = np.unique(codes[along], return_index=True)
    used = uniq[np.argsort(first, kind="stable")]
    index = np.full(len(enc.dictionary), -1, dtype=np.int64)
    index[used] = np.arange(used.size)
    loci = enc.dictionary.take(pa.array(used, pa.int64())).to_pylist()
    flags = (per_locus.column("compared").to_numpy(zero_copy_only=False).astype(np.int64)
             | 2 * per_locus.column("inconsistent").to_numpy(zero_copy_only=False).astype(np.int64)
             | 4 * per_locus.column("floored").to_numpy(zero_copy_only=False).astype(np.int64))
    lod = per_locus.column("log10_lr").to_numpy(zero_copy_only=False)
    lods = list(map(round, lod.tolist(), itertools.repeat(4)))
    for i in np.flatnonzero(~np.isfinite(lod)).tolist():
        lods[i] = json_num(lod[i], 4)
    rows = list(map(list, zip(index[codes].tolist(),
                              *(per_locus.column(c).to_pylist() for c in _LOCUS_SHOWN[1:]),
                              lods, flags.tolist())))
    out: dict[tuple[str, str], list[list]] = {}
    for key, js in runs.items():
        out[key] = [r for j in js for r in rows[bounds[j]:bounds[j + 1]]] if len(js) > 1 \
            else rows[bounds[js[0]]:bounds[js[0] + 1]]
    return out, loci


def _detail_data(rows: list[dict], per_locus: pa.Table | None, settings: ReviewSettings,
                 population: str | None, n_families: int | None = None) -> tuple[dict, list[str], list[str]]:
    """The JSON the page script draws candidates from: (by missing person, loci, reasons).

    ``{missing_id: [record per candidate, rank order]}``; candidates of rank up to
    ``settings.detail_ranks`` get ``L``, their per-locus rows (``per_locus``: PER_LOCUS rows,
    :func:`locus_rows`) as
    ``[locus index, missing, father, mother, other genotype, log10 LR, flags]``
    (flags: 1 compared, 2 inconsistent, 4 floored). Loci names and category reasons
    are stored once, in the two lists, and referenced by index. A candidate whose members are
    numbered (siblings, a pedigree's members by relation) also gets ``cols``, one column per
    member ``[head, index into its L rows, sample id]`` (father 2, mother 3, the others 7, 8,
    ...: their genotypes, from per_locus' ``other_genotype``, follow the flags), so every
    typed member's genotype stands side by side with the missing person's.
    """
    alt = None          # the other prior, shown beside the stated one in the evidence view
    if settings.prior == "half" and n_families:
        alt = (1.0 / n_families, f"prior 1/{n_families:,}")
    elif settings.prior != "half":
        alt = (0.5, "prior 0.5 (single-case view)")
    detail = [c for c in rows if c["rank"] <= settings.detail_ranks]
    by_pair, loci = locus_rows(per_locus, [(c["missing_id"], c["family_id"]) for c in detail])
    extended: set[tuple[str, str]] = set()   # pairs whose rows got their members' columns
    whys: dict[str, int] = {}           # category reasons repeat: stored once, referenced by index
    data: dict[str, list[dict]] = {}
    for c in rows:
        l = log10_of(c)
        d = {"r": c["rank"], "f": c["family_id"], "hyp": c["hypothesis"],
             "mem": members(c["members"]),
             "lr": fmt_pow10(l), "l": json_num(l, 3), "rv": fmt_rival(c["log10_rival_ratio"]),
             "cat": c["category"], "why": whys.setdefault(c["category_reason"], len(whys)),
             "post": fmt_posterior(c["posterior"]),
             "post2": f"{fmt_posterior(posterior(l, alt[0]))} at {alt[1]}" if alt else None,
             "lc": c["loci_compared"],
             "inc": c["inconsistent_loci"], "flo": c["floored_alleles"],
             "df": json_num(c.get("log10_lr_duo_father"), 2),
             "dm": json_num(c.get("log10_lr_duo_mother"), 2),
             "cw": c.get("chance_words"),
             "p1": None if c.get("p_h1") is None else f"{c['p_h1']:.3g}"}
        if c["rank"] <= settings.detail_ranks:
            d["h1"], d["h2"] = hypotheses(c, population)
            extra = _member_columns(d)
            key = (c["missing_id"], c["family_id"])
            L = by_pair.get(key, [])
            if extra and key not in extended:
                extended.add(key)
                for row in L:
                    g = _genotypes_of(row[4])
                    row.extend(g.get(k, "") for k in extra)
            d["L"] = L
        data.setdefault(c["missing_id"], []).append(d)
    return data, loci, list(whys)


def _member_columns(d: dict) -> list[str]:
    """Sets ``d["cols"]`` for a candidate with numbered members (see :func:`_detail_data`) and
    returns the keys of its members beyond the father and mother, in column order."""
    mem = d["mem"]
    if not any(parse_role(k)[1] is not None for k, _ in mem):
        return []
    cols, extra = [], []
    for k, sid in mem:
        word = key_words(k)
        head = word[:1].upper() + word[1:]
        if k in (Role.FATHER, Role.MOTHER):
            cols.append([head, 2 if k == Role.FATHER else 3, sid])
        else:
            cols.append([head, 7 + len(extra), sid])
            extra.append(k)
    d["cols"] = cols
    return extra


def _genotypes_of(other: str | None) -> dict[str, str]:
    """per_locus' ``other_genotype`` of numbered members ('sibling1: 12/13; sibling2: 12/12')
    as {role key: genotype}."""
    out = {}
    for part in (other or "").split("; "):
        key, sep, lab = part.partition(": ")
        if sep:
            out[key] = lab
    return out


def _used_frequencies(freq: dict | None, data: dict, loci: list[str]) -> dict | None:
    """Only the frequencies of alleles the missing persons in the detail views carry (in order of
    first appearance: each distinct (locus, genotype) is split once)."""
    if freq is None:
        return None
    seen = dict.fromkeys((row[0], row[1]) for cands in data.values() for d in cands
                         for row in d.get("L", ()))
    out: dict[str, dict[str, list]] = {}
    for li, geno in seen:
        loc = loci[li]
        if loc not in freq:
            continue
        lf = freq[loc]
        for a in (geno or "").split("/"):
            if a and a in lf:
                f, fl = lf[a]
                out.setdefault(loc, {})[a] = [round(f, 6), 1 if fl else 0]
    return out


def _kv_table(items: list[tuple[str, str]], cls: str = "kv") -> str:
    return (f'<table class="{cls}"><tbody>'
            + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items)
            + "</tbody></table>")


def _changes_html(changes: dict | None, previous_run_dir: Path | None, prev_note: str) -> str:
    if changes is None:
        return ('<p class="muted">No previous run was given to compare with.</p>' if not prev_note
                else f'<p class="warn">{escape(prev_note)}</p>')
    labels = {"new": "New candidates", "improved": "Improved (higher category or LR)",
              "worsened": "Worsened (lower category or LR)",
              "dropped": "Dropped from the lists", "best_changed": "Best family changed"}
    cards = "".join(f'<div class="card"><div class="num" id="changes-{k}">{len(v):,}</div>'
                    f'<div>{escape(labels[k])}</div></div>' for k, v in changes.items())
    out = [f'<p>Compared with the run in <code>{escape(str(previous_run_dir))}</code>, '
           'by (missing person, family) pair; both runs categorised with the settings below.</p>',
           f'<div class="cards">{cards}</div>']
    for k, entries in changes.items():
        if not entries:
            continue
        rows = []
        for e in entries[:_MAX_CHANGES_LISTED]:
            now, before = e["now"], e["before"]
            c = now or before
            mid = c["missing_id"]

            def desc(x: dict | None, fam: bool = False) -> str:
                if x is None:
                    return "—"
                f = f"{escape(x['family_id'])} " if fam else ""
                return (f'{f}rank {x["rank"]}, log10 LR {escape(fmt_log10(log10_of(x)))}, '
                        f'<span class="cat cat-{x["category"]}">{x["category"]}</span>')
            fam = k == "best_changed"
            link = (f'<a href="#open={escape(quote(mid, safe=""))}" data-open="{escape(mid)}">{escape(mid)}</a>'
                    if now is not None else escape(mid))
            rows.append(f"<tr><td>{link}</td><td>{'' if fam else escape(c['family_id'])}</td>"
                        f"<td>{desc(before, fam)}</td><td>{desc(now, fam)}</td></tr>")
        more = (f'<p class="muted">… and {len(entries) - _MAX_CHANGES_LISTED:,} more '
                '(see review.parquet).</p>' if len(entries) > _MAX_CHANGES_LISTED else "")
        out.append(f'<details class="changes"><summary>{escape(labels[k])} ({len(entries):,})</summary>'
                   '<table class="grid"><thead><tr><th>Missing person</th><th>Family</th>'
                   '<th>Before</th><th>Now</th></tr></thead><tbody>' + "".join(rows)
                   + f"</tbody></table>{more}</details>")
    return "".join(out)


def _overview_rows(rows: list[dict]) -> tuple[str, int]:
    by: dict[str, list[dict]] = {}
    for c in rows:
        by.setdefault(c["missing_id"], []).append(c)
    out = []
    for mid, cs in by.items():
        b = cs[0]
        l = log10_of(b)
        text = " ".join([mid] + [x["family_id"] for x in cs]
                        + [sid for x in cs for _, sid in members(x["members"])]).lower()
        cat = b["category"]
        out.append(
            f'<tr data-id="{escape(mid)}" data-cat="{cat}" data-text="{escape(text)}">'
            f'<td><a href="#open={escape(quote(mid, safe=""))}" data-open="{escape(mid)}">{escape(mid)}</a></td>'
            f'<td>{escape(b["family_id"])}</td><td>{escape(b["hypothesis"])}</td>'
            f'<td class="r" data-v="{num_attr(l)}">{escape(fmt_pow10(l))}</td>'
            f'<td class="r">{escape(fmt_log10(l))}</td>'
            f'<td class="r" data-v="{num_attr(b["log10_rival_ratio"])}">'
            f'{escape(fmt_rival(b["log10_rival_ratio"]))}</td>'
            f'<td data-v="{CATEGORY_RANK[cat]}"><span class="cat cat-{cat}" '
            f'title="{escape(b["category_reason"])}">{cat}</span></td>'
            f'<td class="r" data-v="{num_attr(b["posterior"])}">{escape(fmt_posterior(b["posterior"]))}</td>'
            f'<td class="r" data-v="{b["loci_compared"]}">{b["loci_compared"]}</td>'
            f'<td class="r{" bad" if b["inconsistent_loci"] else ""}" data-v="{b["inconsistent_loci"]}">'
            f'{b["inconsistent_loci"]}</td>'
            f'<td class="r" data-v="{len(cs)}">{len(cs)}</td></tr>')
    return "".join(out), len(by)


def _calibration_html(run: dict, families, thresholds, settings: ReviewSettings, listed: int = 20) -> str:
    """The page's calibration section: the database's chance matches in words, the plot of
    expected chance matches against the LR threshold, the threshold per family kind and loci
    typed (``thresholds``, CHANCE_THRESHOLDS) and the ``listed`` families of lowest power
    (``families``, FAMILY_CALIBRATION): whom to sample next."""
    from reunion.calibration import THRESHOLD_GRID

    info = run.get("calibration") or {}
    if families is None or thresholds is None:
        why = f" ({info['skipped']})" if info.get("skipped") else ""
        return (f'<p class="muted">This run is not calibrated{escape(why)}: no chance matches or '
                'power; <code>reunion calibrate RUN</code> adds them.</p>')
    curves: dict[str, list[float]] = {}
    for h, c in zip(thresholds.column("hypothesis").to_pylist(), thresholds.column("curve").to_pylist()):
        k = h or "no hypothesis"
        curves[k] = [a + b for a, b in zip(curves.get(k, [0.0] * len(c)), c)]
    pw = info.get("power_log10_lr", families.column("power_log10_lr")[0].as_py() if families.num_rows else 4.0)
    one = info.get("log10_lr_threshold_one_chance_match")
    ecm = info.get("expected_chance_matches_at_power_threshold")
    words = (f"{fmt_count(info.get('searched'))} missing persons searched against "
             f"{fmt_count(families.num_rows)} families. At LR {lr_text(10 ** pw)}, expect "
             f"{'—' if ecm is None else fmt_pow10(math.log10(ecm)) if ecm > 0 else '0'} chance matches "
             "(unrelated missing persons reaching it against some family) in this database; "
             + (f"at most one expected from LR {fmt_pow10(one)} (log10 {one:g}) up." if one is not None
                else "more than one at every threshold of the grid.")
             + f" Upper bounds, exact to the grid (error at most {info.get('error_bound_log10', 0):.3f} log10)"
             + (f" and to an absolute probability of {info['probability_error']:.1e} (the laws' pruning)"
                if info.get("probability_error") else "")
             + (f"; {info['persons_approximated']:,} person-family pairs with a rarer locus set counted "
                "at the family's loci" if info.get("persons_approximated") else "") + ".")
    trows = []
    for r in thresholds.to_pylist():
        t = r["log10_lr_threshold"]
        trows.append(f"<tr><td>{escape(r['hypothesis'] or '—')}</td><td class=\"r\">{r['loci_typed']}</td>"
                     f"<td class=\"r\">{r['families']:,}</td>"
                     f"<td class=\"r\">{'—' if t is None else escape(fmt_pow10(t))}</td>"
                     f"<td class=\"r\">{'—' if t is None else f'{t:g}'}</td></tr>")
    fam = sorted(families.to_pylist(), key=lambda r: (r["power"], r["family_id"]))[:listed]
    frows = "".join(
        f"<tr><td>{escape(r['family_id'])}</td><td>{escape(r['hypothesis'] or '—')}</td>"
        f"<td class=\"r\">{r['loci_typed']}</td><td class=\"r\">{r['power']:.1%}</td>"
        f"<td class=\"r\">{escape(fmt_pow10(math.log10(r['expected_chance_matches'])) if r['expected_chance_matches'] > 0 else '0')}</td>"
        + _next_relative_cells(r) + "</tr>"
        for r in fam)
    return (f"<p>{escape(words)}</p>"
            + chance_curve_svg(THRESHOLD_GRID.tolist(), curves, settings.strong_lr)
            + '<div class="row"><div><h3>LR giving at most one chance match</h3>'
            '<table class="grid"><thead><tr><th>Hypothesis</th><th class="r">Loci typed</th>'
            '<th class="r">Families</th><th class="r">LR</th><th class="r">log10 LR</th></tr></thead>'
            f'<tbody>{"".join(trows)}</tbody></table></div>'
            f'<div><h3>Families of lowest power</h3><table class="grid"><thead><tr><th>Family</th>'
            f'<th>Hypothesis</th><th class="r">Loci</th><th class="r">Power at LR {escape(lr_text(10 ** pw))}</th>'
            f'<th class="r">Chance matches there</th><th>Sample next</th><th class="r">Power with it</th>'
            f'</tr></thead><tbody>{frows}</tbody></table>'
            '<p class="muted small">Power: the probability that the family\'s true lost child, typed '
            'at its loci, reaches the LR (a lower bound); families.parquet lists every family. Sample '
            'next: of the relatives a collection point could ask for, the one whose typing (at the '
            'family\'s loci) would raise the power most, and the power expected with it (a lower '
            'bound, on the coarser grid sampling_advice.grid: a relative that adds nothing can show a '
            'small loss; every relative\'s in families.parquet next_relatives); — where not '
            'computed (the reason on hover).</p></div></div>')


def _next_relative_cells(r: dict) -> str:
    """The families table's "Sample next" and "Power with it" cells of one families.parquet
    row (its sampling advice; "—" with the reason as title where there is none)."""
    best = r.get("best_next_relative")
    if best is None:
        why = escape(r.get("advice_skipped") or "not computed")
        return f'<td title="{why}">—</td><td class="r" title="{why}">—</td>'
    gain = r["power_with_best"] - r["power"]
    return (f"<td>{escape(best.replace('_', ' '))}</td>"
            f"<td class=\"r\">{r['power_with_best']:.1%} ({gain:+.1%})</td>")


def _y_html(run: dict, rows: list[dict], listed: int = 20) -> str:
    """The page's Y-STR section (a run with Y evidence, run.json ``y_evidence``; else ''): why
    the LRs multiply, the denominator's reference database, estimator and rates, and the
    rank-1 candidates with a Y factor: LR_autosomal, LR_Y and their product. No haplotype
    value appears."""
    info = run.get("y_evidence")
    if not info:
        return ""
    items = [("Why the LRs multiply", str(info.get("why_multiply", ""))),
             ("Reference men (denominator)", f"{fmt_count(info.get('reference_men'))}: the run's men "
              "with a Y haplotype (each missing man leaves himself out)"
              + (f", with {info['reference_file']}" if info.get("reference_file") else "")),
             ("Estimator", f"{info.get('estimator')}: {info.get('estimator_source')}"),
             ("Mutation rates", f"{info.get('rates')} (two-step fraction {info.get('two_step')})"),
             ("Y loci compared", ", ".join(info.get("loci") or []) or "—")]
    first = [c for i, c in enumerate(rows) if (i == 0 or rows[i - 1]["missing_id"] != c["missing_id"])
             and c.get("log10_lr_y") is not None]
    body = "".join(
        f"<tr><td>{escape(c['missing_id'])}</td><td>{escape(c['family_id'])}</td>"
        f"<td>{escape(fmt_pow10(c['log10_lr_autosomal']))}</td><td>{escape(fmt_pow10(c['log10_lr_y']))}</td>"
        f"<td>{escape(fmt_pow10(c['log10_lr']))}</td><td>{c['y_loci_compared']}</td></tr>"
        for c in first[:listed])
    table = ("<table class=\"kv\"><tr><th>missing person</th><th>family</th><th>LR autosomal</th>"
             "<th>LR Y</th><th>LR total = product</th><th>Y loci</th></tr>" + body + "</table>"
             if body else "<p class=\"muted\">No rank-1 candidate has a Y factor.</p>")
    return (f"<h2>Y-STR evidence</h2>{_kv_table(items)}<p>Rank-1 candidates with a Y factor "
            f"({len(first):,}; first {min(listed, len(first))} shown); the others have no Y factor "
            "(a woman, no Y typing, or no typed paternal-line man).</p>" + table)


def render_html(run: dict, rows: list[dict], per_locus: pa.Table | None, settings: ReviewSettings,
                freq: dict | None, freq_note: str, changes: dict | None,
                previous_run_dir: Path | None = None, prev_note: str = "",
                families=None, thresholds=None) -> str:
    """The report page (a string); see :func:`write_report`. ``families`` and ``thresholds``:
    the run's calibration tables (families.parquet, thresholds.parquet), None when absent."""
    counts = run.get("counts") or {}
    n_families = counts.get("families")
    population = ((run.get("config") or {}).get("frequencies") or {}).get("population")
    rank1 = [c for i, c in enumerate(rows) if i == 0 or rows[i - 1]["missing_id"] != c["missing_id"]]
    by_cat_best = {k: sum(1 for c in rank1 if c["category"] == k) for k in CATEGORIES}
    by_cat_all = {k: sum(1 for c in rows if c["category"] == k) for k in CATEGORIES}
    data, loci, whys = _detail_data(rows, per_locus, settings, population, n_families)
    payload = {"loci": loci, "whys": whys, "freq": _used_frequencies(freq, data, loci),
               "freq_note": freq_note, "ranks": settings.detail_ranks, "m": data}
    overview, n_missing_listed = _overview_rows(rows)

    short = {"undisputed": f"strong, ≥ {lr_text(settings.undisputed_factor)}× every rival",
             "strong": f"a rival within {lr_text(settings.undisputed_factor)}×",
             "inconclusive": f"{lr_text(settings.inconclusive_low)} < LR < {lr_text(settings.strong_lr)}",
             "weak": f"LR ≤ {lr_text(settings.inconclusive_low)} or > "
                     f"{settings.max_inconsistent_strong} inconsistent"}
    cards = "".join(
        f'<div class="card cat-card" style="border-color:{CATEGORY_COLORS[k]}">'
        f'<div class="num" id="count-{k}">{by_cat_best[k]:,}</div><div><b>{k}</b></div>'
        f'<div class="muted small">{escape(short[k])}</div>'
        f'<div class="muted small">{by_cat_all[k]:,} of all candidates</div></div>'
        for k in CATEGORIES)
    missing_total = counts.get("missing")
    with_c = counts.get("missing_with_candidates", n_missing_listed)
    no_cand = (missing_total - with_c) if isinstance(missing_total, int) and isinstance(with_c, int) \
        else None
    cards += (f'<div class="card"><div class="num" id="count-none">{fmt_count(no_cand)}</div>'
              '<div>no candidate</div><div class="muted small">missing persons</div></div>')

    secs = run.get("seconds")
    pairs = counts.get("pairs_screened")
    run_items = [
        ("Missing persons", fmt_count(counts.get("missing"))),
        ("Families searched", fmt_count(n_families)),
        ("Pairs screened", fmt_count(pairs)),
        ("Missing persons with candidates", fmt_count(counts.get("missing_with_candidates"))),
        ("Not searched (too few loci typed)", fmt_count(counts.get("missing_not_searched_too_few_loci"))),
        ("Candidates kept", fmt_count(counts.get("candidates", len(rows)))),
        ("Candidates re-scored exactly", fmt_count(counts.get("candidates_rescored"))),
        ("Input rows read", fmt_count(counts.get("rows_read"))),
        ("Input rows rejected", fmt_count(counts.get("rows_rejected"))),
        ("Rare-allele floor uses", fmt_count(counts.get("floored_allele_uses"))),
        ("Run time", f"{secs:,.1f} s" if isinstance(secs, (int, float)) else "—"),
        ("Throughput", f"{pairs / secs:,.0f} pairs/s"
         if isinstance(secs, (int, float)) and secs > 0 and isinstance(pairs, int) else "—"),
    ]
    for k, v in (run.get("timings") or {}).items():
        run_items.append((f"Time: {k}", f"{v:,.2f} s" if isinstance(v, (int, float)) else str(v)))
    cfg = run.get("config") or {}
    sc = cfg.get("scoring") or {}
    ft = run.get("frequency_table") or {}
    mode = run.get("mode") or {}
    about = [
        ("Flow", str(run.get("flow", "—"))), ("Started", str(run.get("started", "—"))),
        ("Run by", str(run.get("who", "—"))), ("Code version", str(run.get("code_version", "—"))),
        ("Config sha256", str(run.get("config_sha256", "—"))[:16]),
        ("Frequency table", f"{ft.get('path', '—')} ({ft.get('population') or 'one population'}); "
                            f"sha256 {str(ft.get('sha256', ''))[:16]}"),
        ("Mutation model", str((cfg.get("mutation") or {}).get("model", "—"))),
        ("List", f"top {sc.get('top_k', '—')} families per missing person with log10 LR >= "
                 f"{sc.get('log10_lr_floor', '—')}"
                 + (f", and every family with log10 LR >= {sc['keep_all_log10_lr']}"
                    if sc.get("keep_all_log10_lr") is not None else "")),
    ]
    if mode:
        about.append(("Mode", ", ".join(f"{k}: {v}" for k, v in mode.items())))
    cluster = run.get("cluster") or {}
    if cluster:
        about.append(("Cluster", f"{cluster.get('kind', '—')}, {cluster.get('workers', '—')} workers"))
    rules = [
        ("undisputed", f"strong, rank 1, and LR at least {lr_text(settings.undisputed_factor)}× "
                       "the rank-2 candidate's (or no rival)"),
        ("strong", f"LR ≥ {lr_text(settings.strong_lr)} and at most "
                   f"{settings.max_inconsistent_strong} inconsistent loci"),
        ("inconclusive", f"{lr_text(settings.inconclusive_low)} < LR < "
                         f"{lr_text(settings.strong_lr)}: type more loci or test the other parent"),
        ("weak", f"LR ≤ {lr_text(settings.inconclusive_low)}, or LR ≥ "
                 f"{lr_text(settings.strong_lr)} with more than "
                 f"{settings.max_inconsistent_strong} inconsistent loci"),
    ]
    rules_html = "".join(f'<li><span class="cat cat-{k}">{k}</span> {escape(v)}</li>' for k, v in rules)
    plabel = prior_label(settings, n_families)
    options = "".join(f'<option value="{k}">{k}</option>' for k in CATEGORIES)
    title = f"reunion review — {run.get('started', '')}"
    return _asset("page.html").format(
        title=escape(title), css=_asset("report.css"), js=_asset("report.js"),
        started=escape(str(run.get("started", "—"))),
        code=escape(str(run.get("code_version", "—"))),
        cards=cards, hist=histogram_svg(rank1, settings),
        run_table=_kv_table(run_items), about_table=_kv_table(about),
        rules=rules_html, prior=escape(plabel),
        prior_note=(" (the single-case paternity convention; it overstates the posterior of a "
                    "database search, so the evidence view also gives it at prior 1/number of "
                    "families)" if settings.prior == "half" else
                    "; the evidence view also gives the single-case view at prior 0.5"),
        calibration=_calibration_html(run, families, thresholds, settings),
        yevidence=_y_html(run, rows),
        changes=_changes_html(changes, previous_run_dir, prev_note),
        options=options, overview=overview, n_listed=f"{n_missing_listed:,}",
        n_listed_raw=n_missing_listed,
        freq_note=escape(freq_note), data=_json_script(payload),
    )

