"""Prefect flows of reunion. Dask runs the fine-grained pieces; Prefect the stages.

Importing this package sets offline-safe Prefect defaults (project-local
PREFECT_HOME, analytics off) unless the environment already says otherwise.
"""

from reunion.prefect_env import configure_prefect

configure_prefect()
