"""Peak memory of the CODIS CMF reader (reunion/io/cmf.py) on generated files of many specimens.

    python benchmarks/cmf_memory.py [--specimens 20000 200000] [--loci 15] [--out RESULT.json]

For each size a CMF 3.2 file is written (half Missing Person, half Biological Mother
specimens, ``--loci`` loci each with two alleles, the frequency table's first loci), then
each measurement runs in a fresh Python process so its peak RSS (``ru_maxrss``) is its own:

- ``baseline``: the imports only (reunion.io.cmf, pyarrow);
- ``stream``: ``iter_specimens`` over the whole file (the parser alone; nothing kept);
- ``read``: ``read_cmf`` (samples and genotype rows as Arrow tables, rejects, accounting).

Bounded memory means: ``stream`` stays at the baseline whatever the file's size, and
``read`` grows with the accepted rows it returns (Arrow columns), not with the XML text.
Prints one JSON object (sizes, seconds, peak RSS in MiB) and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import pyarrow
from reunion.io.cmf import iter_specimens, read_cmf
what, path = sys.argv[1], Path(sys.argv[2])
t0 = time.perf_counter()
out = {}
if what == "stream":
    n = loci = 0
    for _sid, _cat, k in iter_specimens(path):
        n += 1
        loci += k
    out = {"specimens": n, "loci": loci}
elif what == "read":
    from reunion.frequencies import load_frequency_table
    from reunion.loci import LocusNormaliser
    from reunion.settings import load_settings
    s = load_settings(None)
    t = load_frequency_table(s.frequencies.table, s.frequencies.population)
    norm = LocusNormaliser(t.locus_names)
    t0 = time.perf_counter()
    r = read_cmf(path, norm)
    out = {"samples_read": r.samples.n_read, "samples_accepted": r.samples.n_accepted,
           "genotype_rows_read": r.genotypes.n_read, "genotype_rows_accepted": r.genotypes.n_accepted,
           "rejected": len(r.samples.rejects) + len(r.genotypes.rejects),
           "arrow_mib": round((r.samples.table.nbytes + r.genotypes.table.nbytes) / 2**20, 1)}
out["seconds"] = round(time.perf_counter() - t0, 2)
out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(out))
"""


def write_cmf(path: Path, n: int, loci: list[str]) -> None:
    """``n`` specimens of CMF 3.2; alleles vary with the specimen so the rows are not one value."""
    with open(path, "w") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<CODISImportFile xmlns="urn:CODISImportFile-schema">'
                 "\n<HEADERVERSION>3.2</HEADERVERSION>\n")
        for i in range(n):
            cat = "Missing Person" if i % 2 == 0 else "Biological Mother"
            parts = [f'<SPECIMEN CASEID="F{i}"><SPECIMENID>S{i:07d}</SPECIMENID>'
                     f"<SPECIMENCATEGORY>{cat}</SPECIMENCATEGORY>\n"]
            for k, name in enumerate(loci):
                a, b = 8 + (i + k) % 6, 10 + (i * 7 + k) % 6
                parts.append(f'<LOCUS KIT="Bench"><LOCUSNAME>{name}</LOCUSNAME>'
                             f"<ALLELE><ALLELEVALUE>{a}</ALLELEVALUE></ALLELE>"
                             f"<ALLELE><ALLELEVALUE>{b}</ALLELEVALUE></ALLELE></LOCUS>\n")
            parts.append("</SPECIMEN>\n")
            fh.write("".join(parts))
        fh.write("</CODISImportFile>\n")


def measure(what: str, path: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", CHILD, what, str(path)], capture_output=True, text=True,
                         check=False)
    if res.returncode:
        raise SystemExit(f"{what} on {path}: {res.stderr.strip().splitlines()[-1]}")
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specimens", type=int, nargs="+", default=[20_000, 200_000])
    ap.add_argument("--loci", type=int, default=15)
    ap.add_argument("--machine", default="cpu-2core", help="name of the machine, recorded in the result")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    from reunion.frequencies import load_frequency_table
    from reunion.settings import load_settings

    s = load_settings(None)
    table = load_frequency_table(s.frequencies.table, s.frequencies.population)
    loci = [n for n in table.locus_names if n.upper() not in ("AMEL", "AMELOGENIN")][: args.loci]
    result = {"machine": {"name": args.machine, "cpus": os.cpu_count(), "python": platform.python_version()},
              "loci_per_specimen": len(loci), "sizes": []}
    with tempfile.TemporaryDirectory() as tmp:
        base = None
        for n in args.specimens:
            path = Path(tmp) / f"cmf_{n}.xml"
            t0 = time.perf_counter()
            write_cmf(path, n, loci)
            row = {"specimens": n, "file_mib": round(path.stat().st_size / 2**20, 1),
                   "write_seconds": round(time.perf_counter() - t0, 1)}
            if base is None:
                base = measure("baseline", path)
            row["baseline"] = base
            row["stream"] = measure("stream", path)
            row["read"] = measure("read", path)
            result["sizes"].append(row)
            path.unlink()
            print(json.dumps(row), file=sys.stderr)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
