"""Folder locks (reunion/io/locks.py): two processes at once, a killed holder, shared readers."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reunion.errors import SettingsError, UserError
from reunion.io import locks
from reunion.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

HOLD = """
import pathlib, sys, time
from reunion.io import locks
folder, what, ready, shared = sys.argv[1:5]
with locks.folder_lock(folder, what, 0, shared=shared == "shared"):
    pathlib.Path(ready).write_text("held")
    time.sleep(600)
"""

COUNT = """
import os, pathlib, sys, time
from reunion.io import locks
folder, go, log = sys.argv[1:4]
while not os.path.exists(go):
    time.sleep(0.005)
with locks.folder_lock(folder, "counting", None):
    p = pathlib.Path(folder) / "counter"
    n = int(p.read_text()) if p.exists() else 0
    with open(log, "a") as f:
        f.write(f"enter {os.getpid()}\\n")
    time.sleep(0.3)
    with open(log, "a") as f:
        f.write(f"leave {os.getpid()}\\n")
    p.write_text(str(n + 1))
"""


def _python(code: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def hold(folder: Path, ready: Path, what: str = "test-holder", shared: bool = False) -> subprocess.Popen:
    """A process holding ``folder``'s lock until killed (returned once it holds it)."""
    p = _python(HOLD, folder, what, ready, "shared" if shared else "exclusive")
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert p.poll() is None, p.communicate()
        assert time.monotonic() < deadline, "the holder never took the lock"
        time.sleep(0.02)
    return p


def kill(p: subprocess.Popen) -> None:
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL


def test_two_processes_started_at_once_take_turns(tmp_path):
    folder, go, log = tmp_path / "shards", tmp_path / "go", tmp_path / "log"
    folder.mkdir()
    procs = [_python(COUNT, folder, go, log) for _ in range(2)]
    time.sleep(0.5)                        # both started and polling for the go file
    go.write_text("go")
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    # each read the other's count: without the lock both read 0 and the count ends at 1
    assert (folder / "counter").read_text() == "2"
    lines = log.read_text().split()
    events = list(zip(lines[::2], lines[1::2]))          # (enter|leave, pid)
    assert [e for e, _ in events] == ["enter", "leave", "enter", "leave"]
    assert events[0][1] == events[1][1] != events[2][1] == events[3][1]   # never interleaved
    assert {int(pid) for _, pid in events} == {p.pid for p in procs}


def test_a_busy_folder_is_refused_in_one_line_and_a_killed_holder_blocks_nothing(tmp_path):
    folder = tmp_path / "run"
    holder = hold(folder, tmp_path / "ready")
    try:
        with pytest.raises(locks.FolderBusy) as exc, locks.folder_lock(folder, "second", 0):
            pytest.fail("entered a folder another process holds")
        msg = str(exc.value)
        assert isinstance(exc.value, UserError) and "\n" not in msg
        assert re.fullmatch(
            re.escape(f"{folder}: in use by test-holder (pid {holder.pid} on {socket.gethostname()}, since ")
            + r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"
            + re.escape("); waited 0 s. Either let it finish, or wait for it with --set "
                        "runs.lock_wait_seconds=SECONDS"), msg), msg
    finally:
        kill(holder)                        # SIGKILL: no clean-up ran in the holder
    assert locks.lock_path(folder).exists()                  # its lock file stays behind ...
    with locks.folder_lock(folder, "next", 0) as path:       # ... and blocks nothing
        assert locks.holder(path)["pid"] == os.getpid()
        assert locks.holder(path)["what"] == "next"


def test_a_bounded_wait_takes_the_lock_when_the_holder_goes(tmp_path):
    folder = tmp_path / "run"
    holder = hold(folder, tmp_path / "ready")
    killer = subprocess.Popen([sys.executable, "-c",
                               f"import os, signal, time; time.sleep(1); os.kill({holder.pid}, signal.SIGKILL)"])
    with locks.folder_lock(folder, "waiting", 300):
        # entered only once the holder is gone
        assert holder.wait(timeout=1) == -signal.SIGKILL
    killer.wait(timeout=60)


def test_readers_share_the_lock_and_exclude_a_writer(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    reader = hold(folder, tmp_path / "ready", "reading", shared=True)
    try:
        with locks.folder_lock(folder, "another reader", 0, shared=True):
            pass                            # a second reader enters
        with pytest.raises(locks.FolderBusy, match="in use by another run; waited 0 s"):
            with locks.folder_lock(folder, "writer", 0):
                pass                        # a writer does not (readers leave no record)
    finally:
        kill(reader)
    with locks.folder_lock(folder, "writer", 0):
        pass


def test_the_lock_is_reentrant_in_a_process_and_creates_no_folder(tmp_path):
    folder = tmp_path / "run"
    with locks.folder_lock(folder, "outer", 0):
        with locks.folder_lock(folder, "inner", 0):          # a rerun's full re-match, say
            assert locks.holder(locks.lock_path(folder))["what"] == "outer"
    assert not folder.exists()                               # a refused run leaves nothing behind
    assert locks.lock_path(folder) == tmp_path / ".locks" / "run.lock"
    with locks.folder_lock(tmp_path / "missing", "reader", 0, shared=True):
        pass                                                 # nothing to read: not locked
    assert not (tmp_path / ".locks" / "missing.lock").exists()


def test_holding_locks_the_named_arguments_unless_told_not_to(tmp_path, settings):
    seen = []

    @locks.holding(writes="out", reads="src", when="claim", what="demo-run")
    def run(src: Path, out: Path, settings, claim: bool = True) -> str:
        seen.append(locks.holder(locks.lock_path(out)).get("what"))
        return "done"

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    assert run(src, out, settings) == "done" and seen == ["demo-run"]
    holder = hold(out, tmp_path / "ready", "scheduled")
    try:
        with pytest.raises(locks.FolderBusy, match=r"out: in use by scheduled \(pid "):
            run(src, out, settings)
        assert run(src, out, settings, claim=False) == "done"       # the caller holds the lock
        assert seen == ["demo-run", "scheduled"]
    finally:
        kill(holder)
    writer = hold(src, tmp_path / "ready2", "ingest")
    try:
        with pytest.raises(locks.FolderBusy, match=r"src: in use by ingest .*Either let the writer finish"):
            run(src, out, settings)                                  # its input is being written
    finally:
        kill(writer)


def test_the_wait_is_a_bounded_setting():
    assert load_settings(None, ["runs.lock_wait_seconds=30"]).runs.lock_wait_seconds == 30
    with pytest.raises(SettingsError, match=r"runs.lock_wait_seconds = -1: Input should be greater"):
        load_settings(None, ["runs.lock_wait_seconds=-1"])
    with pytest.raises(SettingsError, match=r"runs.lock_wait_seconds = 1000000: Input should be less"):
        load_settings(None, ["runs.lock_wait_seconds=1000000"])


def test_ingest_into_a_shard_set_being_written_is_refused_and_writes_nothing(small_db, settings, tmp_path):
    from reunion.ingest import ingest

    shards = tmp_path / "shards"
    holder = hold(shards, tmp_path / "ready", "append")
    try:
        with pytest.raises(locks.FolderBusy, match=rf"^{re.escape(str(shards))}: in use by append \(pid "
                                                   rf"{holder.pid} .*choose another --out"):
            ingest([small_db / "samples.csv"], [small_db / "genotypes.csv"], shards, settings)
        assert not shards.exists()
    finally:
        kill(holder)
    summary = ingest([small_db / "samples.csv"], [small_db / "genotypes.csv"], shards, settings)
    assert summary.manifest_path == shards / "manifest.json" and summary.manifest_path.exists()
