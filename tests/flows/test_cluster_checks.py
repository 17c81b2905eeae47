"""Local clusters leave port 8787 alone without a dashboard; an existing cluster's workers
must run the client's reunion version; progress is logged per tenth of the pieces."""

from __future__ import annotations

import re
import socket
import warnings

import pytest
from distributed import Client, LocalCluster

from reunion import __version__
from reunion.flows import cluster as cluster_mod
from reunion.flows.cluster import ClusterVersionError, check_versions, dask_client
from reunion.flows.rematch import Progress
from reunion.settings import ClusterSettings


def test_no_dashboard_means_port_8787_is_not_wanted():
    with socket.socket() as held:
        try:
            held.bind(("127.0.0.1", 8787))
            held.listen()
        except OSError:
            pass           # something else holds it already: the same situation
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with dask_client(ClusterSettings(kind="local-threads")) as client:
                scheduler = client.cluster.scheduler
                http_port = scheduler.http_server.port
                assert client.run(lambda: 1)            # the cluster works
        assert not [w for w in seen if "already in use" in str(w.message)]
        assert http_port != 8787
        assert scheduler.services["dashboard"].port == http_port     # health endpoint, free port


def test_workers_of_another_reunion_version_are_refused(monkeypatch):
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        check_versions(client)                                  # the same version: accepted
        (worker,) = client.scheduler_info()["workers"]
        monkeypatch.setattr(cluster_mod, "worker_version", lambda: "0.0.1-old")
        with pytest.raises(ClusterVersionError, match="^" + re.escape(
                f"1 of 1 Dask workers run another reunion version than this client ({__version__}): "
                f"{worker} runs 0.0.1-old; install reunion {__version__} on them")):
            check_versions(client)
        with pytest.raises(ClusterVersionError), \
                dask_client(ClusterSettings(kind="address", address=cluster.scheduler_address)):
            pass


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, fmt, *args):
        self.lines.append(fmt % args)


def test_progress_logs_one_line_per_tenth_when_not_a_terminal():
    log = _Log()
    with Progress(40, 10, log, live=False) as bar:       # 10 of 40 resumed
        for _ in range(30):
            bar.advance()
    # a line at each tenth of the 40 pieces after the 10 resumed: 12, 16, ..., 40
    assert [line.split(" done")[0] for line in log.lines] == [f"pieces {n}/40" for n in range(12, 41, 4)]
    assert log.lines[-1] == "pieces 40/40 done (100%)"
    assert "s left" in log.lines[0]
