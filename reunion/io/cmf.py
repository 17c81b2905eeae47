"""CODIS CMF XML: the profiles laboratories exchange, read as samples and genotype rows.

Two schema variants are read, told apart by the root element (namespace or local name):

- **CMF 3.2 / 3.3** ("STR Import CMF"): root ``CODISImportFile`` in namespace
  ``urn:CODISImportFile-schema``; ``HEADERVERSION`` says 3.2 or 3.3. A ``SPECIMEN``
  carries the attributes ``SOURCEID``, ``CASEID`` and ``PARTIAL`` and the children
  ``SPECIMENID``, ``SPECIMENCATEGORY``, ``SPECIMENCOMMENT`` and ``LOCUS`` elements; a
  ``LOCUS`` carries ``BATCHID`` and ``KIT`` attributes and the children ``LOCUSNAME``,
  ``READINGBY``, ``READINGDATETIME`` and ``ALLELE`` (``ALLELEVALUE``; attribute
  ``ALLELEREQUIRED``). Element and attribute names as in NCBI OSIRIS's CMF 3.2 reader/writer
  (nwxXmlCMF.cpp, public domain) and the CODIS-32 Appendix-B schema it points to.
- **Rapid Import CMF 1.0 (revision 16 of 2017-09-11, the "2017 schema")**: root
  ``CODISRapidImportFile`` in namespace ``urn:CODISRapidImportFile-schema``, a ``HEADER``
  (``MESSAGEVERSION``, ...) and ``DEVICE`` block, then ``SPECIMEN`` elements whose ``LOCUS``
  has ``LOCUSNAME``, ``KIT`` and ``BATCHID`` children and the same ``ALLELE/ALLELEVALUE``
  (FBI CODIS Rapid Import CMF Interface Specification, revision history: rev 16 2017 baseline,
  rev 17 2019; element layout as written by public exporters, e.g. FragalyseQt's
  codis export and FAIRS CMF Editor's Revision16FileGenerator).

A file without a namespace is read when its root is one of those two names.

What is read (every other element is ignored):

========================  ==========================================================
``SPECIMENID``            ``sample_id``
``SPECIMENCATEGORY``      ``role`` and ``relation`` (:data:`CATEGORIES`)
``SPECIMEN/@CASEID``      ``family_id`` of a relative (attribute configurable)
``LOCUS/LOCUSNAME``       ``locus`` (normalised as the other readers do)
``ALLELE/ALLELEVALUE``    ``allele1``, ``allele2`` (one value: a homozygote)
``KIT`` (LOCUS or root)   ``kit`` of the sample (the first LOCUS's, else the file's)
Amelogenin LOCUS          ``sex`` (X only: F; a Y: M); never a kinship locus
========================  ==========================================================

Rows and accounting. Each ``LOCUS`` element is one genotype row, numbered by the line of
its start tag; each ``SPECIMEN`` element is one samples row, numbered by its line. As in
:mod:`reunion.io.readers`, ``read == accepted + rejected + set aside``: amelogenin and Y-STR
loci are set aside (``skipped``), everything else is accepted or rejected with a reason
that never echoes an allele. A locus with an off-ladder bin (``<6``, ``>17``, ``OL``), more
than two alleles, an empty or unknown value is rejected; the rest of the specimen is kept.

Safety. The file is parsed by :mod:`defusedxml`'s hardened expat parser
(``DefusedXMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)``: a
DOCTYPE, an entity declaration or an external reference is refused by defusedxml's own
handlers, so no entity-expansion bomb, no external entity, no network), and streamed: a specimen's loci are held until its end tag, the
accepted rows are moved into Arrow chunks every :data:`CHUNK_ROWS` rows, so memory does
not grow with the XML (only with the accepted rows, as for any reader). Line numbers are
expat's ``CurrentLineNumber`` in the start-tag handler: the line of the start tag
(xml.etree's iterparse does not report lines, so this module puts its own element handlers
on defusedxml's expat parser rather than build elements and clear them).
"""

from __future__ import annotations

import array
import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from xml.parsers.expat import ExpatError
from xml.parsers.expat import errors as expat_errors

import pyarrow as pa

from reunion.contracts import GENOTYPES, RELATIONS, SAMPLES
from reunion.errors import InputError, require_file
from reunion.io.readers import ReadResult, Reject
from reunion.loci import canonical_allele, locus_kind, valid_allele

log = logging.getLogger(__name__)

#: namespace -> schema family; root local name -> schema family
NAMESPACES = {"urn:CODISImportFile-schema": "3.2", "urn:CODISRapidImportFile-schema": "2017"}
ROOTS = {"CODISImportFile": "3.2", "CODISRapidImportFile": "2017"}

#: SPECIMENCATEGORY (compared case-, space- and punctuation-insensitively) -> (role, relation)
CATEGORIES: dict[str, tuple[str, str | None]] = {
    "Missing Person": ("missing", None),
    "Unidentified Person": ("missing", None),
    "Deduced Missing Person": ("missing", None),
    "Biological Father": ("relative", "father"),
    "Alleged Father": ("relative", "father"),
    "Biological Mother": ("relative", "mother"),
    "Alleged Mother": ("relative", "mother"),
    # CMF does not say full or half: a biological sibling is taken as a full sibling
    "Biological Sibling": ("relative", "full_sibling"),
    "Biological Child": ("relative", "child"),
}
DEFAULT_FAMILY_ATTRIBUTE = "CASEID"
#: accepted rows are moved from Python lists into Arrow every this many rows
CHUNK_ROWS = 65_536

_HEAD_BYTES = 1 << 16
_DECL_RE = re.compile(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL)
_TAG_RE = re.compile(rb"<\s*(?:([A-Za-z_][\w.\-]*):)?([A-Za-z_][\w.\-]*)([^>]*)>", re.DOTALL)


def _category_key(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


_CATEGORY_BY_KEY = {_category_key(k): v for k, v in CATEGORIES.items()}


# --------------------------------------------------------------------------- detection

def is_cmf(path: Path | str) -> bool:
    """True when the file's root element is a CODIS CMF root (by namespace or name).

    Reads the first 64 KiB only, without an XML parser (so a file that a parser would
    refuse, such as one declaring entities, is still recognised and then refused by
    :func:`read_cmf` with its reason). Never raises: an unreadable file is not CMF.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            head = head[:len(head) - len(head) % 2].decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return False
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return False
    m = _TAG_RE.search(_DECL_RE.sub(b"", head))
    if m is None:
        return False
    prefix, local, attrs = m.group(1), m.group(2).decode("ascii", "replace"), m.group(3)
    if local in ROOTS:
        return True
    xmlns = rb"xmlns" + (b":" + prefix if prefix else b"") + rb"\s*=\s*[\"']([^\"']*)[\"']"
    ns = re.search(xmlns, attrs)
    return bool(ns) and ns.group(1).decode("ascii", "replace") in NAMESPACES


# --------------------------------------------------------------------------- result

@dataclass
class CmfResult:
    """What a CMF file holds, in the shapes the other readers return.

    ``samples``: one row per SPECIMEN element the file registers (SAMPLES contract; rows
    numbered by the SPECIMEN's line); specimens whose id ``samples`` (a samples file's
    registrations) already holds are not rows here (``registered_elsewhere`` counts them:
    the samples file's row is their registration). ``genotypes``: one row per LOCUS element
    (GENOTYPES contract; numbered by the LOCUS's line). ``sex``: the sex amelogenin shows
    per specimen (also in ``samples.sex``, and in ``genotypes.observed_sex``).
    """

    path: Path
    schema: str                 # '3.2', '3.3' (HEADERVERSION) or '2017' (Rapid Import CMF)
    samples: ReadResult
    genotypes: ReadResult
    sex: dict[str, str]
    n_specimens: int
    registered_elsewhere: int = 0


def _result(table: pa.Table, rejects: list[Reject], n_read: int, lines: list[int], **extra) -> ReadResult:
    """A ReadResult with the fields this checkout's ReadResult declares (lines, skipped, ...)."""
    have = {f.name for f in fields(ReadResult)}
    return ReadResult(table, rejects, n_read, **{k: v for k, v in
                                                 {"lines": lines, **extra}.items() if k in have})


class _Columns:
    """Accepted rows gathered in Python lists and moved into Arrow chunks (bounded lists)."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.cols: dict[str, list] = {f.name: [] for f in schema}
        self.chunks: list[pa.Table] = []
        self.lines = array.array("q")
        self.n = 0

    def add(self, line: int, *values) -> None:
        for col, v in zip(self.cols.values(), values):
            col.append(v)
        self.lines.append(line)
        self.n += 1
        if len(self.lines) - sum(c.num_rows for c in self.chunks) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.cols[self.schema[0].name]:
            self.chunks.append(pa.Table.from_pydict(self.cols, schema=self.schema))
            for col in self.cols.values():
                col.clear()

    def table(self) -> pa.Table:
        self.flush()
        if not self.chunks:
            return self.schema.empty_table()
        return pa.concat_tables(self.chunks).combine_chunks()


# --------------------------------------------------------------------------- parsing

@dataclass(slots=True)
class _Locus:
    line: int
    name: str = ""
    alleles: list[str] = field(default_factory=list)
    kit: str = ""


@dataclass(slots=True)
class _Specimen:
    line: int
    attrs: dict[str, str]
    file_kit: str = ""
    sid: str = ""
    category: str = ""
    loci: list[_Locus] = field(default_factory=list)


class _Handler:
    """Expat events -> one :class:`_Specimen` at a time, handed to ``on_specimen``.

    Element names arrive as ``uri}local`` (expat's namespace mode, separator ``}``) or
    ``local``; attributes as a flat [name, value, ...] list. ``line`` reads expat's
    current line, which inside a start-element handler is the line of the start tag.
    """

    _TEXT = frozenset({"SPECIMENID", "SPECIMENCATEGORY", "LOCUSNAME", "ALLELEVALUE", "KIT",
                       "HEADERVERSION"})

    def __init__(self, path: Path, on_specimen: Callable[[_Specimen], None]):
        self.path = path
        self.on_specimen = on_specimen
        self.expat = None
        self.schema: str | None = None
        self.file_kit = ""
        self.depth = 0
        self.spec: _Specimen | None = None
        self.locus: _Locus | None = None
        self.text: str | None = None
        self.n_specimens = 0
        self._local: dict[str, str] = {}

    def line(self) -> int:
        return self.expat.CurrentLineNumber if self.expat is not None else 0

    def _split(self, name: str) -> str:
        local = self._local.get(name)
        if local is None:
            local = self._local[name] = name.rpartition("}")[2]
        return local

    def start(self, name: str, attrs: list[str]) -> None:
        local = self._split(name)
        self.depth += 1
        if self.depth == 1:
            uri = name.rpartition("}")[0]
            self.schema = ROOTS.get(local) or NAMESPACES.get(uri)
            if self.schema is None:
                raise InputError(f"{self.path}: line {self.line()}: root element '{local}' is not a "
                                 "CODIS CMF root (CODISImportFile or CODISRapidImportFile); "
                                 "give a CMF 3.2/3.3 or Rapid Import CMF export")
            return
        self.text = "" if local in self._TEXT else None
        if local == "SPECIMEN" and self.spec is None:
            self.spec = _Specimen(self.line(), {self._split(attrs[i]): attrs[i + 1]
                                                for i in range(0, len(attrs), 2)}, self.file_kit)
        elif local == "LOCUS" and self.spec is not None and self.locus is None:
            kit = next((attrs[i + 1].strip() for i in range(0, len(attrs), 2)
                        if self._split(attrs[i]) == "KIT"), "")
            self.locus = _Locus(self.line(), kit=kit)

    def data(self, content: str) -> None:
        if self.text is not None:
            self.text += content

    def end(self, name: str) -> None:
        local = self._split(name)
        self.depth -= 1
        text = self.text.strip() if self.text else ""
        self.text = None
        spec, locus = self.spec, self.locus
        if locus is not None:
            if local == "LOCUSNAME":
                locus.name = text
            elif local == "ALLELEVALUE":
                locus.alleles.append(text)
            elif local == "KIT":
                locus.kit = locus.kit or text
            elif local == "LOCUS":
                spec.loci.append(locus)
                self.locus = None
        elif spec is not None:
            if local == "SPECIMENID":
                spec.sid = text
            elif local == "SPECIMENCATEGORY":
                spec.category = text
            elif local == "SPECIMEN":
                self.spec = None
                self.n_specimens += 1
                self.on_specimen(spec)
        elif local == "HEADERVERSION" and text and self.schema == "3.2":
            self.schema = text
        elif local == "KIT" and self.depth == 1:
            self.file_kit = text


def _parser(handler: _Handler):
    """defusedxml's hardened expat parser (DTDs, entity declarations and external references
    refused by defusedxml's own handlers), with this module's element handlers on it."""
    from defusedxml.ElementTree import DefusedXMLParser

    expat = DefusedXMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True).parser
    expat.StartElementHandler = handler.start
    expat.EndElementHandler = handler.end
    expat.CharacterDataHandler = handler.data
    handler.expat = expat
    return expat


@contextlib.contextmanager
def _refusals(path: Path, handler: _Handler) -> Iterator[None]:
    """Parser refusals and XML errors as one InputError line naming the file and line."""
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

    try:
        yield
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        kind = {DTDForbidden: "a DTD (DOCTYPE declaration)", EntitiesForbidden: "an entity declaration",
                ExternalReferenceForbidden: "an external reference"}[type(exc)]
        raise InputError(f"{path}: line {handler.line()}: the CMF file holds {kind}, which is refused "
                         "(entity-expansion and external-entity attacks); export the CMF without a "
                         "DOCTYPE") from None
    except ExpatError as exc:
        raise InputError(f"{path}: line {exc.lineno}: not well-formed XML "
                         f"({expat_errors.messages[exc.code]}); re-export the CMF file from the lab "
                         "system") from None
    if handler.schema is None:
        raise InputError(f"{path}: no root element; give a CMF 3.2/3.3 or Rapid Import CMF export")


def _feed(path: Path, handler: _Handler) -> Iterator[None]:
    """Parse ``path`` in 64 KiB slices; yields after each slice (its specimens are handed out)."""
    expat = _parser(handler)
    with _refusals(path, handler), open(path, "rb") as fh:
        while chunk := fh.read(_HEAD_BYTES):
            expat.Parse(chunk, False)
            yield
        expat.Parse(b"", True)
    yield


def _parse(path: Path, on_specimen: Callable[[_Specimen], None]) -> _Handler:
    """Stream ``path`` through the hardened parser, one specimen at a time."""
    handler = _Handler(path, on_specimen)
    for _ in _feed(path, handler):
        pass
    return handler


# --------------------------------------------------------------------------- reading

def read_cmf(path: Path | str, normalise: Callable[[str], str | None],
             samples: Mapping[str, str] | None = None, sexes: Mapping[str, str] | None = None,
             family_attribute: str = DEFAULT_FAMILY_ATTRIBUTE, require_role: bool = True) -> CmfResult:
    """Read a CODIS CMF file into a samples result and a genotypes result.

    ``normalise`` maps a LOCUSNAME to the frequency table's spelling or None (a
    :class:`reunion.loci.LocusNormaliser`, as for the other readers). ``samples``
    (sample_id -> role, from samples files): those specimens are registered there, so their
    SPECIMENCATEGORY is not needed, and they are no samples rows here. ``sexes``
    (sample_id -> M/F/U from samples files): an amelogenin call showing the other sex
    rejects that row (the profile is kept), as the genotype reader does.
    ``family_attribute``: the SPECIMEN attribute holding a relative's family (CASEID).
    ``require_role=False`` (``reunion score --profiles``): every specimen's loci are read
    whatever its category, and no samples rows are made.
    """
    path = require_file(Path(path), "CMF genotype")
    file = str(path)
    samples = samples or {}
    sexes = sexes or {}
    suggest = getattr(normalise, "suggest", lambda _n: None)

    s_cols = _Columns(SAMPLES)
    g_cols = _Columns(GENOTYPES)
    s_rejects: list[Reject] = []
    g_rejects: list[Reject] = []
    skipped: dict[str, int] = {}
    unscored: dict[str, tuple[int, str | None]] = {}
    observed: dict[str, str] = {}
    seen_line: dict[str, int] = {}   # specimen id -> line of its first SPECIMEN
    loci_cache: dict[str, tuple[str, str | None]] = {}
    counts = {"s_read": 0, "g_read": 0, "elsewhere": 0, "mismatch": 0}

    def specimen(sp: _Specimen) -> None:
        sid = sp.sid
        why: tuple[str, str, str] | None = None   # (field, reason, short reason): whole specimen rejected
        role = relation = family = None
        if not sid:
            why = ("SPECIMENID", "empty SPECIMENID: every SPECIMEN needs the lab's specimen identifier",
                   "empty SPECIMENID")
        elif sid in seen_line:
            why = ("SPECIMENID", (f"duplicate SPECIMENID '{sid}' (first on line {seen_line[sid]}); "
                                  "each specimen must appear once: remove or renumber this SPECIMEN"),
                   "duplicate SPECIMENID")
        else:
            seen_line[sid] = sp.line
        registered = why is None and sid in samples
        if why is None and not registered and require_role:
            cat = _CATEGORY_BY_KEY.get(_category_key(sp.category))
            if cat is None:
                why = ("SPECIMENCATEGORY", (f"specimen '{sid}' is not a missing-person specimen (category "
                                            f"'{sp.category or '(empty)'}'): only {', '.join(CATEGORIES)} "
                                            "are read; give its role in a samples file to use it"),
                       "not a missing-person specimen")
            else:
                role, relation = cat
                family = sp.attrs.get(family_attribute, "").strip() or None
                if relation is not None and relation not in RELATIONS:
                    why = ("SPECIMENCATEGORY", (f"specimen '{sid}' is a '{sp.category}', relation "
                                                f"'{relation}', which this version does not score "
                                                f"(relations: {', '.join(RELATIONS)}); give it in a "
                                                "samples file with one of those"),
                           f"relation '{relation}' not scored")
                elif role == "relative" and family is None:
                    why = (family_attribute, (f"relative specimen '{sid}' has no {family_attribute} "
                                              "attribute: a relative needs its family (case); add the "
                                              "attribute, set the CMF family attribute, or give the "
                                              "specimen in a samples file"),
                           f"no {family_attribute}")
        if require_role and not registered:
            counts["s_read"] += 1
            if why is not None:
                s_rejects.append(Reject(file, sp.line, why[0], why[1]))
        else:
            counts["elsewhere"] += registered

        # genotype rows: one per LOCUS
        typed: dict[str, int] = {}
        sex = None
        kit = next((lc.kit for lc in sp.loci if lc.kit), "") or sp.file_kit
        for lc in sp.loci:
            counts["g_read"] += 1
            if why is not None:
                g_rejects.append(Reject(file, lc.line, why[0],
                                        f"the SPECIMEN on line {sp.line} is rejected ({why[2]}): "
                                        "its loci are not read; fix that SPECIMEN"))
                continue
            got = _locus(lc)
            if isinstance(got, Reject):
                g_rejects.append(got)
                continue
            raw, kind, values = got
            if kind == "y":
                skipped[raw] = skipped.get(raw, 0) + 1
                continue
            if kind == "amelogenin":
                calls = {v.upper() for v in values}
                if not calls <= {"X", "Y"}:
                    g_rejects.append(Reject(file, lc.line, "ALLELEVALUE", "an amelogenin call is X or Y "
                                            "(X,X female; X,Y male): correct the call"))
                    continue
                seen = "M" if "Y" in calls else "F"
                given = sexes.get(sid, "")
                if given in ("M", "F") and given != seen:
                    counts["mismatch"] += 1
                    g_rejects.append(Reject(file, lc.line, "LOCUSNAME", f"amelogenin of specimen '{sid}' "
                                            f"shows {'male' if seen == 'M' else 'female'} but the samples "
                                            f"file gives sex {given}: check for a sample mix-up or correct "
                                            "the sex; the profile is kept, this locus is not used"))
                    continue
                sex = seen
                skipped[raw] = skipped.get(raw, 0) + 1
                continue
            if raw not in loci_cache:
                loci_cache[raw] = (kind, normalise(raw))
            locus = loci_cache[raw][1]
            if locus is None:
                n, hint = unscored.get(raw, (0, suggest(raw)))
                unscored[raw] = (n + 1, hint)
                did = f" (did you mean '{hint}'?)" if hint else ""
                g_rejects.append(Reject(file, lc.line, "LOCUSNAME", f"locus '{raw}' is not in the run's "
                                        f"frequency table{did}: correct its spelling, or use a frequency "
                                        "table that has it"))
                continue
            if locus in typed:
                g_rejects.append(Reject(file, lc.line, "LOCUSNAME", f"duplicate LOCUS '{locus}' in specimen "
                                        f"'{sid}' (first on line {typed[locus]}): keep one typing per locus"))
                continue
            typed[locus] = lc.line
            g_cols.add(lc.line, sid, locus, values[0], values[-1])
        if sex is not None:
            observed[sid] = sex
        if why is None and require_role and not registered:
            s_cols.add(sp.line, sid, role, family if role == "relative" else None, relation, sex,
                       kit or None, None, None, None, None, None, None)   # no pedigree links in CMF

    def _locus(lc: _Locus):
        """(name, kind, canonical values) or a Reject for a LOCUS element."""
        raw = lc.name
        if not raw:
            return Reject(file, lc.line, "LOCUSNAME", "empty LOCUSNAME: give the marker's name")
        kind = loci_cache[raw][0] if raw in loci_cache else locus_kind(raw)
        values = lc.alleles
        if not values or not any(values):
            return Reject(file, lc.line, "ALLELEVALUE", "no ALLELEVALUE (untyped locus): remove the "
                          "LOCUS or type it")
        if not all(values):
            return Reject(file, lc.line, "ALLELEVALUE", "an empty ALLELEVALUE: give every ALLELE a value "
                          "or remove it")
        if kind == "y":
            return raw, kind, values
        if kind == "amelogenin":
            return raw, kind, values
        if any(v[0] in "<>" for v in values):
            return Reject(file, lc.line, "ALLELEVALUE", "off-ladder bin (an allele below or above the "
                          "ladder, written '<' or '>' a ladder allele): it has no repeat number to match "
                          "on; re-analyse or type the specimen again")
        if any(v.upper() == "OL" for v in values):
            return Reject(file, lc.line, "ALLELEVALUE", "off-ladder (OL) call: re-analyse or type the "
                          "specimen again")
        if not all(valid_allele(v) for v in values):
            return Reject(file, lc.line, "ALLELEVALUE", "not a repeat-number allele label (expected e.g. "
                          "9, 10 or 9.3): correct the allele call")
        canon = sorted({canonical_allele(v) for v in values}, key=float)
        if len(canon) > 2:
            return Reject(file, lc.line, "ALLELE", f"{len(canon)} alleles at an autosomal locus (mixture "
                          "or artefact): resolve the profile before matching")
        return raw, kind, canon

    handler = _parse(path, specimen)

    s_lines = s_cols.lines.tolist()
    g_lines = g_cols.lines.tolist()
    s_res = _result(s_cols.table(), s_rejects, counts["s_read"], s_lines)
    g_res = _result(g_cols.table(), g_rejects, counts["g_read"], g_lines, skipped=skipped,
                    observed_sex=observed, unscored=unscored, sex_mismatches=counts["mismatch"])
    n_skipped = sum(skipped.values())
    assert s_res.n_read == s_res.n_accepted + len(s_rejects)
    assert g_res.n_read == g_res.n_accepted + len(g_rejects) + n_skipped
    log.info("%s: CMF %s, %d specimens (%d registered by a samples file); %d specimen rows accepted, "
             "%d rejected; %d LOCUS rows read, %d accepted, %d rejected, %d set aside (not autosomal)",
             path, handler.schema, handler.n_specimens, counts["elsewhere"], s_res.n_accepted,
             len(s_rejects), g_res.n_read, g_res.n_accepted, len(g_rejects), n_skipped)
    return CmfResult(path, handler.schema, s_res, g_res, observed, handler.n_specimens,
                     counts["elsewhere"])


def iter_specimens(path: Path | str) -> Iterator[tuple[str, str, int]]:
    """(SPECIMENID, SPECIMENCATEGORY, number of LOCUS elements) per specimen, streamed.

    For tools that only look (counting, listing): nothing is accumulated. A generator over
    a push parser: the file is parsed in 64 KiB slices and the specimens of each slice
    handed out before the next is read.
    """
    path = require_file(Path(path), "CMF genotype")
    out: list[_Specimen] = []
    for _ in _feed(path, _Handler(path, out.append)):
        for sp in out:
            yield sp.sid, sp.category, len(sp.loci)
        out.clear()


def restrict(res: ReadResult, registered: set[str] | Mapping[str, str], file: str) -> ReadResult:
    """``res`` (genotypes) without the rows of samples not in ``registered``; those rows are
    rejected. For ingest: a CMF specimen accepted by the reader but rejected by a check across
    files (a sample id already registered, a second father) loses its genotype rows too."""
    sids = res.table.column("sample_id").to_pylist()
    lines = list(getattr(res, "lines", []) or [])
    keep = [i for i, s in enumerate(sids) if s in registered]
    if len(keep) == len(sids):
        return res
    rejects = list(res.rejects) + [
        Reject(file, lines[i] if lines else 0, "SPECIMENID",
               f"specimen '{sids[i]}' was rejected among the samples (see its SPECIMEN row): "
               "its loci are not used")
        for i in range(len(sids)) if sids[i] not in registered]
    rejects.sort(key=lambda r: r.row)
    extra = {k: getattr(res, k) for k in ("skipped", "observed_sex", "unscored", "sex_mismatches")
             if hasattr(res, k)}
    return _result(res.table.take(pa.array(keep, pa.int64())), rejects, res.n_read,
                   [lines[i] for i in keep] if lines else [], **extra)
