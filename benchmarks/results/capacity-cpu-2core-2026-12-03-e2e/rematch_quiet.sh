#!/bin/sh
cd /work/wt-e2e
export PREFECT_HOME=$PWD/.prefect PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120 NUMBA_CACHE_DIR=$PWD/.numba_cache
T=/tmp/e2e/bench
BIN=/work/wt-e2e/.venv/bin/reunion
EXTRA="--set scoring.query_block=2000 --set calibration.enabled=false"
echo "== rematch 20k paired, second session $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
farm-bench -n 3 --warmup 0 --timeout 3000 \
  --vs "sh -c 'rm -rf $T/rematch-b && PYTHONPATH=/tmp/e2e/base exec $BIN rematch --shards /tmp/e2e/sh20k --out $T/rematch-b $EXTRA >>$T/rematch-b.log 2>&1'" \
  -- sh -c "rm -rf $T/rematch-a && PYTHONPATH=/tmp/e2e/snapA exec $BIN rematch --shards /tmp/e2e/sh20k --out $T/rematch-a $EXTRA >>$T/rematch-a.log 2>&1"
cmp $T/rematch-a/candidates.csv $T/rematch-b/candidates.csv && echo "candidates.csv identical"
cmp $T/rematch-a/review.csv $T/rematch-b/review.csv && echo "review.csv identical"
python3 -c "
import json
for s in 'ab':
    d=json.load(open('$T/rematch-'+s+'/run.json')); print(s, 'flow s', d['seconds'], d['timings'])"
echo "end $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
