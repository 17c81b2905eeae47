"""Read rate of the ingest inputs: PostgreSQL (reunion.io.postgres) against CSV, same data.

    python benchmarks/ingest_sources.py [--families 10000] [--unrelated 5000] [--url postgresql://...]
        [--machine cpu-2core] [--result benchmarks/results/ingest-sources-cpu-2core-DATE.json]

Simulates a database (reunion simulate), loads its samples.csv and genotypes.csv into
PostgreSQL tables (ADBC bulk ingest; not timed), then times, best of ``--repeat``:

- csv: ``read_samples`` + ``read_genotypes`` on the two files;
- postgresql: ``read_source`` on the two tables (ordered by sample id and locus, the
  default), and again with a row column (``line``) ordering and numbering the rows.

Each is the full validated read (rows become contract tables and rejects), as ingest
does it. Prints one JSON object: rows read, seconds and rows/s per source. Without
``--url`` a private server is started (initdb into a temporary folder, 127.0.0.1 on a free
port; as root through ``runuser -u postgres``) and removed afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import glob
import json
import os
import platform
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa


@contextlib.contextmanager
def private_server():
    """URL of a throw-away PostgreSQL server (trust authentication on 127.0.0.1)."""
    found = shutil.which("initdb")
    bindir = Path(os.path.realpath(found)).parent if found else next(
        (Path(d) for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), None)
    if bindir is None:
        raise SystemExit("no PostgreSQL server binary (initdb); install postgresql or give --url")
    folder = Path(tempfile.mkdtemp(prefix="reunion-pg-bench-"))
    prefix = []
    if os.geteuid() == 0:
        owner = "postgres" if _user("postgres") else "nobody"
        os.chown(folder, pwd.getpwnam(owner).pw_uid, pwd.getpwnam(owner).pw_gid)
        prefix = ["runuser", "-u", owner, "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = folder / "data"
    run = lambda *c: subprocess.run(prefix + [str(x) for x in c], check=True, capture_output=True)
    try:
        run(bindir / "initdb", "-D", data, "-U", "bench", "-A", "trust", "-E", "UTF8", "--locale=C")
        run(bindir / "pg_ctl", "-D", data, "-l", folder / "log", "-w", "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
        yield f"postgresql://bench@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _csv_table(path: Path) -> pa.Table:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    cols = {h: [r[i] for r in rows[1:]] for i, h in enumerate(rows[0])}
    cols["line"] = list(range(2, len(rows) + 1))
    return pa.table(cols)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", type=int, default=10_000)
    ap.add_argument("--unrelated", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--url", help="an existing server (its tables samples/genotypes are replaced)")
    ap.add_argument("--out", type=Path, help="folder for the simulated files (default: temporary)")
    ap.add_argument("--machine", default="unnamed", help="name of the machine, recorded in the result "
                    "(cpu-2core: the shared 2-core box)")
    ap.add_argument("--result", type=Path, help="also write the JSON object to this file")
    args = ap.parse_args()

    import adbc_driver_postgresql.dbapi as pg

    from reunion.frequencies import load_frequency_table
    from reunion.io.postgres import read_source
    from reunion.settings import SourceSettings
    from reunion.io.readers import read_genotypes, read_samples
    from reunion.loci import LocusNormaliser
    from reunion.settings import load_settings
    from reunion.simulate import SimulationSettings, simulate_database

    s = load_settings(None)
    table = load_frequency_table(s.frequencies.table, s.frequencies.population)
    normalise = LocusNormaliser(table.locus_names)
    with contextlib.ExitStack() as stack:
        out = args.out or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        simulate_database(out, table, SimulationSettings(n_families=args.families,
                                                         n_unrelated_missing=args.unrelated,
                                                         corrupt_rows=20, seed=args.seed))
        url = args.url or stack.enter_context(private_server())
        t0 = time.perf_counter()
        with pg.connect(url) as conn, conn.cursor() as cur:
            cur.adbc_ingest("samples", _csv_table(out / "samples.csv"), mode="replace")
            cur.adbc_ingest("genotypes", _csv_table(out / "genotypes.csv"), mode="replace")
            conn.commit()
        load_s = time.perf_counter() - t0

        def from_csv():
            smp = read_samples(out / "samples.csv")
            roles = dict(zip(smp.table.column("sample_id").to_pylist(), smp.table.column("role").to_pylist()))
            return smp, read_genotypes(out / "genotypes.csv", normalise, roles)

        def from_pg(**kw):
            r = read_source(url, SourceSettings(**kw), normalise)
            return r.samples, r.genotypes

        results = {}
        for name, fn in (("csv", from_csv), ("postgresql", from_pg),
                         ("postgresql_row_column", lambda: from_pg(samples_row_column="line",
                                                                   genotypes_row_column="line"))):
            secs, (smp, gen) = _best(fn, args.repeat)
            rows = smp.n_read + gen.n_read
            results[name] = {"rows_read": rows, "samples_rows": smp.n_read, "genotype_rows": gen.n_read,
                             "accepted": smp.n_accepted + gen.n_accepted,
                             "rejected": len(smp.rejects) + len(gen.rejects),
                             "seconds": round(secs, 3), "rows_per_s": round(rows / secs)}
        results["postgresql_vs_csv"] = round(results["postgresql"]["rows_per_s"] / results["csv"]["rows_per_s"], 3)
        results["load_into_postgresql_s"] = round(load_s, 3)
        results["machine"] = {"name": args.machine, "cpus": os.cpu_count(), "python": platform.python_version(),
                              "families": args.families, "unrelated": args.unrelated}
        text = json.dumps(results, indent=2)
        print(text)
        if args.result:
            args.result.parent.mkdir(parents=True, exist_ok=True)
            args.result.write_text(text + "\n")


if __name__ == "__main__":
    main()
