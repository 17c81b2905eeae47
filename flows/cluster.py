"""The Dask cluster a run uses, chosen from typed settings.

``local-cpu``: a LocalCluster of worker processes; ``local-threads``: one
process, threads only (cheapest start, used by tests). Everything binds to
loopback; the dashboard is off unless an address is configured.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

from distributed import Client, LocalCluster

from reunion.settings import ClusterSettings


@contextlib.contextmanager
def dask_client(cfg: ClusterSettings) -> Iterator[Client]:
    """A connected client on a fresh local cluster, closed on exit."""
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.core",
                 "distributed.worker", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    cluster = LocalCluster(
        n_workers=cfg.n_workers,
        threads_per_worker=cfg.threads_per_worker,
        processes=cfg.kind == "local-cpu",
        host="127.0.0.1",
        dashboard_address=cfg.dashboard_address,
        silence_logs=40,
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def describe(client: Client) -> dict:
    """What the run ran on, for run.json."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    return {"scheduler": info.get("address"), "workers": len(workers),
            "threads": sum(w.get("nthreads", 0) for w in workers.values())}
