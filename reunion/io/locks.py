"""Locks on the folders that runs write and read: the one home of "one writer at a time".

A scheduled re-match and an on-demand rerun may overlap. Two runs writing the same run
folder, or the same shard set, at once would mix their files; so every writer holds the
folder's lock while it writes, and a run that reads a shard set holds it shared (any number
of readers, no writer):

    run folder (rematch --out, rerun --out)    exclusive, for the whole run
    shard set (ingest --out, append's out)     exclusive while written; shared while re-matched
    runs root's current.json pointer           exclusive while it is read and replaced

The lock is an OS lock (``fcntl.flock``) on a file beside the folder
(``PARENT/.locks/NAME.lock``, :func:`lock_path`: taking it neither creates nor touches the
folder). The kernel drops it when the process that holds it ends, however it ends (SIGKILL and power loss
included), so a crashed run never blocks the next: the file left behind is a name to lock,
never a claim. The holder writes who it is (pid, host, what, since) into the file for the
message of a run that finds the folder busy; nothing else reads it.

A run that finds the folder locked waits up to ``runs.lock_wait_seconds`` (settings), then
refuses with :class:`FolderBusy`: one line naming the folder, the holder and what to do (the
command line prints it and exits 2). Within one process the lock is re-entrant (a rerun's
full re-match runs inside the rerun's lock), so it excludes processes, not threads.

``flock`` locks work on local file systems and on NFS (Linux emulates them with byte-range
locks there); on a file system without locks :func:`folder_lock` raises OSError.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import inspect
import json
import os
import socket
import threading
import time
import typing
from pathlib import Path
from typing import Callable, Iterator

from reunion.errors import UserError
from reunion.io import atomic

#: the folder, beside a locked folder, of the lock files (``PARENT/.locks/NAME.lock``)
LOCK_DIR = ".locks"
#: seconds between two attempts while waiting for a busy folder
POLL_SECONDS = 0.1
#: the setting that bounds the wait (for the message)
WAIT_SETTING = "runs.lock_wait_seconds"

_held: dict[str, list[int]] = {}      # real lock file path -> [fd, depth] held by this process
_mutex = threading.Lock()


class FolderBusy(UserError):
    """Another process holds the folder's lock past the wait; the message says who and what to do."""


def holder(path: Path) -> dict:
    """What the lock file ``path`` says about its last holder ({} when it says nothing)."""
    try:
        return json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _try(fd: int, shared: bool) -> bool:
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def lock_path(folder: Path | str) -> Path:
    """The lock file of ``folder``: beside it, in its parent's :data:`LOCK_DIR`, so that
    taking the lock neither creates nor touches the folder (a refused run leaves nothing)."""
    folder = Path(folder).resolve()
    return folder.parent / LOCK_DIR / f"{folder.name}.lock"


@contextlib.contextmanager
def folder_lock(folder: Path | str, what: str, wait_seconds: float | None = 0.0, *,
                shared: bool = False, hint: str = "let it finish") -> Iterator[Path]:
    """Hold ``folder``'s lock (:func:`lock_path`) while the block runs.

    ``what`` says what this process does there (written for others' messages); ``shared``:
    a reader's lock (many at once, no writer). Waits up to ``wait_seconds`` (None: without
    bound) for a busy folder, then raises :class:`FolderBusy` whose line ends with ``hint``.
    Yields the lock file's path. A reader's folder that does not exist is not locked
    (nothing to protect; the reader reports it).
    """
    if shared and not Path(folder).is_dir():
        yield lock_path(folder)
        return
    with file_lock(lock_path(folder), what, wait_seconds, shared=shared, hint=hint,
                   subject=Path(folder)) as path:
        yield path


@contextlib.contextmanager
def file_lock(path: Path | str, what: str, wait_seconds: float | None = 0.0, *, shared: bool = False,
              hint: str = "let it finish", subject: Path | None = None) -> Iterator[Path]:
    """Hold the lock of the lock file ``path`` (created if missing, never removed: removing
    a lock file another process waits on would let two in) for what ``subject`` names (the
    folder, for the message; default the file). See :func:`folder_lock`."""
    path = Path(path)
    atomic.ensure_dir(path.parent)
    key = str(path.resolve())
    with _mutex:
        if key in _held:                    # this process holds it already: re-entrant
            _held[key][1] += 1
            mine = None
        else:
            mine = os.open(path, os.O_CREAT | os.O_RDWR, atomic.FILE_MODE)
    if mine is None:
        try:
            yield path
        finally:
            with _mutex:
                _held[key][1] -= 1
        return
    try:
        start = time.monotonic()
        while not _try(mine, shared):
            waited = time.monotonic() - start
            if wait_seconds is not None and waited >= wait_seconds:
                h = holder(path)
                who = (f"{h.get('what', 'another run')} (pid {h.get('pid', '?')} on "
                       f"{h.get('host', '?')}, since {h.get('since', '?')})") if h else "another run"
                raise FolderBusy(f"{subject or path}: in use by {who}; waited {wait_seconds:g} s. "
                                 f"Either {hint}, or wait for it with --set {WAIT_SETTING}=SECONDS")
            time.sleep(POLL_SECONDS if wait_seconds is None else min(POLL_SECONDS, wait_seconds - waited))
        if not shared:                      # readers share the lock: the record is the writer's
            os.ftruncate(mine, 0)
            os.pwrite(mine, json.dumps({
                "what": what, "pid": os.getpid(), "host": socket.gethostname(),
                "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}).encode(), 0)
        with _mutex:
            _held[key] = [mine, 1]
        try:
            yield path
        finally:
            with _mutex:
                del _held[key]
    finally:
        os.close(mine)                      # closing the descriptor releases the lock


def _wait_of(settings) -> float:
    runs = getattr(settings, "runs", None)
    return runs.lock_wait_seconds if runs is not None else 0.0


def holding(writes: str | None = None, reads: str | None = None, what: str | None = None,
            when: str | None = None, hint: str = "let it finish or choose another --out") -> Callable:
    """Decorator: call the function while holding the exclusive lock of the folder passed as
    its argument ``writes`` and the shared lock of the folder passed as ``reads`` (either
    may be None), waiting as its ``settings`` argument's :data:`WAIT_SETTING` says. With
    ``when``, the locks are taken only if that argument is true (a caller holds them).
    ``what`` names the run in others' messages (default: the function's name).

    One line on a flow or a function keeps the lock beside the code it protects::

        @flow(name="national-rematch")
        @locks.holding(writes="out_dir", reads="shards_dir", when="claim")
        def rematch_flow(shards_dir, out_dir, settings, ..., claim=True): ...
    """
    def wrap(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        label = what or fn.__name__

        @functools.wraps(fn)
        def locked(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            a = bound.arguments
            if when is not None and not a[when]:
                return fn(*args, **kwargs)
            wait = _wait_of(a.get("settings"))
            with contextlib.ExitStack() as stack:
                if writes is not None:
                    stack.enter_context(folder_lock(a[writes], label, wait, hint=hint))
                if reads is not None:
                    stack.enter_context(folder_lock(a[reads], label, wait, shared=True,
                                                    hint="let the writer finish"))
                return fn(*args, **kwargs)
        # the annotations resolved in ``fn``'s module (they may be strings there): Prefect
        # validates a flow's parameters from them, and the wrapper's module is not ``fn``'s
        with contextlib.suppress(NameError):
            locked.__signature__ = inspect.signature(fn, eval_str=True)
            locked.__annotations__ = typing.get_type_hints(fn)
        return locked
    return wrap
