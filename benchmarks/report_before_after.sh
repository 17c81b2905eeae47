#!/bin/sh
# The reviewers' report (reunion report: review.parquet/.csv and report.html) of one finished run
# folder, this checkout against a baseline commit, as medians of farm-bench's paired runs
# (A = this checkout, B = BASE):
#
#   sh benchmarks/report_before_after.sh RUN_DIR BASE_COMMIT [RUNS]
#
# RUN_DIR is copied twice (A and B each write into their own copy); BASE_COMMIT's tree is
# unpacked into a temporary folder and imported through PYTHONPATH with this checkout's virtual
# environment. The two report.html and review.csv are compared byte for byte at the end.
set -eu
RUN=$(cd "$1" && pwd)
BASE=$2
RUNS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=${TMPDIR:-/tmp}
rm -rf "$T/report-base" "$T/report-a" "$T/report-b" && mkdir -p "$T/report-base"
git -C "$ROOT" archive "$BASE" | tar -x -C "$T/report-base"
cp -r "$RUN" "$T/report-a" && cp -r "$RUN" "$T/report-b"
PY=$ROOT/.venv/bin/python
CODE="from pathlib import Path; import sys; from reunion.report import write_report; write_report(Path(sys.argv[1]))"
farm-bench -n "$RUNS" --warmup 0 --timeout 3000 \
  --vs "sh -c 'PYTHONPATH=$T/report-base exec $PY -c \"$CODE\" $T/report-b'" \
  -- $PY -c "$CODE" "$T/report-a"
for f in report.html review.csv; do
  cmp "$T/report-a/$f" "$T/report-b/$f" && echo "$f identical" || echo "$f DIFFERS"
done
