"""A GPU node's cluster (cluster.kind local-gpu): one worker per GPU for the screen and host
workers beside them for the tables and re-scores, checked on CPU through the same configuration
code path (the GPU workers are plain worker processes holding the GPU resource here)."""

from __future__ import annotations

import dask
import pytest
from distributed import Client, get_task_stream
from dask.utils import key_split

from reunion.errors import UserError
from reunion.flows import pieces
from reunion.flows.cluster import (GPU_RESOURCE, HOST_RESOURCE, GpuLayout, StageResources, gpu_layout,
                                   spec_cluster, stage_resources)
from reunion.ingest import ingest, load_manifest
from reunion.settings import ClusterSettings


def test_layout_gives_the_cores_a_gpu_worker_leaves_to_host_workers():
    # 16 cores, 1 GPU, 1 thread a worker: the GPU worker takes one core, 15 host workers the rest
    assert gpu_layout(ClusterSettings(), 1, 16) == GpuLayout(gpu_workers=1, host_workers=15, threads=1)
    # 2 GPUs, 2 threads a worker: (16 - 2) // 2 = 7 host workers
    assert gpu_layout(ClusterSettings(threads_per_worker=2), 2, 16) == GpuLayout(2, 7, 2)
    assert gpu_layout(ClusterSettings(host_workers=3), 4, 64) == GpuLayout(4, 3, 1)   # as configured
    assert gpu_layout(ClusterSettings(host_workers=0), 1, 16).host_workers == 0      # GPU workers alone
    assert gpu_layout(ClusterSettings(), 8, 4).host_workers == 0                     # more GPUs than cores
    with pytest.raises(UserError, match="no CUDA GPU"):
        gpu_layout(ClusterSettings(kind="local-gpu"), 0, 16)


def test_worker_specs_pin_one_gpu_each_and_leave_host_workers_without_one():
    specs = GpuLayout(gpu_workers=2, host_workers=3, threads=2).worker_specs(memory_bytes=10_000)
    assert sorted(specs) == ["gpu-0", "gpu-1", "host-0", "host-1", "host-2"]
    opts = {k: v["options"] for k, v in specs.items()}
    assert opts["gpu-0"]["env"] == {"CUDA_VISIBLE_DEVICES": "0,1"}
    assert opts["gpu-1"]["env"] == {"CUDA_VISIBLE_DEVICES": "1,0"}
    assert all(opts[f"gpu-{i}"]["resources"] == {GPU_RESOURCE: 1} for i in range(2))
    assert all(opts[f"host-{i}"]["resources"] == {HOST_RESOURCE: 2} and "env" not in opts[f"host-{i}"]
               for i in range(3))                                      # one host task a thread
    assert {o["nthreads"] for o in opts.values()} == {2}
    assert {o["memory_limit"] for o in opts.values()} == {10_000 // 5}           # the node's memory, split


@pytest.fixture(scope="module")
def shards(small_db, settings, tmp_path_factory):
    s = settings.model_copy(deep=True)
    s.ingest.families_per_shard = 20
    s.scoring.query_block = 15
    s.scoring.pairs_per_task = 15 * 40          # two shards a screening task: several tasks
    out = tmp_path_factory.mktemp("gpu-layout")
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], out, s)
    return out, s


def test_screens_run_on_the_gpu_worker_and_host_stages_beside_it(shards):
    out, s = shards
    work = pieces.plan_work(load_manifest(out), s)
    clean = dask.compute(*pieces.rematch_graph(str(out), s, work), scheduler="synchronous")
    layout = GpuLayout(gpu_workers=1, host_workers=2, threads=1)
    with spec_cluster(layout, ClusterSettings(kind="local-gpu")) as cluster, Client(cluster) as client:
        client.wait_for_workers(3)
        res = stage_resources(client)
        assert res == StageResources(screen={GPU_RESOURCE: 1}, host={HOST_RESOURCE: 1})
        gpu_worker = next(a for a, w in client.scheduler_info()["workers"].items()
                          if GPU_RESOURCE in (w.get("resources") or {}))
        with get_task_stream(client) as ts:
            results = client.gather(client.compute(
                list(pieces.rematch_graph(str(out), s, work, resources=res))))
    where: dict[str, set] = {}
    for e in ts.data:
        where.setdefault(key_split(e["key"]), set()).add(e["worker"])
    assert where["screen_group"] == {gpu_worker}                        # every screen on the GPU worker
    assert where["shard_tables"] and gpu_worker not in where["shard_tables"]     # host stages beside it
    assert where["merge_groups"] and gpu_worker not in where["merge_groups"]
    for a, b in zip(clean, results):
        assert a["candidates"].equals(b["candidates"]) and a["per_locus"].equals(b["per_locus"])


def test_gpu_workers_alone_take_every_host_stage():
    with spec_cluster(GpuLayout(gpu_workers=1, host_workers=0, threads=1), ClusterSettings()) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(1)
        assert stage_resources(client) == StageResources(screen={GPU_RESOURCE: 1}, host=None)


def test_a_cpu_cluster_has_no_gpu_resource():
    with spec_cluster(GpuLayout(gpu_workers=0, host_workers=1, threads=1), ClusterSettings()) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(1)
        assert stage_resources(client) == StageResources()          # any worker takes any task
