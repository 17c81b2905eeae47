"""The Dask cluster a run uses, chosen from typed settings.

- ``local-gpu``: one worker process per GPU (its CUDA_VISIBLE_DEVICES set, the ``GPU``
  resource that the screening tasks ask for) and ``host_workers`` worker processes beside them
  for the host stages (tables, merge, re-score): :func:`gpu_layout`, so a node's cores are not
  left waiting behind one process per GPU;
- ``local-cpu``: a LocalCluster of worker processes;
- ``local-threads``: one process, threads only (cheapest start);
- ``address``: an existing scheduler (multi-node runs);
- ``auto``: local-gpu when a usable GPU and dask-cuda (the gpu extra) are present, else
  local-cpu (the GPU is probed first: CuPy sees a device).

Local clusters bind to loopback; the dashboard is off unless an address is configured
(the scheduler's HTTP server, which also answers health checks, then takes a free loopback
port, never 8787, so a second run on the node finds nothing in its way). The workers of an
existing cluster must run the client's reunion version (:func:`check_versions`).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass
from typing import Iterator, Literal

from distributed import Client, LocalCluster, Nanny, Scheduler, SpecCluster
from distributed.system import MEMORY_LIMIT

from reunion import __version__
from reunion.errors import UserError
from reunion.kernels.device import gpu_available
from reunion.settings import ClusterSettings


class ClusterVersionError(UserError):
    """Workers of an existing cluster run another reunion version than the client."""


def worker_version() -> str:
    """The reunion version of the process this runs in (run on every worker)."""
    import reunion  # the worker's own reunion, not the client's

    return reunion.__version__


def check_versions(client: Client) -> None:
    """Refuse a cluster whose workers run another reunion version than this client (their
    pieces would be scored by other code): one line naming the workers and their versions."""
    versions = client.run(worker_version, on_error="return")
    other = {w: (v if isinstance(v, str) else f"no reunion ({type(v).__name__})")
             for w, v in sorted(versions.items()) if v != __version__}
    if other:
        listed = ", ".join(f"{w} runs {v}" for w, v in other.items())
        raise ClusterVersionError(f"{len(other)} of {len(versions)} Dask workers run another reunion "
                                  f"version than this client ({__version__}): {listed}; install "
                                  f"reunion {__version__} on them or point cluster.address elsewhere")


def http_options(cfg: ClusterSettings) -> dict:
    """LocalCluster options of the scheduler's HTTP server: the dashboard at the configured
    address, or (``dashboard_address`` None) no dashboard and a free loopback port."""
    if cfg.dashboard_address is not None:
        return {"dashboard_address": cfg.dashboard_address}
    return {"dashboard_address": None,
            "scheduler_kwargs": {"dashboard": False, "dashboard_address": "127.0.0.1:0"}}

Kind = Literal["local-cpu", "local-gpu", "local-threads", "address"]


def resolve_kind(cfg: ClusterSettings) -> Kind:
    """The cluster kind ``auto`` stands for on this machine."""
    if cfg.kind != "auto":
        return cfg.kind
    if gpu_available() and importlib.util.find_spec("dask_cuda") is not None:
        return "local-gpu"
    return "local-cpu"


#: the Dask worker resource of a GPU worker; the screening tasks of a GPU cluster ask for one
GPU_RESOURCE = "GPU"
#: the Dask worker resource of a host worker beside the GPU workers (one per thread); the host
#: stages' tasks (tables, merge and re-score) ask for one, so the GPU workers keep to the screen
HOST_RESOURCE = "HOST"


@dataclass(frozen=True)
class GpuLayout:
    """The workers of a local-gpu cluster: ``gpu_workers`` processes, one per GPU (each sees its
    own GPU first and holds one :data:`GPU_RESOURCE`), and ``host_workers`` processes for the host
    stages, each of ``threads`` threads."""
    gpu_workers: int
    host_workers: int
    threads: int

    def worker_specs(self, memory_bytes: int = MEMORY_LIMIT) -> dict[str, dict]:
        """SpecCluster worker specs: ``gpu-<i>`` (CUDA_VISIBLE_DEVICES rotated to start at GPU i, as
        dask-cuda does, and resource GPU = 1) and ``host-<i>`` (resource HOST = its threads), the
        node's memory (``memory_bytes``) split evenly among them."""
        n = max(self.gpu_workers + self.host_workers, 1)
        base = {"nthreads": self.threads, "host": "127.0.0.1", "silence_logs": 40,
                "memory_limit": memory_bytes // n}
        devices = list(range(self.gpu_workers))
        specs = {f"gpu-{i}": {"cls": Nanny, "options": {
                     **base, "resources": {GPU_RESOURCE: 1},
                     "env": {"CUDA_VISIBLE_DEVICES": ",".join(map(str, devices[i:] + devices[:i]))}}}
                 for i in devices}
        specs.update({f"host-{i}": {"cls": Nanny, "options": {**base, "resources": {HOST_RESOURCE: self.threads}}}
                      for i in range(self.host_workers)})
        return specs


def gpu_layout(cfg: ClusterSettings, gpus: int, cores: int) -> GpuLayout:
    """The local-gpu cluster of a node of ``gpus`` GPUs and ``cores`` cores: one worker per GPU
    and ``cfg.host_workers`` host workers (None: the cores the GPU workers leave, divided by
    ``cfg.threads_per_worker``), every worker of ``cfg.threads_per_worker`` threads."""
    if gpus < 1:
        raise UserError("cluster.kind is 'local-gpu' but no CUDA GPU is visible; use 'auto' or 'local-cpu'")
    host = cfg.host_workers if cfg.host_workers is not None else max(cores - gpus, 0) // cfg.threads_per_worker
    return GpuLayout(gpu_workers=gpus, host_workers=host, threads=cfg.threads_per_worker)


def gpu_count() -> int:
    """CUDA devices CuPy sees (0 without CuPy or a GPU)."""
    try:
        import cupy  # noqa: PLC0415 (GPU imports are lazy)
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # ImportError, or CUDA driver errors on CPU-only machines
        return 0


def spec_cluster(layout: GpuLayout, cfg: ClusterSettings) -> SpecCluster:
    """A local cluster of ``layout``'s workers, its scheduler on loopback (dashboard as
    :func:`http_options`)."""
    dash = ({"dashboard_address": cfg.dashboard_address} if cfg.dashboard_address is not None
            else {"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    return SpecCluster(workers=layout.worker_specs(),
                       scheduler={"cls": Scheduler, "options": {"host": "127.0.0.1", **dash}},
                       silence_logs=40)


@dataclass(frozen=True)
class StageResources:
    """The Dask worker resources a re-match's tasks ask for: ``screen`` ({GPU: 1} on a cluster with
    GPU workers) and ``host`` ({HOST: 1} where host workers stand beside them: the tables, merge
    and re-score tasks); None = any worker."""
    screen: dict | None = None
    host: dict | None = None


def stage_resources(client: Client) -> StageResources:
    """What the cluster's workers hold (:class:`StageResources`): a local-gpu cluster's screens go
    to its GPU workers and, where it has host workers, its host stages to them."""
    held = [w.get("resources") or {} for w in client.scheduler_info().get("workers", {}).values()]
    gpu = any(GPU_RESOURCE in r for r in held)
    host = gpu and any(HOST_RESOURCE in r for r in held)
    return StageResources(screen={GPU_RESOURCE: 1} if gpu else None, host={HOST_RESOURCE: 1} if host else None)


def needing(resources: dict | None):
    """A context in which the Dask tasks made ask for ``resources`` (a :class:`StageResources`
    field; None: no restriction, any worker)."""
    import dask  # noqa: PLC0415

    return dask.annotate(resources=resources) if resources else contextlib.nullcontext()


@contextlib.contextmanager
def dask_client(cfg: ClusterSettings) -> Iterator[Client]:
    """A connected client; a local cluster is started here and closed on exit. Worker
    processes never re-run a ``__main__`` script (:func:`workers_skip_main_script`)."""
    with workers_skip_main_script(resolve_kind(cfg) in ("local-cpu", "local-gpu")), \
            _dask_client(cfg) as client:
        yield client


@contextlib.contextmanager
def workers_skip_main_script(active: bool = True) -> Iterator[None]:
    """While active, processes started with multiprocessing's spawn (Dask's nannies start
    their workers so, at cluster start and at every restart) do not re-run the ``__main__``
    script, as joblib's loky does.

    spawn re-imports a plain script's ``__main__`` in every worker; a script or notebook
    export without an ``if __name__ == "__main__":`` guard then starts its own run in each
    worker and the cluster never comes up (issue 15: more than 10 minutes, no result).
    reunion's tasks live in reunion's modules (and Dask ships a ``__main__`` function by
    value), so the workers need nothing of the script. The script is marked as a main module
    run by name ``__main__``, which spawn skips; the mark is removed on exit. For the
    ``reunion`` command (a guarded console script) this only skips a harmless re-import;
    under ``python -m`` or in a notebook spawn re-imports no script and nothing changes.
    The workers and their layout are those of the settings either way.
    """
    main = sys.modules.get("__main__")
    if not active or main is None or getattr(main, "__spec__", None) is not None \
            or not getattr(main, "__file__", None):
        yield
        return
    main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None


@contextlib.contextmanager
def _dask_client(cfg: ClusterSettings) -> Iterator[Client]:
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.core",
                 "distributed.worker", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    kind = resolve_kind(cfg)
    if kind == "address":
        with Client(cfg.address) as client:
            check_versions(client)
            yield client
        return
    if kind == "local-gpu":
        cluster = spec_cluster(gpu_layout(cfg, gpu_count(), os.cpu_count() or 1), cfg)
    elif kind == "local-cpu":
        cluster = LocalCluster(n_workers=cfg.n_workers, threads_per_worker=cfg.threads_per_worker,
                               processes=True, host="127.0.0.1", silence_logs=40,
                               **http_options(cfg))
    else:  # local-threads: in-process comms, nothing listens on the network
        cluster = LocalCluster(n_workers=1, threads_per_worker=cfg.n_workers * cfg.threads_per_worker,
                               processes=False, silence_logs=40, **http_options(cfg))
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
