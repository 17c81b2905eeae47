"""PostgreSQL as the source (reunion/io/postgres.py), against a real server.

Set-up: a private cluster is made with the server's own initdb in a temporary folder
(owned by the ``postgres`` user, or ``nobody``, when the tests run as root, since initdb
refuses root), started with pg_ctl bound to 127.0.0.1 on a free port (its Unix socket in the
same folder), password authentication (scram-sha-256) over TCP, and stopped and removed at
the end. The tables are loaded from a simulated database's CSV files (``reunion simulate``)
with ADBC's bulk ingest, plus a ``line`` column holding each row's CSV line (counted here
from the file's text), so that the rows read from PostgreSQL can be compared with the rows
the CSV readers give for the same files: same accepted rows, same rejects. Skipped, with the
reason, only when no PostgreSQL server binary exists.
"""

from __future__ import annotations

import csv
import glob
import logging
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest

from reunion.errors import InputError
from reunion.io.readers import read_genotypes, read_samples

PASSWORD = "s3cret-Pw_42"
USER = "reunion"


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(d, "initdb").exists() and Path(d, "pg_ctl").exists():
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """(url without password, port, folder) of a private PostgreSQL server, stopped afterwards."""
    pytest.importorskip("adbc_driver_postgresql")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binary (initdb, pg_ctl) on this machine: install Debian's "
                    "postgresql package to run the PostgreSQL source tests")
    folder = Path(tempfile.mkdtemp(prefix="reunion-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        owner = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if owner is None:
            pytest.skip("running as root without a 'postgres' or 'nobody' user for initdb")
        os.chown(folder, pwd.getpwnam(owner).pw_uid, pwd.getpwnam(owner).pw_gid)
        prefix = ["runuser", "-u", owner, "--"]
    folder.chmod(0o700)
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if prefix:
        shutil.chown(pwfile, prefix[2])
    data = folder / "data"
    port = _free_port()
    run = lambda *cmd: subprocess.run(prefix + [str(c) for c in cmd], check=True,
                                      capture_output=True, text=True, timeout=120)
    try:
        run(bindir / "initdb", "-D", data, "-U", USER, "--pwfile", pwfile, "--auth-host=scram-sha-256",
            "--auth-local=trust", "-E", "UTF8", "--locale=C")
        run(bindir / "pg_ctl", "-D", data, "-l", folder / "log", "-w", "-t", "60", "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc.stdout}")
    pwfile.unlink()
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres", port, folder
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=120, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _url(server, password: bool = True) -> str:
    base, port, _ = server
    return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres" if password else base


def _csv_table(path: Path) -> pa.Table:
    """A CSV file's rows as strings, with 'line' = each row's line in the file (header = 1)."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    cols = {h: [r[i] for r in body] for i, h in enumerate(header)}
    cols["line"] = list(range(2, len(body) + 2))   # the simulated files: one row per line
    return pa.table(cols)


@pytest.fixture(scope="module")
def db(server, small_db):
    """The simulated database loaded into tables samples, genotypes (and a renamed view)."""
    import adbc_driver_postgresql.dbapi as pg
    samples = _csv_table(small_db / "samples.csv")
    samples = samples.set_column(samples.schema.get_field_index("collected_on"), "collected_on",
                                 samples.column("collected_on").cast(pa.date32()))
    genotypes = _csv_table(small_db / "genotypes.csv")
    with pg.connect(_url(server)) as conn, conn.cursor() as cur:
        cur.adbc_ingest("samples", samples, mode="replace")
        cur.adbc_ingest("genotypes", genotypes, mode="replace")
        cur.execute("CREATE VIEW lab_samples AS SELECT sample_id AS barcode, role, family_id AS case_no, "
                    "relation, sex, collected_on FROM samples")
        cur.fetchall() if cur.description else None
        conn.commit()
    return small_db


@pytest.fixture(scope="module")
def normalise(asian_table):
    from reunion.loci import LocusNormaliser
    return LocusNormaliser(asian_table.locus_names)


def _settings(**kw):
    from reunion.settings import SourceSettings
    return SourceSettings(**kw)


def _same(a, b) -> None:
    """Same accepted rows (and lines) and the same rejects, whatever the file's name."""
    assert a.table.equals(b.table)
    assert a.n_read == b.n_read and list(a.lines) == list(b.lines)
    assert [(r.row, r.field, r.reason) for r in a.rejects] == [(r.row, r.field, r.reason) for r in b.rejects]
    assert getattr(a, "skipped", {}) == getattr(b, "skipped", {})


# --------------------------------------------------------------------------- same rows as the CSV readers

def test_source_reads_what_the_csv_readers_read(db, server, normalise, asian_table):
    from reunion.io.postgres import read_source
    s_csv = read_samples(db / "samples.csv")
    roles = dict(zip(s_csv.table.column("sample_id").to_pylist(), s_csv.table.column("role").to_pylist()))
    sexes = {k: v for k, v in zip(s_csv.table.column("sample_id").to_pylist(),
                                  s_csv.table.column("sex").to_pylist()) if v}
    g_csv = read_genotypes(db / "genotypes.csv", normalise, roles, sexes)

    src = read_source(_url(server), _settings(samples_row_column="line", genotypes_row_column="line"),
                      normalise)
    _same(src.samples, s_csv)
    _same(src.genotypes, g_csv)
    # counted independently: the files' data rows, and the simulation's corrupt rows rejected
    n_samples = len((db / "samples.csv").read_text().splitlines()) - 1
    n_genotypes = len((db / "genotypes.csv").read_text().splitlines()) - 1
    assert src.samples.n_read == n_samples and src.genotypes.n_read == n_genotypes
    corrupt, seen = set(), set()   # the simulation's corrupt rows, found in the file's text
    with open(db / "genotypes.csv", newline="") as fh:
        for line, r in enumerate(csv.DictReader(fh), start=2):
            key = (r["sample_id"], r["locus"])
            if r["locus"] not in asian_table.locus_names or "OL" in (r["allele1"], r["allele2"]) \
                    or key in seen:
                corrupt.add(line)
            seen.add(key)
    assert len(corrupt) == 4 and corrupt == {r.row for r in src.genotypes.rejects}
    assert src.genotypes.n_read == (src.genotypes.n_accepted + len(src.genotypes.rejects)
                                    + sum(getattr(src.genotypes, "skipped", {}).values()))
    assert src.samples_label.endswith("table samples") and PASSWORD not in src.samples_label
    assert {r.file for r in src.genotypes.rejects} == {src.genotypes_label}
    assert len(src.samples_sha256) == len(src.genotypes_sha256) == 64


def test_default_order_same_rows_numbered_in_order(db, server, normalise):
    """Without a row column: ordered by sample id (and locus), numbered 1, 2, ...; same rows."""
    from reunion.io.postgres import read_source
    src = read_source(_url(server), _settings(), normalise)
    s_csv = read_samples(db / "samples.csv")
    assert src.samples.n_read == s_csv.n_read and src.samples.n_accepted == s_csv.n_accepted
    assert src.samples.table.sort_by("sample_id").equals(s_csv.table.sort_by("sample_id"))
    assert list(src.samples.lines) == list(range(1, src.samples.n_read + 1))
    g = src.genotypes
    assert g.table.column("sample_id").to_pylist() == sorted(g.table.column("sample_id").to_pylist())
    assert len(g.rejects) == 4   # the simulation's corrupt rows, wherever they sort


def test_a_view_with_other_column_names(db, server, normalise):
    from reunion.io.postgres import PostgresSource
    s = _settings(samples_table="public.lab_samples",
                  samples_columns={"sample_id": "barcode", "family_id": "case_no"})
    with PostgresSource(_url(server), s) as src:
        res = src.read_samples()
    s_csv = read_samples(db / "samples.csv")
    keep = ["sample_id", "role", "family_id", "relation", "sex", "collected_on"]
    assert res.table.sort_by("sample_id").select(keep).equals(s_csv.table.sort_by("sample_id").select(keep))
    assert res.table.column("kit").null_count == res.table.num_rows   # not in the view: empty


# --------------------------------------------------------------------------- watermark

def test_since_selects_only_later_collections(db, server, normalise):
    from reunion.io.postgres import read_source
    since = "2022-06-30"
    with open(db / "samples.csv", newline="") as fh:
        later = {r["sample_id"] for r in csv.DictReader(fh) if r["collected_on"] > since}
    with open(db / "genotypes.csv", newline="") as fh:
        later_rows = sum(1 for r in csv.DictReader(fh) if r["sample_id"] in later)
    assert 0 < len(later) < 240
    src = read_source(_url(server), _settings(since=since), normalise)
    assert src.samples.n_read == len(later)
    assert set(src.samples.table.column("sample_id").to_pylist()) <= later
    assert src.genotypes.n_read == later_rows
    assert set(src.genotypes.table.column("sample_id").to_pylist()) <= later
    # a date-time works as well, and nothing is later than the last collection
    last = max(read_samples(db / "samples.csv").table.column("collected_on").to_pylist())
    none = read_source(_url(server), _settings(since=f"{last}T00:00:00"), normalise)
    assert none.samples.n_read == 0 and none.genotypes.n_read == 0


def test_since_on_a_genotypes_column(db, server, normalise):
    """A genotypes table with its own watermark (here the line column: rows after line 3000)."""
    import adbc_driver_postgresql.dbapi as pg

    from reunion.io.postgres import PostgresSource
    with pg.connect(_url(server)) as conn, conn.cursor() as cur:
        cur.execute("CREATE OR REPLACE VIEW genotypes_typed AS SELECT *, "
                    "(DATE '2020-01-01' + CAST(line AS integer)) AS typed_on FROM genotypes")
        conn.commit()
    n_total = len((db / "genotypes.csv").read_text().splitlines()) - 1
    s = _settings(genotypes_table="genotypes_typed", genotypes_watermark_column="typed_on",
                  since="2028-03-19")   # 2020-01-01 + 3000 days: lines 3001 .. last
    with PostgresSource(_url(server), s) as src:
        g = src.read_genotypes(normalise)
    assert g.n_read == n_total + 1 - 3000


# --------------------------------------------------------------------------- credentials

def test_credentials_from_environment_and_file(db, server, normalise, monkeypatch, tmp_path):
    from reunion.io.postgres import PostgresSource
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with PostgresSource(_url(server, password=False), _settings()) as src:
        assert src.read_samples().n_read > 0
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))   # no ~/.pgpass of this machine
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    with PostgresSource(_url(server, password=False), _settings(password_file=pw)) as src:
        assert src.read_samples().n_read > 0
    with pytest.raises(InputError) as exc, PostgresSource(_url(server, password=False), _settings()):
        pass
    assert "cannot connect" in str(exc.value) and "\n" not in str(exc.value)


def test_wrong_password_and_errors_never_show_the_password(db, server, normalise, caplog):
    from reunion.io.postgres import PostgresSource, read_source
    _, port, _ = server
    wrong = f"postgresql://{USER}:not-{PASSWORD}@127.0.0.1:{port}/postgres"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InputError) as exc, PostgresSource(wrong, _settings()):
        pass
    msg = str(exc.value)
    assert "\n" not in msg and PASSWORD not in msg and f"{USER}:***@127.0.0.1" in msg
    with pytest.raises(InputError) as exc:
        read_source(_url(server), _settings(samples_table="no_such_table"), normalise)
    msg = str(exc.value)
    assert "table no_such_table does not exist" in msg and PASSWORD not in msg and "***" in msg
    read_source(_url(server), _settings(), normalise)
    assert PASSWORD not in caplog.text
    assert "rows read" in caplog.text                                 # counts are logged,
    assert not re.search(r"\b[RM]\d{6}\b", caplog.text)              # never a sample or genotype


def test_missing_column_names_table_and_column(db, server, normalise):
    from reunion.io.postgres import read_source
    with pytest.raises(InputError, match=r"table genotypes: no column 'marker' for the locus field; "
                                         r"add it, or map the field with source\.genotypes_columns"):
        read_source(_url(server), _settings(genotypes_columns={"locus": "marker"}), normalise)
    with pytest.raises(InputError, match=r"table samples: no column 'entered' for the watermark"):
        read_source(_url(server), _settings(since="2022-01-01", watermark_column="entered"), normalise)
    with pytest.raises(InputError, match=r"column sex: source\.samples_row_column must be an integer"):
        read_source(_url(server), _settings(samples_row_column="sex"), normalise)


def test_connection_refused_is_one_line():
    pytest.importorskip("adbc_driver_postgresql")
    from reunion.io.postgres import PostgresSource
    port = _free_port()   # nothing listens there
    with pytest.raises(InputError) as exc, PostgresSource(f"postgresql://u:{PASSWORD}@127.0.0.1:{port}/db",
                                                          _settings()):
        pass
    msg = str(exc.value)
    assert msg.startswith(f"postgresql://u:***@127.0.0.1:{port}/db: cannot connect to PostgreSQL")
    assert "\n" not in msg and PASSWORD not in msg


def test_settings_are_checked():
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="not an ISO date"):
        _settings(since="last tuesday")
    import datetime as dt
    assert _settings(since=dt.date(2024, 3, 1)).since == "2024-03-01"    # as YAML / --set give it
    with pytest.raises(ValidationError, match="unknown field"):
        _settings(genotypes_columns={"allele": "a1"})
    from reunion.io.postgres import redact, split_password
    from reunion.settings import SourceSettings
    assert set(SourceSettings.AFFECTS) == set(SourceSettings.model_fields)
    assert redact("postgresql://a:b%40c@h:1/d?sslmode=require&password=x") == \
        "postgresql://a:***@h:1/d?sslmode=require&password=***"
    assert split_password("postgresql://a:p%40ss@h:1/d") == ("postgresql://a@h:1/d", "p@ss")
    assert split_password("postgresql://a@h/d") == ("postgresql://a@h/d", None)
    with pytest.raises(InputError, match="not a PostgreSQL URL"):
        from reunion.io.postgres import PostgresSource
        PostgresSource("mysql://u:p@h/d")


# --------------------------------------------------------------------------- rerun --source: the watermark

CUT = "2022-06-30"


def _collected(db: Path) -> dict[str, str]:
    """sample_id -> collected_on of the simulated samples file (the CSV, not the server)."""
    with open(db / "samples.csv", newline="") as fh:
        return {r["sample_id"]: r["collected_on"] for r in csv.DictReader(fh) if r["collected_on"]}


def _nightly(server, name: str, where: str) -> None:
    """Tables {name}_samples / {name}_genotypes: the samples ``where`` selects and their genotype
    rows (created, or the rows added when they exist), as a registry fills night after night."""
    import adbc_driver_postgresql.dbapi as pg
    with pg.connect(_url(server)) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT to_regclass('{name}_samples') IS NOT NULL")
        exists = cur.fetchone()[0]
        pick = f"SELECT * FROM samples WHERE {where}"
        geno = f"SELECT * FROM genotypes WHERE sample_id IN (SELECT sample_id FROM samples WHERE {where})"
        if exists:
            cur.execute(f"INSERT INTO {name}_samples {pick}")
            cur.execute(f"INSERT INTO {name}_genotypes {geno}")
        else:
            cur.execute(f"CREATE TABLE {name}_samples AS {pick}")
            cur.execute(f"CREATE TABLE {name}_genotypes AS {geno}")
        conn.commit()


def _sets(name: str, *extra: str) -> list[str]:
    return [x for o in [f"source.samples_table={name}_samples", f"source.genotypes_table={name}_genotypes",
                        "source.samples_row_column=line", "source.genotypes_row_column=line", *extra]
            for x in ("--set", o)]


def test_ingest_records_the_watermark_in_the_manifest(db, server, settings, tmp_path):
    """The manifest's samples input holds the latest collected_on read (worked out from the CSV)."""
    from reunion.contracts.records import Manifest
    from reunion.ingest import ingest
    from reunion.io.postgres import is_source_label, standing_watermark

    _nightly(server, "wm", f"collected_on <= DATE '{CUT}'")
    s = settings.model_copy(update={"source": _settings(samples_table="wm_samples", genotypes_table="wm_genotypes")})
    ingest([], [], tmp_path, s, source=_url(server))
    m = Manifest.load(tmp_path / "manifest.json")
    samples, genos = m.inputs
    expect = max(v for v in _collected(db).values() if v <= CUT)
    assert samples.watermark.column == "collected_on" and samples.watermark.value == expect
    assert genos.watermark is None          # genotypes follow their samples: no column of their own
    assert is_source_label(samples.path) and not is_source_label(str(db / "samples.csv"))
    assert PASSWORD not in samples.path
    assert standing_watermark(m, samples.path, s.source) == expect
    assert standing_watermark(m, samples.path, _settings(watermark_column="entered")) is None


def test_source_batch_needs_a_standing_watermark(db, server, settings, tmp_path):
    """A standing run without a watermark of the table, or with file inputs, is refused in one line."""
    from reunion.io.postgres import since_standing_run
    from reunion.ingest import ingest, load_manifest

    files = tmp_path / "files"
    ingest(db / "samples.csv", [db / "genotypes.csv"], files, settings)
    with pytest.raises(InputError, match=r"the standing run read files \(samples.csv\); rerun --source "
                                         r"extends a run ingested from the source"):
        since_standing_run(load_manifest(files), files, _url(server), settings)
    _nightly(server, "nowm", f"collected_on <= DATE '{CUT}'")
    src = tmp_path / "src"
    s = settings.model_copy(update={"source": _settings(samples_table="nowm_samples",
                                                        genotypes_table="nowm_genotypes")})
    ingest([], [], src, s, source=_url(server))
    other = s.model_copy(update={"source": s.source.model_copy(update={"samples_table": "elsewhere"})})
    with pytest.raises(InputError, match=r"records no watermark \(collected_on\) of postgresql://reunion:\*\*\*"
                                         r"@.* table elsewhere; give --since"):
        since_standing_run(load_manifest(src), src, _url(server), other)
    assert since_standing_run(load_manifest(src), src, _url(server), s).source.since == \
        max(v for v in _collected(db).values() if v <= CUT)


@pytest.mark.slow
def test_rerun_source_reads_only_the_new_collections(db, server, settings, tmp_path, monkeypatch):
    """ingest --source (collections up to CUT), rematch; the later collections arrive in the
    tables; ``rerun --source`` reads only those (counted from the CSV) and gives the candidates
    of a full ingest --source + rematch of the filled tables; a second rerun reads nothing new."""
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from reunion.cli import app
    from reunion.contracts.records import Manifest

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    url = _url(server, password=False)
    run = lambda *a: CliRunner().invoke(app, [str(x) for x in a])
    cluster = ["--set", "cluster.kind=local-threads"]
    _nightly(server, "night", f"collected_on <= DATE '{CUT}'")
    res = run("ingest", "--source", url, "--out", tmp_path / "s0", *_sets("night"))
    assert res.exit_code == 0, res.output
    res = run("rematch", "--shards", tmp_path / "s0", "--out", tmp_path / "r0", *_sets("night"), *cluster)
    assert res.exit_code == 0, res.output

    _nightly(server, "night", f"collected_on > DATE '{CUT}'")
    res = run("rerun", "--source", url, "--base", tmp_path / "r0", "--out", tmp_path / "r1", *_sets("night"),
              *cluster)
    assert res.exit_code == 0, res.output
    assert "mode: incremental" in res.output
    m = Manifest.load(tmp_path / "r1" / "shards" / "manifest.json")
    collected = _collected(db)
    later = [k for k, v in collected.items() if v > CUT]
    assert 0 < len(later) < len(collected)
    new = [i for i in m.inputs[2:] if i.kind == "samples"]
    assert len(new) == 1 and new[0].read == len(later) and new[0].watermark.value == max(collected.values())

    # the same candidates as a full ingest + rematch of the filled tables
    res = run("ingest", "--source", url, "--out", tmp_path / "sf", *_sets("night"))
    assert res.exit_code == 0, res.output
    res = run("rematch", "--shards", tmp_path / "sf", "--out", tmp_path / "rf", *_sets("night"), *cluster)
    assert res.exit_code == 0, res.output
    key = lambda t: sorted(zip(t["missing_id"], t["family_id"], t["hypothesis"], t["log10_lr"]))
    got = key(pq.read_table(tmp_path / "r1" / "candidates.parquet").to_pydict())
    want = key(pq.read_table(tmp_path / "rf" / "candidates.parquet").to_pydict())
    assert [g[:3] for g in got] == [w[:3] for w in want] and len(got) > 0
    assert all(abs(g[3] - w[3]) <= 1e-9 for g, w in zip(got, want))

    # the next night: nothing collected after the new watermark
    res = run("rerun", "--source", url, "--base", tmp_path / "r1", "--out", tmp_path / "r2", *_sets("night"),
              *cluster)
    assert res.exit_code == 0 and "Traceback" not in res.output and "error" not in res.output
    assert "nothing new: no rows were read" in " ".join(res.output.split())
    assert not (tmp_path / "r2").exists()                  # nothing written
    res = run("rerun", "--base", tmp_path / "r1", "--out", tmp_path / "r3")
    assert res.exit_code == 2 and "give the new batch with --new FILE" in " ".join(res.output.split())
