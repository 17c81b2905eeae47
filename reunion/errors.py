"""The one home of "the user made a mistake".

A :class:`UserError` is a mistake in what the user gave (a path, a setting, a row of a file):
its message is one line naming the file or setting, the row and field where there is one,
and what to do. The command line prints that line and exits with status 2, without a
traceback; any other exception is an internal error and keeps its traceback (status 1).

Every module that rejects user input raises a subclass (or this class) so that one handler,
:func:`reunion.cli.main`, turns them all into the same line.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EXIT_USER_ERROR", "UserError", "InputError", "SettingsError", "NothingNew", "require_file"]

EXIT_USER_ERROR = 2


class UserError(ValueError):
    """A user's mistake; ``str(exc)`` is the one line to print."""

    def __str__(self) -> str:  # one line, whatever the message was built from
        return " ".join(super().__str__().split())


class InputError(UserError):
    """An input file cannot be read as given (names file, row, field and what to do)."""


class SettingsError(UserError):
    """A setting is invalid or cannot be applied by this command."""


class NothingNew(UserError):
    """Nothing to do, and that is no mistake: a scheduled rerun from a database source found no
    row collected after the standing run's watermark. The command line prints the line (without
    "error:") and exits 0, leaving no output folder, so a nightly job does not report a failure."""

    exit_code = 0


def require_file(path: Path | str, what: str, option: str | None = None) -> Path:
    """``path`` as a Path if it is an existing regular file, else an :class:`InputError`
    saying which option to check. ``what`` names the file ("samples", "genotype")."""
    p = Path(path)
    hint = f"; check the {option} path" if option else "; check the path"
    if p.is_dir():
        raise InputError(f"{p}: is a folder, expected the {what} file{hint}")
    if not p.exists():
        raise InputError(f"{p}: {what} file not found{hint}")
    return p
