#!/bin/sh
# A full re-match (ingest excluded) of one shard set, today's code against a baseline commit,
# as medians of farm-bench's paired runs (A = this checkout, B = BASE):
#
#   sh benchmarks/rematch_before_after.sh SHARDS BASE_COMMIT [RUNS] [--set section.field=value ...]
#
# Arguments after RUNS are passed to both re-matches (settings as --set).
# BASE_COMMIT's tree is unpacked into a temporary folder and imported through PYTHONPATH with
# this checkout's virtual environment (same packages). Each run writes a fresh run folder
# (no resumed pieces or tables). The candidates of the last runs are left in
# $TMPDIR/rematch-a and rematch-b to compare (cmp of candidates.csv).
set -eu
SHARDS=$(cd "$1" && pwd)
BASE=$2
RUNS=${3:-3}
shift 3 2>/dev/null || shift $#
EXTRA="$*"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=${TMPDIR:-/tmp}
rm -rf "$T/rematch-base" && mkdir -p "$T/rematch-base"
git -C "$ROOT" archive "$BASE" | tar -x -C "$T/rematch-base"
BIN=$ROOT/.venv/bin/reunion
# --vs before --: after it, farm-bench takes it as A's own arguments and runs no B
farm-bench -n "$RUNS" --warmup 0 --timeout 3000 \
  --vs "sh -c 'rm -rf $T/rematch-b && export PYTHONPATH=$T/rematch-base && exec $BIN rematch --shards $SHARDS --out $T/rematch-b $EXTRA >>$T/rematch-b.log 2>&1'" \
  -- sh -c "rm -rf $T/rematch-a && exec $BIN rematch --shards $SHARDS --out $T/rematch-a $EXTRA >>$T/rematch-a.log 2>&1"
cmp "$T/rematch-a/candidates.csv" "$T/rematch-b/candidates.csv" && echo "candidates.csv identical" || \
  diff "$T/rematch-a/candidates.csv" "$T/rematch-b/candidates.csv" | head -20
