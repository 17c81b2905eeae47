"""Prefect flows of reunion. Dask runs the fine-grained pieces; Prefect the stages.

Importing this package sets offline-safe Prefect defaults (project-local
PREFECT_HOME, analytics off) unless the environment already says otherwise, and keeps
Prefect from logging a user's mistake (:class:`reunion.errors.UserError`) as a traceback:
the command line prints it as one line.
"""

import logging

from reunion.errors import UserError
from reunion.prefect_env import configure_prefect

configure_prefect()


def _user_error_names() -> set[str]:
    names, todo = set(), [UserError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


class _UserErrorsAreOneLine(logging.Filter):
    """Drops the flow and task engines' records of a UserError (its traceback and the
    "Finished in state Failed(... InputError: ...)" lines that repeat its message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], UserError):
            return False
        msg = record.getMessage()
        return not any(f"{name}: " in msg or f"{name}(" in msg for name in _user_error_names())


for _name in ("prefect.flow_runs", "prefect.task_runs"):
    logging.getLogger(_name).addFilter(_UserErrorsAreOneLine())
