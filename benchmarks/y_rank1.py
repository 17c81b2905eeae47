"""Rank 1 by family kind with and without Y-STR evidence on a simulated paternal-lines database (issue 20).

    .venv/bin/python benchmarks/y_rank1.py [--config configs/paternal_lines.yaml] [--families 2000] \
        [--unrelated 500] [--seed 2026] [--out DIR] [--machine cpu-2core] [--json OUT]

Simulates the database once (``reunion simulate``: the config's simulation section, a mix of
paternal-line kinds, every man Y-typed), then ingests and re-matches it twice with the same
commands a user runs, ``--set scoring.y_evidence=true`` and ``--set scoring.y_evidence=false``
(both with ``calibration.enabled=false``: the calibration changes no rank), and prints rank 1
by family kind for both: every planted lost child, and the male ones (only a man has a Y
factor); for the issue's case (a lost boy registered through one paternal uncle and one
paternal first cousin only) how many are first with Y where they are not without it.

Where ``scoring.y_evidence`` does not exist (a branch without Y evidence in the family LR), the
``true`` run stops at once with the settings error (one line, exit 2): the script says so and
reports the autosomal rates only, from a run without the ``--set`` (the scoring is autosomal
there whatever the flag). Nothing printed holds a genotype.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv

from reunion.evaluate import KINDS, evaluate, family_kinds

ROOT = Path(__file__).resolve().parents[1]
FLAG = "scoring.y_evidence"
ISSUE_KIND = "paternal uncle and cousin"


def _reunion() -> list[str]:
    exe = Path(sys.executable).with_name("reunion")
    return [str(exe)] if exe.exists() else [shutil.which("reunion") or "reunion"]


def _cli(args: list[str], log: Path) -> tuple[int, str, float]:
    """Run one reunion command; (exit status, its output, wall seconds). The output goes to ``log``."""
    t = time.perf_counter()
    p = subprocess.run(_reunion() + args, capture_output=True, text=True, cwd=ROOT)
    out = p.stdout + p.stderr
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(out)
    return p.returncode, out, time.perf_counter() - t


def _unknown_flag(out: str) -> bool:
    return f"unknown setting '{FLAG}'" in out


def _one_run(folder: Path, inp: Path, config: Path, sets: list[str]) -> dict:
    """Ingest and re-match ``inp`` under ``sets``; the rates, or {'unknown_setting': True}."""
    opts = ["--config", str(config)]
    for s in sets:
        opts += ["--set", s]
    rc, out, t_in = _cli(["ingest", "--samples", str(inp / "samples.csv"), "--genotypes",
                          str(inp / "genotypes.csv"), "--out", str(folder / "shards"), *opts],
                         folder / "ingest.log")
    if rc != 0:
        if _unknown_flag(out):
            return {"unknown_setting": True, "message": out.strip().splitlines()[-1]}
        raise SystemExit(f"reunion ingest failed ({rc}); see {folder / 'ingest.log'}")
    rc, out, t_re = _cli(["rematch", "--shards", str(folder / "shards"), "--out", str(folder / "results"),
                          *opts], folder / "rematch.log")
    if rc != 0:
        if _unknown_flag(out):
            return {"unknown_setting": True, "message": out.strip().splitlines()[-1]}
        raise SystemExit(f"reunion rematch failed ({rc}); see {folder / 'rematch.log'}")
    ev = evaluate(folder / "results" / "candidates.parquet", inp / "truth.csv", inp / "samples.csv")
    return {"sets": sets, "ingest_seconds": t_in, "rematch_seconds": t_re, "evaluation": ev}


def _tables(inp: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(planted missing_id -> family kind, missing_id -> sex, missing_id -> family_id)."""
    kinds = family_kinds(inp / "samples.csv")
    opts = pacsv.ConvertOptions(strings_can_be_null=False)
    samples = pacsv.read_csv(inp / "samples.csv", convert_options=opts)
    sex = dict(zip(samples.column("sample_id").to_pylist(), samples.column("sex").to_pylist()))
    truth = [t for t in pacsv.read_csv(inp / "truth.csv", convert_options=opts).to_pylist()
             if t["kind"] == "lost_child"]
    return ({t["missing_id"]: kinds.get(t["family_id"], KINDS[-1]) for t in truth}, sex,
            {t["missing_id"]: t["family_id"] for t in truth})


def _rates(hits: dict[str, bool], kind_of: dict[str, str], sex: dict[str, str]) -> dict:
    """kind -> {planted, rank1, boys, boys_rank1}, plus 'all'."""
    out: dict[str, dict[str, int]] = {}
    for mid, hit in hits.items():
        for k in (kind_of[mid], "all"):
            r = out.setdefault(k, {"planted": 0, "rank1": 0, "boys": 0, "boys_rank1": 0})
            r["planted"] += 1
            r["rank1"] += hit
            if sex.get(mid) == "M":
                r["boys"] += 1
                r["boys_rank1"] += hit
    return {k: out[k] for k in (*KINDS, "all") if k in out}


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.1%})" if d else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "paternal_lines.yaml")
    ap.add_argument("--families", type=int, default=2000)
    ap.add_argument("--unrelated", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, help="work folder (default: a temporary one, removed)")
    ap.add_argument("--machine", default="cpu-2core")
    ap.add_argument("--json", type=Path, help="write the result here too")
    a = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()          # the code the runs use
    tmp = None
    if a.out is None:
        tmp = tempfile.TemporaryDirectory()
        a.out = Path(tmp.name)
    inp = a.out / "input"
    rc, out, t_sim = _cli(["simulate", "--config", str(a.config), "--out", str(inp), "--families",
                           str(a.families), "--unrelated", str(a.unrelated), "--seed", str(a.seed)],
                          a.out / "simulate.log")
    if rc != 0:
        raise SystemExit(f"reunion simulate failed ({rc}): {out.strip().splitlines()[-1]}")
    kind_of, sex, _ = _tables(inp)
    common = ["calibration.enabled=false"]
    runs: dict[str, dict] = {}
    with_y = _one_run(a.out / "y-true", inp, a.config, [*common, f"{FLAG}=true"])
    y_available = not with_y.get("unknown_setting")
    if y_available:
        runs["with Y"] = with_y
        runs["autosomal"] = _one_run(a.out / "y-false", inp, a.config, [*common, f"{FLAG}=false"])
    else:
        runs["autosomal"] = _one_run(a.out / "autosomal", inp, a.config, common)
    lines = [f"y_rank1: {a.families} families, {a.unrelated} unrelated missing persons, seed {a.seed}, "
             f"config {a.config.name}; machine {a.machine}"]
    if not y_available:
        lines.append(f"'{FLAG}' is not a setting of this version (the 'true' run stopped with: "
                     f"{with_y['message']}): Y evidence is not in the family LR here; autosomal "
                     "rates only, from a run without the --set. Rerun this script where it is.")
    names = list(runs)
    rates = {n: _rates(r["evaluation"].hits, kind_of, sex) for n, r in runs.items()}
    head = "| family kind | " + " | ".join(f"rank 1, {n}" for n in names) + " | " + \
        " | ".join(f"lost boys at rank 1, {n}" for n in names) + " |"
    lines += ["", head, "|" + "---|" * (1 + 2 * len(names))]
    for k in rates[names[0]]:
        cells = [_pct(rates[n][k]["rank1"], rates[n][k]["planted"]) for n in names]
        cells += [_pct(rates[n][k]["boys_rank1"], rates[n][k]["boys"]) for n in names]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    result = {
        "machine": a.machine, "families": a.families, "unrelated": a.unrelated, "seed": a.seed,
        "config": str(a.config.relative_to(ROOT) if a.config.is_relative_to(ROOT) else a.config),
        "y_evidence_available": y_available, "simulate_seconds": t_sim,
        "runs": {n: {"sets": r["sets"], "ingest_seconds": r["ingest_seconds"],
                     "rematch_seconds": r["rematch_seconds"],
                     "unrelated_with_lr_10000": r["evaluation"].unrelated_with_strong,
                     "found_in_list": r["evaluation"].found_in_list,
                     "rank1_by_kind": rates[n]} for n, r in runs.items()},
        "commit": commit,
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    if y_available:
        auto, y = runs["autosomal"]["evaluation"].hits, runs["with Y"]["evaluation"].hits
        boys = [m for m, k in kind_of.items() if k == ISSUE_KIND and sex.get(m) == "M"]
        gained = sum(y[m] and not auto[m] for m in boys)
        lost = sum(auto[m] and not y[m] for m in boys)
        result["issue_case"] = {"boys": len(boys), "first_with_y_not_without": gained,
                                "first_without_y_not_with": lost}
        lines += ["", f"{ISSUE_KIND}: of {len(boys)} lost boys, {gained} are first with Y and not "
                  f"without it, {lost} first without it and not with it"]
    for n, r in runs.items():
        lines.append(f"{n}: ingest {r['ingest_seconds']:.0f} s, re-match {r['rematch_seconds']:.0f} s; "
                     f"unrelated missing persons with a candidate at LR >= 10,000: "
                     f"{r['evaluation'].unrelated_with_strong}")
    print("\n".join(lines))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        a.json.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
