"""The ``reunion`` command line."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path
from typing import Annotated, Optional

import click
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from reunion.contracts.records import RunRecord
from reunion.errors import EXIT_USER_ERROR, SettingsError, UserError, require_file
from reunion.prefect_env import configure_prefect, stop_temporary_server
from reunion.settings import (DEFAULT_CONFIG, WEEKLY_CRON, Settings, SimulationSettings, load_settings,
                              settings_problem)

configure_prefect()

_CREATED: list[Path] = []
#: exit status of a command stopped by SIGTERM (128 + 15, as the shell reports it)
EXIT_TERMINATED = 143


class Terminated(BaseException):
    """SIGTERM arrived: unwind (closing the Dask cluster), then stop the temporary server."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _output(path: Path) -> Path:
    """Note an output folder this command writes: if the command then fails on a user's
    mistake and the folder did not exist before it, the folder is removed again."""
    if not path.exists():
        _CREATED.append(path)
    return path


class _Commands(TyperGroup):
    """reunion's commands: a user's mistake (:class:`reunion.errors.UserError`) is one line
    on stderr and exit status 2, and leaves no output folder the command created
    (:class:`reunion.errors.NothingNew`: the line on stdout, exit 0); any other exception is an
    internal error and keeps its traceback."""

    def invoke(self, ctx: click.Context):
        _CREATED.clear()
        # Prefect's flow engine swaps in its own handler during a flow and calls this one
        # after the flow has unwound; outside flows this one raises directly
        signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return super().invoke(ctx)
        except (Terminated, KeyboardInterrupt) as exc:
            stop_temporary_server()  # else its uvicorn process outlives the command
            stopped = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
            typer.echo(f"stopped ({stopped}); run the same command again to resume", err=True)
            raise typer.Exit(EXIT_TERMINATED if isinstance(exc, Terminated) else 130) from None
        except UserError as exc:
            for path in reversed(_CREATED):
                shutil.rmtree(path, ignore_errors=True)
            stop_temporary_server()  # so that the error is the last line
            code = getattr(exc, "exit_code", EXIT_USER_ERROR)
            typer.echo(f"error: {exc}" if code else str(exc), err=bool(code))
            raise typer.Exit(code) from None


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True,
                  help="reunion: DNA kinship matching of missing persons against registered families.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (kernel throughput).")
app.add_typer(bench_app, name="bench")
console = Console()


def _print_version(value: bool) -> None:
    if value:
        from reunion import code_version
        typer.echo(f"reunion {code_version()}")
        raise typer.Exit()


@app.callback()
def _app(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the version with its commit (as run.json records it) and exit.")] = False) -> None:
    # no docstring: the app's help stays the one given to typer.Typer above
    pass

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Settings YAML (configs/*.yaml).")]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override a setting: section.field=value (repeatable), e.g. scoring.top_k=5.")]


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder for samples.csv, genotypes.csv, truth.csv.")],
    families: Annotated[Optional[int], typer.Option(help="Registered families [simulation.n_families].")] = None,
    lost_child_fraction: Annotated[Optional[float], typer.Option(
        help="Families whose lost child is on the missing side [simulation.lost_child_fraction].")] = None,
    unrelated: Annotated[Optional[int], typer.Option(
        help="Unrelated missing persons [simulation.n_unrelated_missing].")] = None,
    corrupt_rows: Annotated[Optional[int], typer.Option(
        help="Malformed genotype rows to inject [simulation.corrupt_rows].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed [simulation.seed].")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Simulate a synthetic national database from the configured frequency table
    (the simulation section of the settings; the options are shorthands for it)."""
    from reunion.frequencies import load_frequency_table
    from reunion.simulate import simulate_database

    s = load_settings(config, set_)
    table = load_frequency_table(s.frequencies.table, s.frequencies.population)
    summary = simulate_database(_output(out), table, _simulation(
        s, n_families=families, lost_child_fraction=lost_child_fraction,
        n_unrelated_missing=unrelated, corrupt_rows=corrupt_rows, seed=seed))
    console.print(f"simulated {summary.n_families} families ({summary.n_relatives} relatives), "
                  f"{summary.n_missing} missing persons of whom {summary.n_planted} are planted lost "
                  f"children; files in {out}")


def _simulation(s: Settings, **given) -> SimulationSettings:
    """The settings' simulation section with the options that were given (not None)."""
    try:
        return SimulationSettings.model_validate(
            {**s.simulation.model_dump(), **{k: v for k, v in given.items() if v is not None}})
    except ValidationError as exc:
        raise SettingsError(f"simulation option: {settings_problem(exc)}") from None


@app.command()
def ingest(
    out: Annotated[Path, typer.Option(help="Folder for shards, manifest.json, alleles and rejects.csv.")],
    samples: Annotated[Optional[list[Path]], typer.Option(
        help="Samples file(s) (CSV, Parquet or spreadsheet), in batch order.")] = None,
    genotypes: Annotated[Optional[list[Path]], typer.Option(
        help="Genotype file(s): CSV, Parquet, spreadsheet, GeneMapper export or CODIS CMF XML.")] = None,
    source: Annotated[Optional[str], typer.Option(
        help="PostgreSQL registry postgresql://USER@HOST:PORT/DB instead of files (tables and "
             "columns: source.*; password: PGPASSWORD, PGPASSFILE or source.password_file).")] = None,
    since: Annotated[Optional[str], typer.Option(
        help="With --source: only rows collected after this ISO date [source.since].")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Validate, normalise, encode and shard a database export (files or a PostgreSQL registry)."""
    import os

    from reunion.flows.ingest import ingest_flow

    samples, genotypes = samples or [], genotypes or []
    if source is None and (since is not None or not genotypes):
        raise SettingsError("give --genotypes (and --samples), or --source postgresql://... "
                            "(with --since)")
    if source is not None and (samples or genotypes):
        raise SettingsError("--source reads the samples and genotypes tables; give it without "
                            "--samples/--genotypes")
    s = load_settings(config, [*(set_ or []), *([f"source.since={since}"] if since else [])])
    for path in samples:
        require_file(path, "samples", "--samples")
    for path in genotypes:
        require_file(path, "genotype", "--genotypes")
    if source is not None:
        from reunion.io.postgres import split_password

        source, password = split_password(source)   # never a Prefect flow parameter
        if password:
            os.environ["PGPASSWORD"] = password
    summary = ingest_flow(samples, genotypes, _output(out), s, source)
    _print_ingest(summary)


def _print_ingest(summary) -> None:
    t = Table(title="ingest")
    for col in ("input", "read", "accepted", "rejected", "skipped"):
        t.add_column(col)
    for i in summary.inputs:
        t.add_row(Path(i.path).name, str(i.read), str(i.accepted), str(i.rejected), str(i.skipped or 0))
    console.print(t)
    for note in summary.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(f"{summary.n_missing} missing persons, {summary.n_relatives} relatives in "
                  f"{summary.n_families} families; {summary.n_query_shards} query and "
                  f"{summary.n_reference_shards} reference shards; rare-allele floor used "
                  f"{summary.floored_allele_uses} times ({summary.floored_alleles} alleles); "
                  f"rejects: {summary.rejects_path}")


@app.command()
def rematch(
    shards: Annotated[Path, typer.Option(help="Folder written by 'reunion ingest'.")],
    out: Annotated[Path, typer.Option(help="Run folder for candidates and run.json.")],
    previous: Annotated[Optional[Path], typer.Option(
        help="Previous run folder: the report says what changed since.")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Re-match every missing person against every family (Prefect flow on Dask); writes the report."""
    from reunion.flows.rematch import rematch_flow

    s = load_settings(config, set_)
    require_file(shards / "manifest.json", "shard set's manifest.json (written by 'reunion ingest')",
                 "--shards")
    if previous is not None:
        require_file(previous / "candidates.parquet", "previous run's candidates", "--previous")
    record = rematch_flow(shards, _output(out), s, previous_run=previous)
    _print_run(record, out)
    console.print(f"report: {record.report}")


@app.command()
def rerun(
    new: Annotated[Optional[list[Path]], typer.Option(help="New batch file(s): samples and/or genotypes.")] = None,
    base: Annotated[Optional[Path], typer.Option(
        help="The standing run folder (with run.json and candidates); default: the run "
             "--runs-root's current.json names.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Folder for the new run (shards/ and candidates); default: RUNS_ROOT/<UTC time>-rerun.")] = None,
    runs_root: Annotated[Optional[Path], typer.Option(
        help="Runs root of the scheduled re-match: on success its current.json names this run, "
             "so the next scheduled run re-matches its shards.")] = None,
    source: Annotated[Optional[str], typer.Option(
        help="Instead of --new: the PostgreSQL registry the standing run was ingested from; reads "
             "only the rows collected after the standing run (its manifest's watermark of "
             "source.watermark_column).")] = None,
    since: Annotated[Optional[str], typer.Option(
        help="With --source: read the rows collected after this ISO date instead [source.since].")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Append new collections to the standing shards, score only what is new, merge into the standing lists."""
    import os

    from reunion.errors import InputError
    from reunion.flows.deploy import CURRENT, read_current, run_stamp
    from reunion.flows.rerun import rerun_flow

    new = new or []
    if (source is None) == (not new) or (since is not None and source is None):
        raise SettingsError("give the new batch with --new FILE ..., or --source postgresql://... "
                            "(with --since), not both")
    s = load_settings(config, [*(set_ or []), *([f"source.since={since}"] if since else [])])
    if runs_root is not None:
        runs_root = runs_root.resolve()
        cur = read_current(runs_root)
        if base is None and cur is None:
            raise InputError(f"{runs_root} has no {CURRENT}; give the standing run with --base")
        base = Path(cur["run"]) if base is None else base
        out = runs_root / run_stamp("rerun") if out is None else out
    if base is None or out is None:
        raise InputError("give --base and --out (or --runs-root, which names both)")
    require_file(base / "run.json", "standing run's run.json", "--base")
    for path in new:
        require_file(path, "new batch", "--new")
    if source is not None:
        from reunion.io.postgres import split_password

        source, password = split_password(source)   # never a Prefect flow parameter
        if password:
            os.environ["PGPASSWORD"] = password
    record = rerun_flow(base, new, _output(out), s, runs_root=runs_root, source=source)
    console.print(f"report: {record.report}")
    mode = record.mode
    console.print(f"mode: {mode.get('kind')}" + (f" ({mode['reason']})" if mode.get("reason") else
                  f": {mode.get('missing_scored_fully')} missing persons scored against all families, "
                  f"{mode.get('missing_partially')} against {mode.get('families_changed')} new or "
                  "changed families"))
    _print_run(record, out)


def _print_run(record: RunRecord, out: Path) -> None:
    c = record.counts
    console.print(f"re-match: {c.missing} missing x {c.families} families "
                  f"({c.pairs_screened:,} pairs) in {record.seconds:.1f} s; "
                  f"{c.candidates} candidates for {c.missing_with_candidates} missing persons; "
                  f"{c.missing_not_searched_too_few_loci} not searched (too few loci)")
    skipped = c.rows_skipped   # Amelogenin and Y-STR rows: kept aside, not scored
    console.print(f"rows read {c.rows_read} = accepted {c.rows_read - c.rows_rejected - skipped} "
                  f"+ rejected {c.rows_rejected} + set aside {skipped}; rare-allele floor used "
                  f"{c.floored_allele_uses} times")
    console.print(f"candidate lists: {out / 'candidates.parquet'} and {out / 'candidates.csv'}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the whole demo run.")] = Path("demo-run"),
    families: Annotated[int, typer.Option(help="Registered families (the demo's own size: the "
                                          "settings' simulation.n_families is reunion simulate's).")] = 400,
    unrelated: Annotated[int, typer.Option(help="Unrelated missing persons (the demo's own; "
                                           "simulation.n_unrelated_missing is reunion simulate's).")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (the demo's own; simulation.seed is "
                                      "reunion simulate's).")] = 2026,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Simulate a small national database, ingest it, re-match it and check the result."""
    from reunion.evaluate import evaluate
    from reunion.flows.ingest import ingest_flow
    from reunion.flows.rematch import rematch_flow
    from reunion.frequencies import load_frequency_table
    from reunion.simulate import simulate_database

    t0 = time.perf_counter()
    s = load_settings(config, set_)
    table = load_frequency_table(s.frequencies.table, s.frequencies.population)
    inp, shards, results = _output(out) / "input", out / "shards", out / "results"
    console.rule("1. simulate")
    sim = simulate_database(inp, table, _simulation(
        s, n_families=families, n_unrelated_missing=unrelated, corrupt_rows=5, seed=seed))
    console.print(f"{sim.n_families} families, {sim.n_relatives} relatives, {sim.n_missing} missing "
                  f"persons ({sim.n_planted} planted lost children, {sim.n_planted_trio} with both "
                  f"parents registered), {sim.n_mutations} germline mutations")
    console.rule("2. ingest")
    summary = ingest_flow(inp / "samples.csv", [inp / "genotypes.csv"], shards, s)
    _print_ingest(summary)
    console.rule("3. re-match")
    shutil.rmtree(results, ignore_errors=True)   # the demo's own folder: a new demo replaces it
    record = rematch_flow(shards, results, s)
    _print_run(record, results)
    console.rule("4. check against the ground truth")
    ev = evaluate(results / "candidates.parquet", inp / "truth.csv", inp / "samples.csv")
    console.print(f"planted relatives found at rank 1: {ev.rank1}/{ev.planted} ({ev.rank1_rate:.1%}); "
                  f"with both parents registered: {ev.rank1_trio}/{ev.planted_trio} "
                  f"({ev.rank1_trio_rate:.1%}); in the top-{s.scoring.top_k} list: {ev.found_in_list}")
    console.print(f"rank 1 by family kind: {ev.kinds_text()}")
    console.print(f"unrelated missing persons with a candidate of LR >= 10,000: {ev.unrelated_with_strong}")
    console.rule("5. reviewers' report")
    console.print(f"report: {record.report} (open it in a browser; no network needed)")
    console.print(f"demo finished in {time.perf_counter() - t0:.1f} s; candidate lists in {results}")


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="Run folder (candidates.parquet, per_locus.parquet, run.json).")],
    previous: Annotated[Optional[Path], typer.Option(help="Previous run folder, for what changed.")] = None,
    prior: Annotated[Optional[str], typer.Option(help="Prior for posteriors: one_over_families, fixed "
                                                 "(review.prior_value) or half (default: review.prior "
                                                 "of the settings).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """(Re)build the reviewers' report of a run: review.parquet/.csv and report.html."""
    from reunion import api

    console.print(f"report: {api.report(run, previous, config, overrides=set_, prior=prior).html}")


@app.command()
def calibrate(
    run: Annotated[Path, typer.Argument(help="Finished run folder (candidates, per_locus, run.json, tables/).")],
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Calibrate a run made without it (before calibration, or calibration.enabled false): how
    often an unrelated person (p_h2) or the true lost child (p_h1) would score as high against
    each candidate's family, exactly from its tables, and whom to sample next for the families
    of lowest power, under the calibration and sampling_advice settings (the run's own
    settings for everything else); writes RUN/calibration/."""
    from reunion.calibration import write_calibration

    require_file(run / "run.json", "run's run.json", "RUN")
    chosen = load_settings(config, set_)
    paths = write_calibration(run, chosen.calibration, chosen.sampling_advice)
    console.print(f"calibrated candidates: {paths['candidates']} (and .csv); families' power: "
                  f"{paths['families']}; chance-match thresholds: {paths['thresholds']}")


@app.command()
def lineage(
    out: Annotated[Path, typer.Option(help="Folder for lineage_men, lineage_groups (.parquet, .csv), "
                                      "lineage.md, lineage.json and rejects.csv.")],
    samples: Annotated[list[Path], typer.Option(help="The missing persons' samples file(s) "
                                                "(samples contract; role 'missing').")],
    genotypes: Annotated[list[Path], typer.Option(help="Their genotype file(s) with Y-STR rows "
                                                  "(other markers are set aside).")],
    ydb_samples: Annotated[Path, typer.Option(help="The Y database's men: sample_id and optional "
                                              "lineage, surname, region.")],
    ydb_genotypes: Annotated[list[Path], typer.Option(help="The Y database's Y genotypes "
                                                      "(genotypes layout; Y loci only).")],
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Lineage search: for every male missing person, the Y database men and lineages within
    lineage.max_steps repeat steps, ranked by the likelihood of a paternal relationship."""
    from reunion.lineage import run_lineage

    s = load_settings(config, set_)
    summary = run_lineage(samples, genotypes, ydb_samples, ydb_genotypes, _output(out), s.lineage)
    console.print(f"{summary.n_searched} male missing persons searched against "
                  f"{summary.n_database_men} men; {summary.n_with_men} have a man within "
                  f"{s.lineage.max_steps} steps ({summary.n_pairs} pairs) in "
                  f"{summary.seconds['total']:.1f} s; rejects: {summary.n_rejects} "
                  f"({summary.rejects_path}); report: {Path(summary.out) / 'lineage.md'}")


@app.command("simulate-lineages")
def simulate_lineages_cmd(
    out: Annotated[Path, typer.Option(help="Folder for samples.csv, genotypes.csv, y_samples.csv, "
                                      "y_genotypes.csv, truth.csv.")],
    lineages: Annotated[Optional[int], typer.Option(
        help="Paternal lineages [lineage_simulation.n_lineages].")] = None,
    missing: Annotated[Optional[int], typer.Option(
        help="Planted male missing persons [lineage_simulation.n_missing].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed [lineage_simulation.seed].")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Simulate paternal lineages, a Y village survey and male missing persons, with the
    ground truth (the lineage_simulation section; the options are shorthands for it)."""
    from reunion.simulate import simulate_lineages

    given = {"n_lineages": lineages, "n_missing": missing, "seed": seed}
    s = load_settings(config, [*(set_ or []), *(f"lineage_simulation.{k}={v}"
                                                for k, v in given.items() if v is not None)])
    summary = simulate_lineages(_output(out), s.lineage_simulation)
    console.print(f"simulated {summary.n_lineages} lineages ({summary.n_living} living men, "
                  f"{summary.n_database_men} in the Y survey), {summary.n_planted} planted and "
                  f"{summary.n_unrelated} unrelated male missing persons; files in {out}")


@app.command()
def score(
    ctx: typer.Context,
    profiles: Annotated[Path, typer.Option(help="Genotypes: sample_id,locus,allele1,allele2.")],
    pairs: Annotated[Path, typer.Option(help="Pairs: query_id,reference_id,relationship[,reference2_id] "
                                        "or query_id,relationship,members.")],
    out: Annotated[Path, typer.Option(help="Scores CSV to write.")],
    per_locus: Annotated[Optional[Path], typer.Option(help="Per-locus LR CSV to write.")] = None,
    frequencies: Annotated[Optional[Path], typer.Option(
        help="Frequencies: locus,allele,frequency[,population] (default: frequencies.table of the "
             "settings, or of the run).")] = None,
    run: Annotated[Optional[Path], typer.Option(
        help="Run folder: score with the configuration and allele list its run.json records, "
             "reproducing its LRs (instead of --config/--set).")] = None,
    samples: Annotated[Optional[Path], typer.Option(
        help="Samples file registering the families of family:FAMILY_ID pairs rows (relation codes "
             "or father_id/mother_id); their genotypes in --profiles.")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Re-score named pairs, trios and families exactly (reviewers' command), with per-locus LRs."""
    from reunion.errors import SettingsError
    from reunion.score import run_configuration, score_pairs

    if run is not None:
        given = getattr(ctx.get_parameter_source("config"), "name", "")   # typer vendors click's enum
        if set_ or given == "COMMANDLINE":
            raise SettingsError("--run takes the configuration the run recorded: drop --config and "
                                "--set, or drop --run to score with settings of your own")
        rc = run_configuration(run)
        counts = score_pairs(profiles, frequencies, pairs, out, per_locus, run=rc, samples=samples)
        used = f"the configuration of {rc.run_json}"
    else:
        counts = score_pairs(profiles, frequencies, pairs, out, per_locus, load_settings(config, set_),
                             samples=samples)
        used = f"{config}" + (f" with --set {' --set '.join(set_)}" if set_ else "")
    console.print(f"scored {counts['pairs']} pairs into {out}" +
                  (f" (per locus: {per_locus})" if per_locus else "") + f", with {used}")


@app.command()
def benchmark(
    out: Annotated[Path, typer.Option(help="Folder for capacity.json, capacity.md, capacity.png.")],
    sizes: Annotated[list[int], typer.Option("--size", help="Families per simulated database (repeatable).")] = [500, 2000],  # noqa: B006
    rerun_fraction: Annotated[float, typer.Option(help="New profiles added for the rerun timing.")] = 0.01,
    rerun_repeats: Annotated[int, typer.Option(min=0, max=20, help="Times the rerun is timed (median "
                                               "reported; 0: no rerun, only the full re-match).")] = 3,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Capacity benchmark: simulate databases of given sizes, re-match them, time each stage on
    one core, fit the capacity model and predict the run --set capacity.* describes; report."""
    from reunion.flows.benchmark import capacity_flow

    s = load_settings(config, set_)
    report = capacity_flow(sizes, _output(out), s, rerun_fraction, rerun_repeats=rerun_repeats)
    from reunion.flows.benchmark import capacity_markdown
    console.print(capacity_markdown(report))
    console.print(f"report: {out / 'capacity.md'}, {out / 'capacity.json'}, {out / 'capacity.png'}, "
                  f"{out / 'capacity-stages.png'}")


@app.command()
def serve(
    runs_root: Annotated[Path, typer.Option(
        help="Folder that receives one run folder per run; its current.json names the shard set "
             "each run re-matches (moved by every scheduled run and 'reunion rerun --runs-root').")],
    shards: Annotated[Optional[Path], typer.Option(
        help="Shards folder to re-match while the runs root has no current.json yet.")] = None,
    cron: Annotated[str, typer.Option(help="Cron schedule (UTC).")] = WEEKLY_CRON,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
) -> None:
    """Serve the scheduled national re-match (Prefect) until interrupted."""
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL

    from reunion.errors import InputError
    from reunion.flows.deploy import CURRENT, DEPLOYMENT, FLOW, deployment, next_runs, shard_set

    load_settings(config, set_)  # fail now, not at 02:00 on Sunday
    if shards is not None:
        require_file(shards / "manifest.json", "shard set's manifest.json (written by 'reunion ingest')",
                     "--shards")
    runs_root = runs_root.resolve()
    now, cur = shard_set(runs_root, shards.resolve() if shards else None)
    try:
        (due,) = next_runs(cron)
    except (ValueError, KeyError) as exc:
        raise InputError(f"--cron '{cron}': not a cron schedule ({exc}); e.g. '0 2 * * 0'") from None
    api = PREFECT_API_URL.value()
    console.print(f"scheduled re-match '{FLOW}/{DEPLOYMENT}', cron '{cron}' (UTC); next run due "
                  f"{due:%Y-%m-%d %H:%M} UTC; it re-matches {now}"
                  + (f" ({runs_root / CURRENT})" if cur else f" (until {runs_root / CURRENT} exists)"))
    console.print(f"see and trigger runs at {api.removesuffix('/api')} "
                  f"(prefect deployment run '{FLOW}/{DEPLOYMENT}')" if api else
                  "Prefect: a temporary server that lives as long as this command (its URL is logged "
                  "below; set PREFECT_API_URL to serve against a standing server); trigger a run with "
                  f"PREFECT_API_URL=<that URL>/api prefect deployment run '{FLOW}/{DEPLOYMENT}'")
    prefect_serve(deployment(str(config.resolve()), str(runs_root), str(shards.resolve()) if shards else None,
                             cron, set_))


@bench_app.command("kernel", add_help_option=False,
                   context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_kernel(ctx: typer.Context) -> None:
    """Time the screening kernel against a plain NumPy scorer of the same work (options: --help)."""
    from reunion.bench import main as bench_main

    raise typer.Exit(bench_main(ctx.args, prog="reunion bench kernel"))


@app.command("familias")
def familias(
    file: Annotated[Path, typer.Argument(help="Familias 3 case file (.fam).")],
    out: Annotated[Optional[Path], typer.Option(help="CSV: pedigree, log10_likelihood, log10_lr, lr.")] = None,
    reference: Annotated[Optional[str], typer.Option(
        help="Pedigree the LRs are against (default: the one in which the persons are unrelated, else the last).")
    ] = None,
) -> None:
    """Score every pedigree of a Familias .fam case with reunion's engine: log10 likelihood and LR."""
    from reunion.io.familias import read_fam, score_case

    _print_scores(score_case(read_fam(file), reference), out)


def _print_scores(scores, out: Optional[Path]) -> None:
    """The ``pedigree, log10_likelihood, log10_lr, lr`` table of a case's pedigrees (and ``out``)."""
    import pyarrow as pa

    from reunion.io.atomic import write_table

    if out is not None:
        write_table(pa.table({"pedigree": [s.pedigree for s in scores],
                              "log10_likelihood": [s.log10_likelihood for s in scores],
                              "log10_lr": [s.log10_lr for s in scores], "lr": [s.lr for s in scores]}), out)
    table = Table("pedigree", "log10 likelihood", "log10 LR", "LR")
    for s in scores:
        table.add_row(s.pedigree, f"{s.log10_likelihood:.6f}", f"{s.log10_lr:.6f}", f"{s.lr:.6g}")
    console.print(table)
    if out is not None:
        console.print(f"wrote {out}")


@app.command("pedsuite")
def pedsuite(
    folder: Annotated[Path, typer.Argument(help="Folder of H1.ped, H2.ped, frequencies.txt, mutation.tsv "
                                           "(as export-case --format ped writes it).")],
    out: Annotated[Optional[Path], typer.Option(help="CSV: pedigree, log10_likelihood, log10_lr, lr.")] = None,
) -> None:
    """Score the two hypotheses of a pedsuite (pedtools) case folder with reunion's engine: H1 against H2."""
    from reunion.io.familias import score_case
    from reunion.io.ped import read_case_folder

    _print_scores(score_case(read_case_folder(folder), "H2"), out)


@app.command("export-case")
def export_case_cmd(
    run: Annotated[Path, typer.Argument(help="Run folder (run.json, candidates.parquet).")],
    missing_id: Annotated[str, typer.Argument(help="The missing person's sample id.")],
    family_id: Annotated[str, typer.Argument(help="The candidate family.")],
    out: Annotated[Path, typer.Option(help="File to write (.fam), or with --format ped the folder.")],
    format_: Annotated[str, typer.Option("--format", help="familias: a Familias 3 .fam case; ped: a folder "
                                         "for the R pedsuite (H1.ped, H2.ped, frequencies.txt, mutation.tsv, "
                                         "reproduce.R for forrel::kinshipLR).")] = "familias",
) -> None:
    """Write a candidate's pedigree, genotypes, frequencies and mutation model as a Familias case
    or for the R pedsuite (pedtools / forrel)."""
    from reunion.io.familias import export_case

    path = export_case(run, missing_id, family_id, out, format_)
    console.print(f"wrote {path}: H1 (the family with {missing_id} as its lost child) and H2 (unrelated)")


if __name__ == "__main__":  # pragma: no cover
    app()
