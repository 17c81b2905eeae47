"""Data contracts of reunion, declared once and checked at the edges.

Each contract is an Arrow schema whose fields carry a ``description`` in their
metadata, plus the vocabularies the readers validate against. Readers
(:mod:`reunion.io.readers`) check input rows against these declarations and
write every rejected row to a rejects file; writers call :func:`check_table`
before an output leaves the process. Kernels never see these objects.
"""

from __future__ import annotations

import pyarrow as pa

from reunion.errors import InputError

# the JSON files beside the tables (manifest.json, run.json): data_contracts/records.py
from .records import InputRecord as InputRecord
from .records import Manifest as Manifest
from .records import RunRecord as RunRecord
from .records import ShardRecord as ShardRecord

CONTRACT_VERSION = "1.0"


class ContractError(InputError):
    """A table does not conform to its contract (names what was expected and what came)."""


def _f(name: str, typ: pa.DataType, desc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, typ, nullable=nullable, metadata={"description": desc})


# --------------------------------------------------------------------------- samples
ROLES = ("missing", "relative")
#: relations of a registered relative to the family's lost child (reunion.genetics.roles.Relation,
#: in its order): the six original codes, then the sided codes and a missing adult's descendants
#: (issue 16); the side-less half_sibling, grandparent and avuncular are scored as the 1/2-1/2
#: mixture over their sides
RELATIONS = ("father", "mother", "full_sibling", "half_sibling", "grandparent", "avuncular",
             "half_sibling_paternal", "half_sibling_maternal", "paternal_grandfather",
             "paternal_grandmother", "maternal_grandfather", "maternal_grandmother",
             "paternal_uncle_aunt", "maternal_uncle_aunt", "paternal_first_cousin",
             "maternal_first_cousin", "child", "child_other_parent", "grandchild")
#: relations only a family registered as an explicit pedigree (father_id / mother_id) uses: the
#: person searched for (one per family, no genotype rows) and a member labelled by no code
PEDIGREE_RELATIONS = ("lost_child", "other")
SEXES = ("M", "F", "U")

SAMPLES = pa.schema([
    _f("sample_id", pa.string(), "Unique sample identifier (lab barcode); never a name.", False),
    _f("role", pa.string(), "'missing' (found child, unidentified or self-reported abducted person) "
       "or 'relative' (a registered relative searching for a lost child).", False),
    _f("family_id", pa.string(), "Family (case) identifier; required for relatives, empty for missing persons."),
    _f("relation", pa.string(), "Relation of a relative to the family's lost child: "
       + ", ".join(RELATIONS) + " (child, child_other_parent, grandchild: the lost person's own "
       "children, their other parent and grandchildren; half_sibling, grandparent and avuncular "
       "without a side are scored as either side with prior 1/2); empty for missing persons."),
    _f("sex", pa.string(), "Optional: M, F or U; an amelogenin call showing the other sex is a reject "
       "of that genotype row (the profile is kept)."),
    _f("kit", pa.string(), "Optional: typing kit (locus set) used."),
    _f("collected_on", pa.string(), "Optional: collection date, ISO 8601 (YYYY-MM-DD)."),
    _f("region", pa.string(), "Optional: collecting region or blood-collection point."),
    _f("population", pa.string(), "Optional: self-reported population group; samples of another "
       "population than the run's frequency table are counted in the ingest notes."),
    _f("father_id", pa.string(), "Optional, the explicit pedigree form: sample_id of this member's "
       "father, a member of the same family (a row with no genotype rows is an untyped person); empty "
       "for a founder. A family giving any father_id / mother_id, or a lost_child row, is registered "
       "by its links: exactly one member with relation lost_child (no genotype rows), every parent "
       "with its sex, and every other relation (a code above, or other) a label for reviewers."),
    _f("mother_id", pa.string(), "Optional, the explicit pedigree form: sample_id of this member's "
       "mother (see father_id)."),
    _f("lost_sex", pa.string(), "Optional: the lost child's sex (M, F or U) for a family registered by "
       "relation codes, on any of its rows (rows giving it must agree); in the explicit form it is the "
       "lost_child row's sex. A missing person of the other sex (sex column or amelogenin) is not a "
       "candidate of the family (scoring.sex_mismatch)."),
])
SAMPLES_REQUIRED = ("sample_id", "role")
#: the samples' columns of the explicit pedigree form and the lost child's sex, carried by
#: reference shards (absent from shards written before them: read as null)
PEDIGREE_COLUMNS = ("father_id", "mother_id", "lost_sex")

# --------------------------------------------------------------------------- genotypes
GENOTYPES = pa.schema([
    _f("sample_id", pa.string(), "Sample the genotype belongs to (must exist in the samples table).", False),
    _f("locus", pa.string(), "Autosomal STR locus, normalised to the frequency table's spelling.", False),
    _f("allele1", pa.string(), "First allele as a repeat number ('9', '9.3', '10').", False),
    _f("allele2", pa.string(), "Second allele; a homozygote repeats allele1.", False),
])

# --------------------------------------------------------------------------- frequencies
FREQUENCIES = pa.schema([
    _f("population", pa.string(), "Population the frequencies were estimated in.", False),
    _f("locus", pa.string(), "STR locus name.", False),
    _f("allele", pa.string(), "Allele label ('9.3').", False),
    _f("frequency", pa.float64(), "Allele frequency in (0, 1].", False),
    _f("n_individuals", pa.float64(), "Individuals behind the estimate at this locus; null when unknown."),
])

# --------------------------------------------------------------------------- rejects
REJECTS = pa.schema([
    _f("file", pa.string(), "Input file the row came from.", False),
    _f("row", pa.int64(), "Line of the row in that file as an editor or spreadsheet shows it: the "
       "header is line 1, the first data row line 2, blank lines count; for Parquet, the row's "
       "0-based index + 2.", False),
    _f("field", pa.string(), "Field that failed (or '*' for the whole row).", False),
    _f("reason", pa.string(), "Why the row was rejected and how to fix it.", False),
])

# --------------------------------------------------------------------------- encoding
ALLELES = pa.schema([
    _f("locus", pa.string(), "Locus name.", False),
    _f("code", pa.int32(), "Allele code, 0-based within the locus.", False),
    _f("allele", pa.string(), "Allele label.", False),
    _f("frequency", pa.float64(), "Frequency used in every LR.", False),
    _f("source", pa.string(), "'table', or 'floor' when the allele was absent from the table "
       "(minimum frequency 5/2N, or the configured floor when N is unknown).", False),
])


def shard_schema(side: str, n_loci: int) -> pa.Schema:
    """Schema of an encoded shard.

    ``codes`` holds, per locus, the genotype index ``g`` (uint16): 0 = untyped,
    else ``1 + hi*(hi+1)/2 + lo`` for allele codes ``lo <= hi`` (see
    :mod:`reunion.encoding`). Two bytes per locus.
    """
    fields = [
        _f("sample_id", pa.string(), "Sample identifier.", False),
        _f("codes", pa.list_(pa.uint16(), n_loci), "Genotype index per locus (0 = untyped).", False),
    ]
    if side == "query":
        fields.insert(1, _f("sex", pa.string(), "M or F: the samples' sex, else the sex an amelogenin call "
                            "shows; null when unknown (and in shards written before this column).", True))
    if side == "reference":
        fields[1:1] = [
            _f("family_id", pa.string(), "Family identifier; rows of one family are contiguous.", False),
            _f("relation", pa.string(), "Relation to the lost child.", False),
            _f("sex", pa.string(), "M, F or U.", True),
            *(_f(c, pa.string(), SAMPLES.field(c).metadata[b"description"].decode(), True)
              for c in PEDIGREE_COLUMNS),
        ]
    elif side != "query":
        raise ValueError(f"shard side must be 'query' or 'reference', got {side!r}")
    return pa.schema(fields)


# --------------------------------------------------------------------------- registry
REGISTRY = pa.schema([
    _f("sample_id", pa.string(), "Registered sample id (unique across the shard set).", False),
    _f("role", pa.string(), "'missing' or 'relative'.", False),
    _f("family_id", pa.string(), "Family of a relative (null for a missing person)."),
    _f("relation", pa.string(), "Relation of a relative to the lost child (null for a missing person)."),
    _f("shard", pa.string(), "Path of the shard holding the sample's row, relative to the shard set.", False),
    _f("row", pa.int32(), "0-based row of the sample in that shard.", False),
])


# --------------------------------------------------------------------------- candidates
CANDIDATES = pa.schema([
    _f("missing_id", pa.string(), "Missing person (query) sample id.", False),
    _f("rank", pa.int32(), "1 = best candidate family for this missing person.", False),
    _f("family_id", pa.string(), "Candidate family.", False),
    _f("hypothesis", pa.string(), "H1 scored: duo_father, duo_mother, trio, or pair_<relation>; "
       "H2 is always 'unrelated'.", False),
    _f("members", pa.string(), "Family members used, as relation:sample_id;...", False),
    _f("log10_lr", pa.float64(), "Exact float64 log10 LR (-inf = exclusion).", False),
    _f("lr", pa.float64(), "LR = 10**log10_lr.", False),
    _f("loci_compared", pa.int32(), "Loci typed in the missing person and in a member used.", False),
    _f("inconsistent_loci", pa.int32(), "Loci with no Mendelian-compatible transmission (no mutation).", False),
    _f("log10_lr_duo_father", pa.float64(), "Duo LR with the father alone (null if untyped)."),
    _f("log10_lr_duo_mother", pa.float64(), "Duo LR with the mother alone (null if untyped)."),
    _f("floored_alleles", pa.int32(), "Alleles at compared loci that used the rare-allele floor.", False),
])

PER_LOCUS = pa.schema([
    _f("missing_id", pa.string(), "Missing person sample id.", False),
    _f("family_id", pa.string(), "Candidate family.", False),
    _f("locus", pa.string(), "Locus.", False),
    _f("missing_genotype", pa.string(), "Missing person's genotype ('a/b'; empty if untyped).", False),
    _f("father_genotype", pa.string(), "Father's genotype used (empty if none).", False),
    _f("mother_genotype", pa.string(), "Mother's genotype used (empty if none).", False),
    _f("other_genotype", pa.string(), "Other relative used when no parent is typed (empty if none).", False),
    _f("lr", pa.float64(), "Per-locus LR.", False),
    _f("log10_lr", pa.float64(), "Per-locus log10 LR.", False),
    _f("compared", pa.bool_(), "True if the locus counts in loci_compared.", False),
    _f("inconsistent", pa.bool_(), "True if no Mendelian-compatible transmission exists.", False),
    _f("floored", pa.bool_(), "True if an allele here used the rare-allele floor.", False),
])

#: y_haplotypes.parquet of a shard set (reunion/io/yrows.py): the Y-STR haplotypes of its men
#: (missing persons and relatives), one row per man and Y locus, beside the autosomal shards
Y_HAPLOTYPES = pa.schema([
    _f("sample_id", pa.string(), "Sample id of a missing person or relative of the shard set.", False),
    _f("locus", pa.string(), "Y-STR locus, canonical spelling (reunion.genetics.ystr.Y_LOCI).", False),
    _f("value", pa.string(), "Repeat number at a single-copy locus; at a multi-copy locus "
       "(DYS385a/b, ...) the sorted distinct values of its copies joined by ','.", False),
])

#: the Y evidence columns of a run's candidates where the shard set has Y haplotypes and
#: scoring.y_evidence is true (log10_lr is then their total: autosomal + Y)
Y_CANDIDATE_FIELDS = pa.schema([
    _f("log10_lr_autosomal", pa.float64(), "Exact log10 LR of the autosomal loci alone.", False),
    _f("log10_lr_y", pa.float64(), "log10 Y-STR LR: log10 of the product over compared Y loci of "
       "P(missing man's value | typed paternal-line men) minus log10 P(his haplotype over those "
       "loci); null where there is no Y factor (female or untyped missing person, lost child "
       "registered female, no typed paternal-line man)."),
    _f("y_loci_compared", pa.int32(), "Y loci typed in the missing man and in a typed "
       "paternal-line man (0: no Y factor).", False),
    _f("y_haplotype_probability", pa.float64(), "Denominator of the Y LR: the missing man's "
       "haplotype probability over the compared Y loci (null where no Y factor)."),
    _f("y_reason", pa.string(), "Why there is no Y factor ('no Y factor: ...'); null where there is one."),
])
#: candidates of a run with Y evidence
Y_CANDIDATES = pa.schema(list(CANDIDATES) + list(Y_CANDIDATE_FIELDS))
#: per_locus.parquet of a run with Y evidence: the autosomal rows, then per candidate with a Y
#: factor one row per compared Y locus (marker 'y': lr = the numerator P(value | paternal line))
#: and one 'y_haplotype' row (lr = 1 / P(haplotype)); log10_lr of a candidate's rows sums to its
#: log10_lr
Y_PER_LOCUS = pa.schema(list(PER_LOCUS) + [
    _f("marker", pa.string(), "autosomal, y (a Y locus: lr is its numerator factor) or "
       "y_haplotype (the Y denominator: lr = 1 / P(haplotype over the compared Y loci)).", False),
])

# --------------------------------------------------------------------------- calibration
#: columns reunion calibrate appends to a run's candidates (reunion/calibration.py)
CALIBRATED_CANDIDATE_FIELDS = pa.schema([
    pa.field("p_h2", pa.float64(), metadata={"description":
             "Upper bound of P(an unrelated person reaches at least this LR against this family, "
             "on the loci compared); exact to the grid (error_bound_log10) and to the absolute "
             "probability_error (at most calibration.epsilon): a p_h2 at or below 2 x "
             "probability_error reads 'below that', not a value."}),
    pa.field("expected_chance_matches", pa.float64(), metadata={"description":
             "p_h2 x the missing persons searched against this family."}),
    pa.field("p_h1", pa.float64(), metadata={"description":
             "Upper bound of P(the family's true lost child scores at most this LR, on the loci "
             "compared): how typical of a true match."}),
    pa.field("error_bound_log10", pa.float64(), metadata={"description":
             "Grid error bound of p_h2: loci compared x calibration.grid (log10 units); p_h2 "
             "bounds P(LR >= this LR) from above and P(LR >= this LR / 10^error_bound_log10) "
             "from below, up to probability_error."}),
    pa.field("error_bound_log10_h1", pa.float64(), metadata={"description":
             "Grid error bound of p_h1: loci compared x calibration.grid_h1 (log10 units)."}),
    pa.field("probability_error", pa.float64(), metadata={"description":
             "Absolute probability the laws' pruning may add to p_h2 and p_h1 (their larger; <= "
             "calibration.epsilon; 0 with epsilon 0): each is at most this above its gridded "
             "law's value; expected_chance_matches at most this x searched above."}),
])

#: candidates.parquet of a calibrated run (calibration.enabled): the candidates, then the calibration
CALIBRATED_CANDIDATES = pa.schema(list(CANDIDATES) + list(CALIBRATED_CANDIDATE_FIELDS))

#: families.parquet of a run folder (calibration.enabled): each family's power and chance matches
FAMILY_CALIBRATION = pa.schema([
    pa.field("family_id", pa.string(), nullable=False),
    pa.field("hypothesis", pa.string()),
    pa.field("loci_typed", pa.int32(), metadata={"description": "Loci where the family's table is "
                                                  "informative (a member used is typed)."}),
    pa.field("searched", pa.int64(), metadata={"description": "Missing persons searched against it."}),
    pa.field("power", pa.float64(), metadata={"description":
             "Lower bound of P(its true lost child, typed at the family's loci, reaches LR >= "
             "10^power_log10_lr)."}),
    pa.field("power_log10_lr", pa.float64()),
    pa.field("p_h2_at_threshold", pa.float64(), metadata={"description":
             "Upper bound of P(an unrelated person typed at the family's loci reaches the threshold)."}),
    pa.field("expected_chance_matches", pa.float64(), metadata={"description":
             "Expected number of searched unrelated missing persons reaching the threshold (upper "
             "bound to the grid; see persons_approximated)."}),
    pa.field("persons_approximated", pa.int64(), metadata={"description":
             "Searched persons typed at a different locus set than the family, counted as compared "
             "at the family's loci (see calibration.family_summary)."}),
    pa.field("error_bound_log10", pa.float64(), metadata={"description":
             "Grid error bound of the H2 values (p_h2_at_threshold, chance matches): loci x "
             "calibration.grid."}),
    pa.field("expected_chance_matches_curve", pa.list_(pa.float64()), metadata={"description":
             "expected_chance_matches at each log10 LR of calibration.THRESHOLD_GRID."}),
    pa.field("error_bound_log10_h1", pa.float64(), metadata={"description":
             "Grid error bound of power: loci x calibration.grid_h1."}),
    pa.field("probability_error", pa.float64(), metadata={"description":
             "Absolute probability the pruning may move power down and p_h2_at_threshold up "
             "(their laws' largest; <= calibration.epsilon); expected chance matches: at most "
             "this x searched."}),
    # whom to sample next (reunion/sampling_advice.py, settings sampling_advice): null where the
    # family was not advised (advice_skipped says why)
    pa.field("best_next_relative", pa.string(), metadata={"description":
             "Relation code of the additional relative that would raise the power most if typed "
             "at the family's loci (power: the column above, today)."}),
    pa.field("power_with_best", pa.float64(), metadata={"description":
             "Lower bound of the power with that relative typed (its genotype drawn from its law "
             "given the family's data), to loci x sampling_advice.grid."}),
    pa.field("p_h2_with_best", pa.float64(), metadata={"description":
             "Upper bound of P(an unrelated person reaches the threshold) with that relative typed."}),
    pa.field("expected_chance_matches_with_best", pa.float64(), metadata={"description":
             "p_h2_with_best x persons searched (each counted as compared at the family's loci)."}),
    pa.field("next_relatives", pa.list_(pa.struct([pa.field("relation", pa.string()),
                                                   pa.field("power", pa.float64())])),
             metadata={"description": "Every relative offered, in sampling_advice.relatives order, "
                       "with the power it would give (lower bound)."}),
    pa.field("advice_mass_left_out", pa.float64(), metadata={"description":
             "Largest H1 probability of the (relative, lost child) genotype pairs left out "
             "(sampling_advice.min_mass) over the relatives offered: counted as failing."}),
    pa.field("advice_skipped", pa.string(), metadata={"description":
             "Why the family was not advised (null: it was): power at or above max_power, beyond "
             "max_families, explicit pedigree, no hypothesis, no relative applies, advice off."}),
])

#: TABLES/laws/<key>.parquet (reunion/calibration.py LawStore): the families' laws saved beside
#: the run's tables for reruns, as the answers the run asked of them (key: the law settings)
LAW_STORE = pa.schema([
    pa.field("row_sha256", pa.string(), nullable=False, metadata={"description":
             "sha256 (32 hex) of the family's lost-child table row bytes (float64 [W])."}),
    pa.field("loci", pa.binary(), nullable=False, metadata={"description":
             "Loci compared: numpy.packbits of the bool [L] mask in encoding order."}),
    pa.field("hypothesis", pa.string(), nullable=False, metadata={"description": "H2 or H1."}),
    pa.field("x_min", pa.float64(), nullable=False, metadata={"description":
             "Lowest threshold the law answers (its span; calibration.Span)."}),
    pa.field("x_max", pa.float64(), nullable=False, metadata={"description":
             "Highest threshold the law answers (inf: no upper lump)."}),
    pa.field("context", pa.string(), nullable=False, metadata={"description":
             "How the law was computed: 'alone', or 'chain:' + a hash of the locus sets convolved "
             "in one pass with it (calibration.LawCache.prefetch_h2)."}),
    pa.field("sf_x", pa.list_(pa.float64()), nullable=False),
    pa.field("sf", pa.list_(pa.float64()), nullable=False, metadata={"description":
             "The law's sf (its bound, as ScoreDistribution.sf) at each sf_x."}),
    pa.field("cdf_x", pa.list_(pa.float64()), nullable=False),
    pa.field("cdf", pa.list_(pa.float64()), nullable=False, metadata={"description":
             "The law's cdf at each cdf_x."}),
    pa.field("error_bound_log10", pa.float64(), nullable=False),
    pa.field("probability_error", pa.float64(), nullable=False),
])
#: families.parquet's advice columns (reunion/sampling_advice.py), the last of FAMILY_CALIBRATION
FAMILY_ADVICE_FIELDS = ("best_next_relative", "power_with_best", "p_h2_with_best",
                        "expected_chance_matches_with_best", "next_relatives",
                        "advice_mass_left_out", "advice_skipped")


# --------------------------------------------------------------------------- lineage search (issue 20)
#: the Y database's samples file of reunion lineage: men who are not registered relatives
#: (village surveys); every column but sample_id optional
Y_DATABASE_SAMPLES = pa.schema([
    _f("sample_id", pa.string(), "Unique sample identifier of a surveyed man.", False),
    _f("lineage", pa.string(), "Optional: the paternal lineage (clan, branch) he names."),
    _f("surname", pa.string(), "Optional: his surname (paternal in most naming systems)."),
    _f("region", pa.string(), "Optional: village, township or collection region."),
    _f("sex", pa.string(), "Optional: M or U (a woman carries no Y chromosome: rejected)."),
])
Y_DATABASE_REQUIRED = ("sample_id",)

#: lineage_men.parquet / .csv: per male missing person, the Y database men within
#: lineage.max_steps repeat steps, best first
LINEAGE_MEN = pa.schema([
    _f("missing_id", pa.string(), "Male missing person.", False),
    _f("rank", pa.int32(), "1 = the man with the highest log10_lr for this missing person.", False),
    _f("man_id", pa.string(), "Y database man.", False),
    _f("lineage", pa.string(), "His lineage attribute (null if not given)."),
    _f("surname", pa.string(), "His surname attribute (null if not given)."),
    _f("region", pa.string(), "His region attribute (null if not given)."),
    _f("steps", pa.int32(), "Repeat steps between the two haplotypes over the compared loci.", False),
    _f("loci_compared", pa.int32(), "Y loci typed in both (with a mutation rate).", False),
    _f("log10_lr", pa.float64(), "log10 of P(haplotypes | paternal relatives 1..max_meioses "
       "meioses apart, uniform over that number) / P(haplotypes | unrelated).", False),
    _f("best_meioses", pa.int32(), "Number of meioses (to him through a common paternal "
       "ancestor) of highest likelihood.", False),
    _f("log10_lr_best", pa.float64(), "log10 LR at best_meioses.", False),
    _f("meioses_mean", pa.float64(), "Posterior mean of the meioses (uniform prior on "
       "1..max_meioses).", False),
    _f("haplotype_probability", pa.float64(), "Population probability of the missing man's "
       "haplotype over the compared loci (the denominator).", False),
    _f("estimator", pa.string(), "How haplotype_probability was estimated (kappa, counting).", False),
])

#: lineage_groups.parquet / .csv: per male missing person and grouping attribute, the
#: attribute values (lineages, surnames, regions) of the men within reach, best first
LINEAGE_GROUPS = pa.schema([
    _f("missing_id", pa.string(), "Male missing person.", False),
    _f("attribute", pa.string(), "Grouping attribute: lineage, surname or region.", False),
    _f("value", pa.string(), "The attribute's value (a lineage, a surname, a region).", False),
    _f("rank", pa.int32(), "1 = the group whose best man has the highest log10_lr.", False),
    _f("men_within", pa.int32(), "Men of the group within lineage.max_steps.", False),
    _f("men_in_database", pa.int32(), "Men of the group in the Y database.", False),
    _f("best_man_id", pa.string(), "The group's man of highest log10_lr.", False),
    _f("best_log10_lr", pa.float64(), "His log10_lr (the group's rank key).", False),
    _f("best_meioses", pa.int32(), "His best_meioses.", False),
    _f("min_steps", pa.int32(), "Fewest repeat steps to a man of the group.", False),
])

#: thresholds.parquet of a run folder: expected chance matches in the searched database against
#: the LR threshold, per family kind (hypothesis) and loci typed (calibration.chance_thresholds)
CHANCE_THRESHOLDS = pa.schema([
    pa.field("hypothesis", pa.string()),
    pa.field("loci_typed", pa.int32()),
    pa.field("families", pa.int64(), nullable=False, metadata={"description":
             "Families of this kind and loci typed."}),
    pa.field("log10_lr_threshold", pa.float64(), metadata={"description":
             "Smallest log10 LR of calibration.THRESHOLD_GRID at which these families expect at most "
             "one chance match in the searched database (null: none on the grid)."}),
    pa.field("expected_chance_matches_at_threshold", pa.float64(), metadata={"description":
             "Their expected chance matches at log10_lr_threshold (upper bound to the grid)."}),
    pa.field("curve", pa.list_(pa.float64()), nullable=False, metadata={"description":
             "Expected chance matches at each log10 LR of calibration.THRESHOLD_GRID (the sum of "
             "the families' expected_chance_matches_curve)."}),
])


def check_table(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """Check that ``table`` carries every field of ``schema`` with the declared type.

    Returns the table with columns ordered as the schema. Raises
    :class:`ContractError` naming the field, the expected and the actual type.
    """
    cols = []
    for field in schema:
        if field.name not in table.column_names:
            raise ContractError(
                f"{what}: missing column '{field.name}' ({field.type}); columns present: "
                f"{', '.join(table.column_names)}. Add the column or fix its header.")
        col = table.column(field.name)
        if col.type != field.type:
            raise ContractError(
                f"{what}: column '{field.name}' is {col.type}, expected {field.type}.")
        if not field.nullable and col.null_count:
            raise ContractError(f"{what}: column '{field.name}' has {col.null_count} null values; "
                                "the contract requires a value in every row.")
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)

