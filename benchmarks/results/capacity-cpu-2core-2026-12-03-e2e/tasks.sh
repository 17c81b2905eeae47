#!/bin/sh
cd /work/wt-e2e
export PREFECT_HOME=$PWD/.prefect PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120 NUMBA_CACHE_DIR=$PWD/.numba_cache
T=/tmp/e2e/bench
BIN=/work/wt-e2e/.venv/bin/reunion
echo "== 5k x 5k, demo shards (100 families, blocks of 100): 2,500 pieces; A fused (default pairs_per_task), B one shard a task. $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
farm-bench -n 3 --warmup 0 --timeout 3000 \
  --vs "sh -c 'rm -rf $T/tasks-b && PYTHONPATH=/tmp/e2e/snapA exec $BIN rematch --shards /tmp/e2e/sh5k-fine --out $T/tasks-b --set calibration.enabled=false --set scoring.pairs_per_task=1 >>$T/tasks-b.log 2>&1'" \
  -- sh -c "rm -rf $T/tasks-a && PYTHONPATH=/tmp/e2e/snapA exec $BIN rematch --shards /tmp/e2e/sh5k-fine --out $T/tasks-a --set calibration.enabled=false >>$T/tasks-a.log 2>&1"
cmp $T/tasks-a/candidates.csv $T/tasks-b/candidates.csv && echo "candidates.csv identical"
cmp $T/tasks-a/review.csv $T/tasks-b/review.csv && echo "review.csv identical"
python3 -c "
import json
for s in 'ab':
    d=json.load(open('$T/tasks-'+s+'/run.json')); print(s, 'flow s', d['seconds'], d['timings'])"
echo "end $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
