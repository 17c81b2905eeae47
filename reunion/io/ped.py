"""The R pedsuite's files (pedtools / forrel): write a run's candidate so a reviewer
reproduces its LR with ``forrel::kinshipLR``, and read such a folder back.

``reunion export-case RUN MISSING_ID FAMILY_ID --format ped --out FOLDER`` writes:

- ``H1.ped`` and ``H2.ped``: the two hypotheses as pedigree files in the layout
  ``pedtools::readPed`` reads (Vigeland, pedtools, github.com/magnusdv/pedtools, GPL-3:
  ``R/readPed.R`` at commit e6b1a30, and the reference manual's ``readPed`` / ``as.ped``
  pages, https://search.r-project.org/CRAN/refmans/pedtools/html/readPed.html): a header line ``famid id fid mid sex`` then one column per
  marker; tab-separated (``colSep = "\\t"``: marker names such as ``Penta D`` hold a space);
  ``fid`` / ``mid`` are ``0`` for a founder; ``sex`` 1 male, 2 female, 0 unknown; a genotype is
  ``a/b`` (``sep = "/"``), an untyped one ``-/-`` (``missing = "-"``). ``famid`` names each
  connected component, so H2 (the family, the lost child's place untyped, and the missing
  person apart) reads as a list of two pedigrees, as ``kinshipLR`` takes a hypothesis.
- ``frequencies.txt``: the run's allele frequencies (its encoding: the rare-allele floor
  included, as the run used them) in the "list" format of ``pedtools::readFreqDatabase``
  (pedtools ``?freqDatabase``, ``R/marker_database.R``: the file is read by ``read.table``
  as two columns, a row without a frequency starting a marker): per marker a line with its
  name, then one line ``allele frequency`` per allele, a blank line between markers. Names
  and labels are double-quoted (``read.table``'s default quoting), as a name may hold a
  space (``Penta D``). A run whose rare-allele floor added alleles holds frequencies summing
  to slightly more than 1, written as used; pedtools may refuse such a marker
  (``readFreqDatabase(..., scale1 = TRUE)`` rescales it, which moves the LR slightly).
- ``mutation.tsv``: per marker and parent sex, the pedmut model (``equal``, ``proportional``,
  ``stepwise``), ``rate``, ``rate2`` and ``range`` (``pedmut::mutationModel``'s arguments; a
  model of rate 0 is the identity).
- ``reproduce.R``: loads the three with pedtools, sets the models with ``pedtools::setMutmod``
  and prints ``forrel::kinshipLR(H1, H2, ref = "H2")`` beside the run's LR.

R is not part of reunion's environment: the folder is checked by reading it back here
(:func:`read_case_folder`, the same :class:`~reunion.io.familias.FamiliasCase` the Familias
reader returns) and scoring it with the engine (:func:`reunion.io.familias.score_case`);
tests/io/test_familias.py gets the run's LR to 1e-9 for the trio, duo, nuclear and pedigree
hypotheses (and sibling pairs where the run has them) of a run under each mutation model;
tests/io/test_ped.py checks the reader by hand.

Errors: one :class:`InputError` line naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import io
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reunion.errors import InputError, require_file
from reunion.io.familias import FamiliasCase, FamLocus, FamPedigree, FamPerson

__all__ = [
    "PedRow",
    "read_case_folder",
    "read_freq_database",
    "read_mutation_table",
    "read_ped",
    "write_case_folder",
]

PED_COLUMNS = ("famid", "id", "fid", "mid", "sex")
MISSING = "-"
#: Familias model code (:data:`reunion.io.familias.MODEL_CODES`) <-> pedmut model name; the
#: extended stepwise model (4) is pedmut's ``stepwise`` (rate, rate2, range)
PEDMUT = {0: "equal", 1: "proportional", 4: "stepwise"}
FAMILIAS_CODE = {v: k for k, v in PEDMUT.items()}
SEX_CODE = {"M": "1", "F": "2"}
MUTATION_COLUMNS = ("marker", "sex", "model", "rate", "rate2", "range")


@dataclass(frozen=True)
class PedRow:
    """One individual of a ped file: ``genotypes`` marker name -> (allele, allele) labels
    (untyped markers absent); ``father`` / ``mother`` None for a founder; ``sex`` 'M', 'F' or
    None (0, unknown)."""

    famid: str
    id: str
    father: str | None
    mother: str | None
    sex: str | None
    genotypes: dict[str, tuple[str, str]]
    line: int


# ------------------------------------------------------------------------ writing
def _plain(value: str, what: str) -> str:
    if not value or any(c in value for c in "\t\n\r\"") or value in ("0", MISSING):
        raise InputError(f"{what} '{value}' cannot be written to a ped file (empty, '0', '-', a tab, "
                         "a quote or a line break)")
    return value


def _components(ids: Sequence[str], links: Sequence[tuple[str, str]]) -> dict[str, int]:
    """id -> index of its connected component (by parent-child links), in order of ids."""
    root = {i: i for i in ids}

    def find(i: str) -> str:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i
    for a, b in links:
        root[find(a)] = find(b)
    order: dict[str, int] = {}
    return {i: order.setdefault(find(i), len(order)) for i in ids}


def ped_text(case: FamiliasCase, fp: FamPedigree) -> str:
    """The ped file of one pedigree of ``case`` (module docstring)."""
    sex = {p.name: p.sex for p in case.persons} | dict(fp.extras)
    parents: dict[str, dict[str, str]] = {n: {} for n in sex}
    for parent, child in fp.links:
        parents[child]["father" if sex[parent] == "M" else "mother"] = parent
    ids = list(sex)
    comp = _components(ids, fp.links)
    genos = {p.name: p.genotypes for p in case.persons}
    markers = [lc.name for lc in case.loci]
    out = io.StringIO()
    w = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
    w.writerow([*PED_COLUMNS, *(_plain(m, "marker name") for m in markers)])
    for i in ids:
        par = parents[i]
        if len(par) == 1:
            raise InputError(f"pedigree {fp.name}: {i} has one parent; a ped file needs both or neither")
        g = genos.get(i, {})
        w.writerow([f"F{comp[i] + 1}", _plain(i, "person id"), par.get("father", "0"), par.get("mother", "0"),
                    SEX_CODE.get(sex[i], "0"),
                    *("/".join(_plain(a, "allele") for a in g[m]) if m in g else f"{MISSING}/{MISSING}"
                      for m in markers)])
    return out.getvalue()


def _q(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


def freq_database_text(loci: Sequence[FamLocus]) -> str:
    """pedtools' "list" frequency database of ``loci`` (module docstring)."""
    blocks = []
    for lc in loci:
        lines = [_q(lc.name)] + [f"{_q(a)} {float(f)!r}" for a, f in zip(lc.alleles, lc.frequencies)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def mutation_text(loci: Sequence[FamLocus]) -> str:
    out = io.StringIO()
    w = csv.writer(out, delimiter="\t", lineterminator="\n")
    w.writerow(MUTATION_COLUMNS)
    for lc in loci:
        for sex, who in (("F", "female"), ("M", "male")):
            code = lc.model[sex]
            if code not in PEDMUT:
                raise InputError(f"locus {lc.name}: Familias model {code} has no pedmut counterpart here")
            w.writerow([lc.name, who, PEDMUT[code], repr(float(lc.rate[sex])), repr(float(lc.rate2[sex])),
                        repr(float(lc.range_[sex]))])
    return out.getvalue()


REPRODUCE_R = """# Reproduce reunion's LR for {title} with the R pedsuite.
# Written by `reunion export-case --format ped`; needs pedtools, pedmut and forrel (CRAN).
# Run it in this folder: Rscript reproduce.R
library(pedtools)
library(forrel)

db <- readFreqDatabase("frequencies.txt", format = "list")
loci <- lapply(names(db), function(m) list(name = m, alleles = names(db[[m]]), afreq = unname(db[[m]])))
read_hypothesis <- function(file)
  readPed(file, colSep = "\\t", sep = "/", missing = "-", locusAttributes = loci)
H1 <- read_hypothesis("H1.ped")
H2 <- read_hypothesis("H2.ped")

mut <- read.delim("mutation.tsv", stringsAsFactors = FALSE, check.names = FALSE)
set_models <- function(x) {{
  for (m in unique(mut$marker)) {{
    f <- mut[mut$marker == m & mut$sex == "female", ]
    s <- mut[mut$marker == m & mut$sex == "male", ]
    args <- list(x, markers = m, model = list(female = f$model, male = s$model),
                 rate = list(female = f$rate, male = s$rate))
    if (f$model == "stepwise")   # rate2 and range are arguments of pedmut's stepwise model only
      args <- c(args, list(rate2 = list(female = f$rate2, male = s$rate2),
                           range = list(female = f$range, male = s$range)))
    x <- do.call(setMutmod, args)
  }}
  x
}}
H1 <- set_models(H1)
H2 <- set_models(H2)

res <- kinshipLR(H1 = H1, H2 = H2, ref = "H2")
print(res)
cat("pedsuite LR(H1:H2):", format(res$LRtotal[["H1"]], digits = 12), "\\n")
cat("reunion  LR(H1:H2):", "{lr}", "(log10 {log10_lr})\\n")
"""


def write_case_folder(case: FamiliasCase, out: Path | str, title: str, log10_lr: float) -> Path:
    """Write ``case`` (H1 and H2, :func:`reunion.io.familias.candidate_hypotheses`) to the
    folder ``out`` as the pedsuite reads it (module docstring); every file atomically."""
    from reunion.io import atomic

    if len(case.pedigrees) != 2:
        raise InputError(f"{title}: a pedsuite export holds two hypotheses, H1 and H2")
    out = atomic.ensure_dir(Path(out))
    h1, h2 = case.pedigrees
    atomic.write_text(out / "H1.ped", ped_text(case, h1))
    atomic.write_text(out / "H2.ped", ped_text(case, h2))
    atomic.write_text(out / "frequencies.txt", freq_database_text(case.loci))
    atomic.write_text(out / "mutation.tsv", mutation_text(case.loci))
    lr = 10.0 ** log10_lr if log10_lr < 308 else float("inf")
    atomic.write_text(out / "reproduce.R", REPRODUCE_R.format(title=title, lr=f"{lr:.12g}",
                                                             log10_lr=f"{log10_lr:.12g}"))
    return out


# ------------------------------------------------------------------------ reading
def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def read_ped(path: Path | str) -> tuple[list[str], list[PedRow]]:
    """(marker names, individuals) of a ped file with a header line (``id``, ``fid``, ``mid``,
    ``sex``, optionally ``famid``, then marker columns of ``a/b`` genotypes; tab-separated, or
    white space when there is no tab). ``0`` is no parent; ``-`` / ``0`` / ``NA`` an untyped allele."""
    path = require_file(path, "ped file")
    lines = _read_lines(path)
    if not lines:
        raise InputError(f"{path}: empty; a ped file starts with a header line 'id fid mid sex ...'")
    split = (lambda s: s.split("\t")) if "\t" in lines[0] else shlex.split
    head = [h.strip().strip('"') for h in split(lines[0])]
    low = [h.lower() for h in head]
    for need in ("id", "fid", "mid", "sex"):
        if need not in low:
            raise InputError(f"{path}: line 1: no '{need}' column; the header needs id, fid, mid and sex")
    col = {c: low.index(c) for c in PED_COLUMNS if c in low}
    markers = [h for k, h in enumerate(head) if k not in col.values()]
    mcols = [k for k in range(len(head)) if k not in col.values()]
    rows: list[PedRow] = []
    seen: set[str] = set()
    for n, ln in enumerate(lines[1:], start=2):
        if not ln.strip():
            continue
        cells = [c.strip().strip('"') for c in split(ln)]
        if len(cells) != len(head):
            raise InputError(f"{path}: line {n}: {len(cells)} fields, the header has {len(head)}")
        pid = cells[col["id"]]
        if not pid or pid in seen:
            raise InputError(f"{path}: line {n}, field id: '{pid}' is empty or repeats an earlier id")
        seen.add(pid)
        sex = {"1": "M", "2": "F", "0": None}.get(cells[col["sex"]], "?")
        if sex == "?":
            raise InputError(f"{path}: line {n}, field sex: '{cells[col['sex']]}' is not 0, 1 or 2")
        fid, mid = cells[col["fid"]], cells[col["mid"]]
        if (fid == "0") != (mid == "0"):
            raise InputError(f"{path}: line {n}, fields fid/mid: {pid} has one parent; give both or neither")
        g = {}
        for m, k in zip(markers, mcols):
            parts = cells[k].split("/")
            if len(parts) != 2:
                raise InputError(f"{path}: line {n}, field {m}: '{cells[k]}' is not a genotype 'a/b'")
            untyped = [a in (MISSING, "0", "NA", "") for a in parts]
            if all(untyped):
                continue
            if any(untyped):
                raise InputError(f"{path}: line {n}, field {m}: '{cells[k]}' is half typed; reunion reads "
                                 "both alleles or neither")
            g[m] = (parts[0], parts[1])
        rows.append(PedRow(cells[col["famid"]] if "famid" in col else "1", pid,
                           None if fid == "0" else fid, None if mid == "0" else mid, sex, g, n))
    sex_of = {r.id: r.sex for r in rows}
    for r in rows:
        for who, link, must in (("fid", r.father, "M"), ("mid", r.mother, "F")):
            if link is not None and link not in seen:
                raise InputError(f"{path}: line {r.line}, field {who}: '{link}' is not an id of the file")
            if link is not None and sex_of[link] != must:
                raise InputError(f"{path}: line {r.line}, field {who}: '{link}' has sex "
                                 f"{ {'M': 1, 'F': 2}.get(sex_of[link], 0)}; a father is 1, a mother 2")
    return markers, rows


def read_freq_database(path: Path | str) -> dict[str, dict[str, float]]:
    """marker -> allele -> frequency from pedtools' "list" frequency database (module docstring)."""
    path = require_file(path, "frequency database")
    db: dict[str, dict[str, float]] = {}
    marker = None
    for n, ln in enumerate(_read_lines(path), start=1):
        if not ln.strip():
            continue
        try:
            cells = shlex.split(ln)
        except ValueError:
            raise InputError(f"{path}: line {n}: an unclosed quote") from None
        if len(cells) == 1:
            marker = cells[0]
            if marker in db:
                raise InputError(f"{path}: line {n}: marker '{marker}' repeats")
            db[marker] = {}
            continue
        if marker is None or len(cells) != 2:
            raise InputError(f"{path}: line {n}: expected a marker name or 'allele frequency'")
        try:
            f = float(cells[1])
        except ValueError:
            raise InputError(f"{path}: line {n}, marker {marker}, allele {cells[0]}: frequency "
                             f"'{cells[1]}' is not a number") from None
        if not 0.0 < f <= 1.0 or cells[0] in db[marker]:
            raise InputError(f"{path}: line {n}, marker {marker}, allele {cells[0]}: frequency {f:g} is "
                             "not in (0, 1] or the allele repeats")
        db[marker][cells[0]] = f
    empty = [m for m, a in db.items() if not a]
    if empty or not db:
        raise InputError(f"{path}: marker '{empty[0] if empty else '?'}' has no alleles; a 'list' database "
                         "gives each marker's name then its 'allele frequency' lines")
    return db


def read_mutation_table(path: Path | str) -> dict[str, dict[str, tuple[str, float, float, float]]]:
    """marker -> parent sex ('F' / 'M') -> (pedmut model, rate, rate2, range) of ``mutation.tsv``."""
    path = require_file(path, "mutation table")
    lines = _read_lines(path)
    if not lines or tuple(lines[0].split("\t")) != MUTATION_COLUMNS:
        raise InputError(f"{path}: line 1 must be the header {' '.join(MUTATION_COLUMNS)} (tab-separated)")
    out: dict[str, dict[str, tuple[str, float, float, float]]] = {}
    for n, row in enumerate(csv.reader(lines[1:], delimiter="\t"), start=2):
        if not row:
            continue
        if len(row) != len(MUTATION_COLUMNS):
            raise InputError(f"{path}: line {n}: {len(row)} fields, expected {len(MUTATION_COLUMNS)}")
        marker, who, model = row[0], row[1], row[2]
        sex = {"female": "F", "male": "M"}.get(who)
        if sex is None:
            raise InputError(f"{path}: line {n}, field sex: '{who}' is not female or male")
        if model not in FAMILIAS_CODE:
            raise InputError(f"{path}: line {n}, field model: '{model}' is not one of "
                             f"{', '.join(FAMILIAS_CODE)} (the pedmut models reunion has)")
        vals = []
        for name, v in zip(MUTATION_COLUMNS[3:], row[3:]):
            try:
                vals.append(float(v))
            except ValueError:
                raise InputError(f"{path}: line {n}, field {name}: '{v}' is not a number") from None
            if not 0.0 <= vals[-1] <= 1.0:
                raise InputError(f"{path}: line {n}, field {name}: {v} is not in [0, 1]")
        out.setdefault(marker, {})[sex] = (model, *vals)
    for m, by in out.items():
        if set(by) != {"F", "M"}:
            raise InputError(f"{path}: marker {m}: give one female and one male row")
    return out


def read_case_folder(folder: Path | str) -> FamiliasCase:
    """The case an export folder holds (H1.ped, H2.ped, frequencies.txt, mutation.tsv) as a
    :class:`FamiliasCase` of pedigrees ``H1`` and ``H2``, ready for
    :func:`reunion.io.familias.score_case`. A person typed in both files must carry the same
    genotypes; every marker of a ped file must be in the database and the mutation table."""
    folder = Path(folder)
    db = read_freq_database(folder / "frequencies.txt")
    mut = read_mutation_table(folder / "mutation.tsv")
    loci = []
    for m, freqs in db.items():
        if m not in mut:
            raise InputError(f"{folder / 'mutation.tsv'}: no rows for marker {m} of frequencies.txt")
        by = mut[m]
        loci.append(FamLocus(m, tuple(freqs), tuple(freqs.values()),
                             {s: FAMILIAS_CODE[by[s][0]] for s in "FM"}, {s: by[s][1] for s in "FM"},
                             {s: by[s][3] for s in "FM"}, {s: by[s][2] for s in "FM"}))
    persons: dict[str, FamPerson] = {}
    where: dict[str, Path] = {}
    peds = []
    for name in ("H1", "H2"):
        path = folder / f"{name}.ped"
        markers, rows = read_ped(path)
        for m in markers:
            if m not in db:
                raise InputError(f"{path}: line 1: marker {m} is not in frequencies.txt")
        extras = []
        for r in rows:
            for m, (a, b) in r.genotypes.items():
                if a not in db[m] or b not in db[m]:
                    raise InputError(f"{path}: line {r.line}, field {m}: allele of '{a}/{b}' not in "
                                     "frequencies.txt")
            if not r.genotypes:
                extras.append((r.id, r.sex or "F"))
                continue
            p = FamPerson(r.id, r.sex or "F", dict(r.genotypes))
            if r.id in persons and persons[r.id].genotypes != p.genotypes:
                raise InputError(f"{path}: line {r.line}: {r.id}'s genotypes differ from {where[r.id]}")
            persons.setdefault(r.id, p)
            where.setdefault(r.id, path)
        links = tuple((parent, r.id) for r in rows for parent in (r.father, r.mother) if parent is not None)
        peds.append(FamPedigree(name, tuple(extras), links))
        typed = {r.id for r in rows if r.genotypes}
        if name == "H2" and typed != {p for p in persons}:
            odd = sorted(typed ^ set(persons))[0]
            raise InputError(f"{path}: {odd} is typed in one of H1.ped and H2.ped only; both hypotheses "
                             "hold the same typed persons")
    return FamiliasCase("pedsuite", tuple(persons.values()), tuple(peds), tuple(loci), 0.0, "pedsuite",
                        folder)
