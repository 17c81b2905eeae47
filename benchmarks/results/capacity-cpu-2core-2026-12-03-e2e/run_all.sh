#!/bin/sh
set -u
cd /work/wt-e2e
export PREFECT_HOME=$PWD/.prefect PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120 NUMBA_CACHE_DIR=$PWD/.numba_cache
T=/tmp/e2e/bench
BIN=/work/wt-e2e/.venv/bin/reunion
EXTRA="--set scoring.query_block=2000 --set calibration.enabled=false"
echo "== rematch 20k paired $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
farm-bench -n 3 --warmup 0 --timeout 3000 \
  --vs "sh -c 'rm -rf $T/rematch-b && PYTHONPATH=/tmp/e2e/base exec $BIN rematch --shards /tmp/e2e/sh20k --out $T/rematch-b $EXTRA >>$T/rematch-b.log 2>&1'" \
  -- sh -c "rm -rf $T/rematch-a && PYTHONPATH=/tmp/e2e/snapA exec $BIN rematch --shards /tmp/e2e/sh20k --out $T/rematch-a $EXTRA >>$T/rematch-a.log 2>&1"
cmp $T/rematch-a/candidates.csv $T/rematch-b/candidates.csv && echo "candidates.csv identical"
for f in review.csv; do cmp $T/rematch-a/$f $T/rematch-b/$f && echo "$f identical"; done
echo "== report 20k paired $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
PY=/work/wt-e2e/.venv/bin/python
CODE="from pathlib import Path; import sys; from reunion.report import write_report; write_report(Path(sys.argv[1]))"
rm -rf $T/report-a $T/report-b; cp -r /tmp/e2e/run20k-a $T/report-a; cp -r /tmp/e2e/run20k-a $T/report-b
farm-bench -n 5 --warmup 0 --timeout 3000 \
  --vs "sh -c 'PYTHONPATH=/tmp/e2e/base exec $PY -c \"$CODE\" $T/report-b'" \
  -- sh -c "PYTHONPATH=/tmp/e2e/snapA exec $PY -c \"$CODE\" $T/report-a"
for f in report.html review.csv; do cmp $T/report-a/$f $T/report-b/$f && echo "$f identical"; done
echo "== capacity $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
rm -rf $T/capacity
PYTHONPATH=/tmp/e2e/snapA $BIN benchmark --out $T/capacity --size 2000 --size 5000 --size 10000 --size 20000 \
  --rerun-repeats 0 --set scoring.query_block=2000 \
  --set ingest.families_per_shard=1000 --set ingest.queries_per_shard=2000 \
  --set calibration.enabled=false > $T/capacity.log 2>&1
echo "capacity rc $? $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
echo ALLDONE
