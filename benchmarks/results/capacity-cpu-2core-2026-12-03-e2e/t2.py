import sys, time
from pathlib import Path
import reunion.report.page as pg
from reunion.report import write_report
t=time.perf_counter(); c=time.process_time(); write_report(Path(sys.argv[1])); print(pg.__file__, "wall", round(time.perf_counter()-t,2), "cpu", round(time.process_time()-c,2))
