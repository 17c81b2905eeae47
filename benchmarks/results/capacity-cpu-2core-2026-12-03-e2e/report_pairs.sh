#!/bin/sh
for i in 1 2 3; do
  PYTHONPATH=/tmp/e2e/snapA /work/wt-e2e/.venv/bin/python /tmp/e2e/t2.py /tmp/e2e/bench/report-a
  PYTHONPATH=/tmp/e2e/base /work/wt-e2e/.venv/bin/python /tmp/e2e/t2.py /tmp/e2e/bench/report-b
done
cmp /tmp/e2e/bench/report-a/report.html /tmp/e2e/bench/report-b/report.html && echo "report.html identical"
echo PAIRSDONE
