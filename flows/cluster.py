"""The Dask cluster a run uses, chosen from typed settings.

- ``local-gpu``: a dask-cuda LocalCUDACluster, one worker per GPU;
- ``local-cpu``: a LocalCluster of worker processes;
- ``local-threads``: one process, threads only (cheapest start);
- ``address``: an existing scheduler (multi-node runs);
- ``auto``: local-gpu when a usable GPU and dask-cuda are present, else local-cpu.
  (LocalCUDACluster fails with an NVML error without a GPU, so we probe first.)

Local clusters bind to loopback; the dashboard is off unless an address is configured.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from typing import Iterator, Literal

from distributed import Client, LocalCluster

from reunion.kernels.device import gpu_available
from reunion.settings import ClusterSettings

Kind = Literal["local-cpu", "local-gpu", "local-threads", "address"]


def resolve_kind(cfg: ClusterSettings) -> Kind:
    """The cluster kind ``auto`` stands for on this machine."""
    if cfg.kind != "auto":
        return cfg.kind
    if gpu_available() and importlib.util.find_spec("dask_cuda") is not None:
        return "local-gpu"
    return "local-cpu"


@contextlib.contextmanager
def dask_client(cfg: ClusterSettings) -> Iterator[Client]:
    """A connected client; a local cluster is started here and closed on exit."""
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.core",
                 "distributed.worker", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    kind = resolve_kind(cfg)
    if kind == "address":
        with Client(cfg.address) as client:
            yield client
        return
    if kind == "local-gpu":
        from dask_cuda import LocalCUDACluster  # noqa: PLC0415 (GPU imports are lazy)
        cluster = LocalCUDACluster(host="127.0.0.1", dashboard_address=cfg.dashboard_address,
                                   threads_per_worker=cfg.threads_per_worker, silence_logs=40)
    elif kind == "local-cpu":
        cluster = LocalCluster(n_workers=cfg.n_workers, threads_per_worker=cfg.threads_per_worker,
                               processes=True, host="127.0.0.1",
                               dashboard_address=cfg.dashboard_address, silence_logs=40)
    else:  # local-threads: in-process comms, nothing listens on the network
        cluster = LocalCluster(n_workers=1, threads_per_worker=cfg.n_workers * cfg.threads_per_worker,
                               processes=False, dashboard_address=cfg.dashboard_address,
                               silence_logs=40)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def describe(client: Client, cfg: ClusterSettings) -> dict:
    """What the run ran on, for run.json."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    return {"kind": resolve_kind(cfg), "scheduler": info.get("address"), "workers": len(workers),
            "threads": sum(w.get("nthreads", 0) for w in workers.values()),
            "memory_bytes": sum(w.get("memory_limit", 0) or 0 for w in workers.values())}
