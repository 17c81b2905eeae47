"""Typed settings tree of a reunion run, read from configs/*.yaml.

Every field is described and bounded. ``load_settings`` reads a YAML file and
applies ``section.field=value`` overrides from the command line. Relative
paths in a YAML file are resolved against that file's folder.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from enum import IntEnum
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from reunion.contracts import GENOTYPES, SAMPLES
from reunion.errors import SettingsError
from reunion.genetics.roles import Relation
from reunion.genetics.theta import THETA_CONFIGURABLE

# reunion/configs is a symlink to the checkout's configs/ (copied into a built install), so the
# shipped YAML and frequency tables are found wherever the package is; resolved so that a
# checkout's paths, and with them every settings digest, are those of configs/ itself.
CONFIG_DIR = (Path(__file__).resolve().parent / "configs").resolve()
DEFAULT_CONFIG = CONFIG_DIR / "demo.yaml"

Device = Literal["cpu", "gpu", "auto"]

#: LR at or above which a candidate supports parentage (the CPI of SF/Z JD0105001-2016):
#: the report's strong_lr default and, as log10, scoring.keep_all_log10_lr's
STRONG_LR = 10_000

#: Sundays 02:00 UTC: the weekly national re-match (``reunion serve``, flows/deploy.py)
WEEKLY_CRON = "0 2 * * 0"


class Affects(IntEnum):
    """What a setting changes; each level includes the ones below it."""

    NOTHING = 0   # how the work is run (devices, cluster, shard sizes): results are equal
    PIECES = 1    # how the work is cut into resumable pieces, not what they compute
    LISTS = 2     # which candidates are listed, not the lost-child tables
    TABLES = 3    # the lost-child tables, so every score


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    #: field name -> what it changes (every field is declared; tests/test_cli_settings.py checks)
    AFFECTS: ClassVar[dict[str, Affects]] = {}


class FrequencySettings(_Model):
    AFFECTS = {"table": Affects.TABLES, "population": Affects.TABLES, "floor": Affects.TABLES}
    table: Path = Field(CONFIG_DIR / "frequencies" / "nist1036_us_2017.csv",
                        description="Allele-frequency table (CSV or Parquet, frequencies contract).")
    population: str | None = Field("Asian", description="Population of the table to use; "
                                   "None when the table holds one population.")
    floor: float = Field(0.001, gt=0.0, le=0.05, description="Minimum frequency for alleles absent "
                         "from the table when the table gives no sample size N (else 5/2N).")


class MutationSettings(_Model):
    AFFECTS = {f: Affects.TABLES for f in ("model", "rate", "rate_male", "rate_female", "rate2", "range",
                                           "locus_rates")}
    model: Literal["none", "equal", "proportional", "stepwise"] = Field(
        "stepwise", description="Mutation model for parent-child transmissions (KINSHIP.md); "
        "'stepwise' is Familias' stepwise unstationary model.")
    rate: float = Field(0.002, ge=0.0, le=0.1, description="Per-locus, per-transmission mutation rate.")
    rate_male: float | None = Field(None, ge=0.0, le=0.1, description="Paternal rate (overrides 'rate').")
    rate_female: float | None = Field(None, ge=0.0, le=0.1, description="Maternal rate (overrides 'rate').")
    rate2: float = Field(1e-6, ge=0.0, le=0.01, description="Stepwise: rate of jumps between "
                         "microvariant groups (e.g. 9 -> 9.3).")
    range: float = Field(0.1, gt=0.0, lt=1.0, description="Stepwise: relative probability of each "
                         "further repeat step (range**|step|).")
    locus_rates: dict[str, float] = Field(default_factory=dict, description="Per-locus rates "
                                          "(both sexes), overriding 'rate', 'rate_male', 'rate_female'.")

    @field_validator("locus_rates")
    @classmethod
    def _bounded(cls, v: dict[str, float]) -> dict[str, float]:
        for k, r in v.items():
            if not 0.0 <= r <= 0.1:
                raise ValueError(f"locus_rates[{k}] = {r} is outside [0, 0.1]")
        return v

    def rate_for(self, locus: str, sex: Literal["M", "F"]) -> float:
        if locus in self.locus_rates:
            return self.locus_rates[locus]
        sexed = self.rate_male if sex == "M" else self.rate_female
        return self.rate if sexed is None else sexed


class IngestSettings(_Model):
    AFFECTS = {"families_per_shard": Affects.NOTHING, "queries_per_shard": Affects.NOTHING,
               "format": Affects.NOTHING, "cmf_family_attribute": Affects.NOTHING,
               "streaming": Affects.NOTHING, "batch_rows": Affects.NOTHING}
    families_per_shard: int = Field(2000, ge=1, le=10_000_000, description="Families per "
                                    "reference shard (a family never spans two shards).")
    queries_per_shard: int = Field(2000, ge=1, le=10_000_000, description="Missing persons per query shard.")
    format: Literal["parquet", "arrow"] = Field("parquet", description="Shard file format "
                                                "(Parquet or Arrow IPC).")
    cmf_family_attribute: str = Field("CASEID", min_length=1, max_length=64, description="SPECIMEN "
                                      "attribute of a CODIS CMF file that gives a relative's family "
                                      "(case) id.")
    streaming: bool = Field(True, description="Read genotype files (CSV or tab-separated text in UTF-8, "
                            "Parquet) in batches of batch_rows rows, checked vectorised (reunion.io.stream; the "
                            "same rejects, reasons and line numbers); other files (UTF-16, spreadsheets, CMF) "
                            "are read whole. false: every genotype file is read whole, row by row (the reader "
                            "the streaming one is tested against).")
    batch_rows: int = Field(1_000_000, ge=1, le=50_000_000, description="Genotype rows per streamed batch "
                            "(ingest.streaming): the genotype reader holds one batch of cells at a time, so its "
                            "memory grows with this, not with the file.")


class ScoringSettings(_Model):
    AFFECTS = {"device": Affects.NOTHING, "query_block": Affects.PIECES, "pairs_per_task": Affects.NOTHING,
               "top_k": Affects.LISTS,
               "log10_lr_floor": Affects.LISTS, "keep_all_log10_lr": Affects.LISTS,
               "min_typed_loci": Affects.LISTS, "theta": Affects.TABLES,
               "pedigree": Affects.TABLES, "sex_mismatch": Affects.LISTS, "y_evidence": Affects.LISTS}
    device: Device = Field("cpu", description="Screening kernel: cpu (numba), gpu (CuPy), "
                           "auto (gpu when a usable GPU is present).")
    top_k: int = Field(10, ge=1, le=1000, description="Candidates kept per missing person.")
    log10_lr_floor: float = Field(0.0, ge=-50.0, le=50.0, description="Candidates below this "
                                  "log10 LR are not kept.")
    keep_all_log10_lr: float | None = Field(math.log10(STRONG_LR), ge=-50.0, le=50.0, description="Every candidate at "
                                            "or above this log10 LR is listed, even beyond top_k (4 = "
                                            "LR 10,000, the CPI at which parentage is supported, as the "
                                            "report's strong_lr): no "
                                            "strong candidate is hidden by a full list. None lists top_k "
                                            "only. Must be at least log10_lr_floor.")
    query_block: int = Field(1000, ge=1, le=1_000_000, description="Missing persons per scoring task "
                             "(a block never spans two query shards, so at most ingest.queries_per_shard; "
                             "every task screens its block against one reference shard, so small blocks "
                             "pay that shard's preparation many times).")
    pairs_per_task: int = Field(20_000_000, ge=1, le=10**13, description="Pairs (missing persons x "
                                "families) a screening task aims at: consecutive reference shards are "
                                "screened against a query block in one task until their families x the "
                                "block's missing persons reach it (a shard is never split; 1 = one shard "
                                "a task). Only how the work is scheduled: never a result, and the "
                                "resumable pieces stay one per (query block, reference shard).")
    theta: float = Field(0.0, ge=0.0, le=THETA_CONFIGURABLE, description="Subpopulation correction (Fst, "
                         "Balding-Nichols / NRC II 4.10) for trio, duo and pairwise hypotheses; "
                         "0 = none. Needs mutation.model 'none'.")
    min_typed_loci: int = Field(6, ge=1, le=100, description="Missing persons typed at fewer loci "
                                "are not searched (listed in the run summary).")
    pedigree: bool = Field(True, description="Score a family beyond the parents-and-siblings menu "
                           "(grandparents, uncles / aunts, cousins, sided half siblings, a missing "
                           "adult's children; two or more typed relatives of which one is such) "
                           "jointly through the pedigree engine (hypothesis 'pedigree', every typed "
                           "member at once). false: such a family is scored by the relative typed at "
                           "the most loci (pairwise), and a family with only cousins or "
                           "descendants typed (no pairwise formula) is not scored. Not used with "
                           "theta > 0 (the engine is theta-free): families are then scored as with false.")
    sex_mismatch: Literal["exclude", "flag"] = Field("exclude", description="A missing person whose sex "
                                                     "(the samples' sex, else amelogenin) is known and differs "
                                                     "from the sex registered for a family's lost child "
                                                     "(lost_child row, or lost_sex): exclude = that family is "
                                                     "not a candidate (screened out before the top_k); flag = "
                                                     "listed as any other, and the reviewers' table marks it: "
                                                     "category at most 'inconclusive', the reason naming both "
                                                     "sexes (a registration error to check, or a wrong match).")

    y_evidence: bool = Field(True, description="Multiply the autosomal LR of a male (or unknown-sex) "
                             "missing person and a family with typed paternal-line men by their "
                             "Y-STR LR (issue 20; the ystr section; docs/YSTR.md): screened and "
                             "ranked by the total. false: autosomal evidence only (the Y "
                             "haplotypes kept at ingest are not used).")

    @model_validator(mode="after")
    def _keep_all_above_floor(self) -> "ScoringSettings":
        if self.keep_all_log10_lr is not None and self.keep_all_log10_lr < self.log10_lr_floor:
            raise ValueError(f"scoring.keep_all_log10_lr = {self.keep_all_log10_lr} is below "
                             f"scoring.log10_lr_floor = {self.log10_lr_floor}: every list would hold "
                             "every candidate; raise it (4 = LR 10,000) or set it to null")
        return self


class ClusterSettings(_Model):
    AFFECTS = {f: Affects.NOTHING for f in ("kind", "address", "n_workers", "threads_per_worker",
                                            "dashboard_address", "host_workers")}
    kind: Literal["auto", "local-cpu", "local-gpu", "local-threads", "address"] = Field(
        "auto", description="Dask cluster: auto (local-gpu when a usable GPU and dask-cuda are "
        "present, else local-cpu), local-cpu (worker processes), local-gpu (one worker process "
        "per GPU for the screen and host_workers processes beside them for the host stages), local-threads (one process), or address (an existing scheduler).")
    address: str | None = Field(None, description="Scheduler address (tcp://host:8786) when kind "
                                "is 'address'.")
    n_workers: int = Field(2, ge=1, le=1024, description="Workers of a local-cpu cluster.")
    threads_per_worker: int = Field(1, ge=1, le=256, description="Threads per Dask worker.")
    host_workers: int | None = Field(None, ge=0, le=4096, description="Worker processes of a "
                                     "local-gpu cluster beside its one worker per GPU, for the host "
                                     "stages (lost-child tables, merge and exact re-score); the GPU "
                                     "workers alone take the screen. None = the node's cores not "
                                     "taken by a GPU worker, divided by threads_per_worker; 0 = none "
                                     "(the GPU workers run every stage).")
    dashboard_address: str | None = Field(None, description="Dask dashboard address; None = off (the "
                                          "scheduler's HTTP health endpoint then takes a free loopback "
                                          "port, never 8787). Bind to loopback (127.0.0.1:8787) unless "
                                          "exposed on purpose.")

    @model_validator(mode="after")
    def _address_given(self) -> "ClusterSettings":
        if self.kind == "address" and not self.address:
            raise ValueError("cluster.kind is 'address' but cluster.address is empty; "
                             "give the scheduler's address, e.g. tcp://10.0.0.5:8786")
        return self


class RunsSettings(_Model):
    """How runs that overlap share folders (reunion/io/locks.py)."""
    AFFECTS = {"lock_wait_seconds": Affects.NOTHING}
    lock_wait_seconds: float = Field(0.0, ge=0.0, le=7 * 24 * 3600, description="Seconds a run "
                                     "waits for a run folder or shard set that another run is "
                                     "writing (a scheduled re-match and a rerun overlapping) "
                                     "before it refuses with one line; 0 refuses at once.")


class CapacitySettings(_Model):
    """The run ``reunion benchmark`` predicts from its measured stages (reunion/capacity.py)."""
    AFFECTS = {f: Affects.NOTHING for f in ("missing", "relatives", "families", "nodes",
                                            "cores_per_node", "gpus_per_node", "gpu_pairs_per_second")}
    missing: int = Field(1_000_000, ge=1, le=10**9, description="Missing persons of the predicted run.")
    relatives: int = Field(10_000_000, ge=1, le=10**10, description="Registered relatives' profiles "
                           "of the predicted run (with the missing persons' profiles they set the "
                           "genotype rows ingested, at the measured rows per profile).")
    families: int = Field(5_000_000, ge=1, le=10**10, description="Families of the predicted run.")
    nodes: int = Field(1, ge=1, le=100_000, description="Nodes of the predicted cluster.")
    cores_per_node: int = Field(16, ge=1, le=4096, description="CPU cores per node.")
    gpus_per_node: int = Field(1, ge=0, le=64, description="GPUs per node (0: the screen runs on "
                               "the cores at the measured rate).")
    gpu_pairs_per_second: float = Field(5e10, gt=0, le=1e14, description="Screen rate of one GPU in "
                                        "pairs/s (default: the goal for an H100/H200-class card; "
                                        "replace with a measured rate, 'reunion bench kernel --device gpu').")


class ReviewSettings(_Model):
    """Thresholds that sort candidates into review categories (the report only: ``reunion
    report`` rebuilds it from a finished run under other values)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    AFFECTS = {f: Affects.NOTHING for f in ("strong_lr", "max_inconsistent_strong", "inconclusive_low",
                                            "undisputed_factor", "prior", "prior_value", "detail_ranks",
                                            "max_chance_matches_strong")}

    strong_lr: float = Field(
        STRONG_LR, gt=1, le=1e300,
        description="LR at or above which a candidate supports parentage (SF/Z JD0105001-2016 as "
                    f"labs summarise it: CPI >= {STRONG_LR:,}), given few enough inconsistent loci.")
    max_inconsistent_strong: int = Field(
        2, ge=0, le=50,
        description="Most inconsistent (Mendelian-incompatible) loci a strong candidate may have; "
                    "3 or more exclude in SF/Z practice.")
    inconclusive_low: float = Field(
        2_000, ge=1, le=1e300,
        description="LR above which (and below strong_lr) a candidate is inconclusive: type more "
                    "loci or test the other parent.")
    undisputed_factor: float = Field(
        100, ge=1, le=1e300,
        description="A rank-1 strong candidate is undisputed when its LR is at least this factor "
                    "above the rank-2 candidate's (as the R package dvir does), or it has no rival.")
    prior: Literal["one_over_families", "fixed", "half"] = Field(
        "one_over_families",
        description="Prior probability of H1 behind the headline posterior of a database search: "
                    "'one_over_families' (1 / number of families searched), 'fixed' (prior_value), "
                    "or 'half' (0.5: the single-case paternity convention, which overstates a "
                    "database search's posterior; the evidence view always shows it beside).")
    prior_value: float = Field(
        1e-3, gt=0.0, lt=1.0,
        description="Prior probability of H1 when prior is 'fixed' (e.g. the share of registered "
                    "families whose lost child is expected among the missing persons searched).")
    max_chance_matches_strong: float = Field(
        0.01, gt=0.0, le=1e6,
        description="A candidate is strong only if its expected_chance_matches (the unrelated "
                    "missing persons expected to reach its LR against its family in this database, "
                    "from the run's calibration) is below this; a calibrated candidate at or above it "
                    "is inconclusive. Candidates of an uncalibrated run are categorised without it.")
    detail_ranks: int = Field(
        3, ge=1, le=100,
        description="Candidates of rank up to this get a per-locus detail view in report.html.")

    @model_validator(mode="after")
    def _ordered(self) -> "ReviewSettings":
        if self.inconclusive_low >= self.strong_lr:
            raise ValueError(f"inconclusive_low ({self.inconclusive_low:g}) must be below "
                             f"strong_lr ({self.strong_lr:g})")
        return self



KitName = Annotated[str, StringConstraints(pattern=r"\S")]
KitLoci = Annotated[list[str], Field(min_length=1)]
KitWeight = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class SimulationSettings(_Model):
    """Shape of a simulated national database (a standalone settings section).

    Every field is described and bounded; the model forbids unknown fields and
    validates assignments, like the other sections. It shapes ``reunion simulate`` and the
    demo's input only: no run's result depends on it, so it is left out of digests and
    run.json (``exclude``).
    """

    AFFECTS = {f: Affects.NOTHING for f in (
        "n_families", "lost_child_fraction", "n_unrelated_missing", "one_parent_fraction",
        "sibling_fraction", "mutation_rate_male", "mutation_rate_female", "dropout_fraction",
        "kits", "kit_weights", "corrupt_rows", "seed", "siblings_only_fraction", "grandparents_fraction",
        "descendants_fraction", "paternal_uncle_cousin_fraction", "paternal_half_brothers_fraction",
        "y_haplotypes", "y_kit", "y_lines_per_lineage", "y_generations")}
    n_families: int = Field(200, ge=1, le=10_000_000,
                            description="Registered families (each searching for one lost child).")
    lost_child_fraction: float = Field(0.5, ge=0.0, le=1.0, description="Fraction of families whose "
                                       "lost child appears on the missing side (exact count, rounded).")
    n_unrelated_missing: int = Field(100, ge=0, le=10_000_000,
                                     description="Missing persons related to no registered family.")
    one_parent_fraction: float = Field(0.2, ge=0.0, le=1.0, description="Fraction of families with "
                                       "only one parent registered (father or mother at random); the "
                                       "other parent still exists genetically.")
    sibling_fraction: float = Field(0.3, ge=0.0, le=1.0, description="Fraction of families that also "
                                    "register 1-2 full siblings of the lost child.")
    mutation_rate_male: float = Field(0.003, ge=0.0, le=0.5, description="Paternal mutation rate per "
                                      "locus per transmission (stepwise +-1 repeat, +-2 for 5 %).")
    mutation_rate_female: float = Field(0.001, ge=0.0, le=0.5, description="Maternal mutation rate "
                                        "per locus per transmission.")
    dropout_fraction: float = Field(0.05, ge=0.0, le=1.0, description="Fraction of profiles that are "
                                    "partial: each loses 1-4 random loci of its kit (at least one "
                                    "locus is kept).")
    kits: dict[KitName, KitLoci] | None = Field(None, min_length=1, description="Kit name -> loci "
                                                "typed by the kit (at least one kit, each with at "
                                                "least one locus of the table). None: 'full' (every "
                                                "table locus), 'core20' (CODIS core loci in the "
                                                "table), 'id15' (Identifiler loci in the table).")
    kit_weights: dict[KitName, KitWeight] | None = Field(None, min_length=1, description="Kit name -> "
                                                         "relative weight (finite, >= 0, at least one "
                                                         "> 0) of the kit. None: full 0.5, core20 0.3, "
                                                         "id15 0.2 for the built-in kits, equal weights "
                                                         "for configured kits.")
    corrupt_rows: int = Field(0, ge=0, le=1_000_000, description="Malformed genotype rows to inject "
                              "(unknown locus, off-ladder allele 'OL', third allele), listed in "
                              "truth_corrupt.csv; at most one per profile.")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Seed of the random generator; the same seed "
                      "gives byte-identical files.")
    # families of long separations (issue 16): parents dead or untraceable. Defaults 0 keep the
    # database of the fields above as it was (byte-identical files); for long separations, e.g.
    # siblings_only 0.15, grandparents 0.25, descendants 0.1 (the rest both / one parent)
    siblings_only_fraction: float = Field(0.0, ge=0.0, le=1.0, description="Fraction of families that "
                                          "register only 1-2 full siblings of the lost child (no parent).")
    grandparents_fraction: float = Field(0.0, ge=0.0, le=1.0, description="Fraction of families that "
                                         "register one side's grandmother and / or grandfather and 1-2 "
                                         "uncles / aunts of that side (sided codes: paternal_grandmother, "
                                         "paternal_uncle_aunt, ...), no parent or sibling.")
    descendants_fraction: float = Field(0.0, ge=0.0, le=1.0, description="Fraction of families that "
                                        "search for a missing adult through that person's own 1-3 "
                                        "children (relation child) and, in half of them, the children's "
                                        "other parent (child_other_parent).")
    # paternal lines (issue 20): families of a lost boy registered through men of his paternal
    # line only, and Y haplotypes for every man. Defaults keep the database as it was
    # (byte-identical files: the kinds draw from the kinds' stream, the Y from a stream of its own)
    paternal_uncle_cousin_fraction: float = Field(0.0, ge=0.0, le=1.0, description="Fraction of "
                                                  "families that search for a lost boy through one "
                                                  "paternal uncle and one paternal first cousin (the "
                                                  "son of another paternal uncle) only (sided codes; "
                                                  "no parent, sibling or grandparent).")
    paternal_half_brothers_fraction: float = Field(0.0, ge=0.0, le=1.0, description="Fraction of "
                                                   "families that search for a lost boy through 1-2 "
                                                   "paternal half brothers only (the father's sons by "
                                                   "other mothers; half_sibling_paternal).")
    y_haplotypes: bool = Field(False, description="Type every male profile (relatives and missing "
                               "persons) at the Y kit too: Y rows in genotypes.csv (one allele per "
                               "single-copy locus; a multi-copy locus as its distinct values) and "
                               "each man's village lineage in y_lineages.csv. Off: no Y row (the "
                               "files are those of a simulation without it).")
    y_kit: list[KitName] | None = Field(
        None, min_length=1, max_length=64, description="Y loci typed (canonical names of Y loci "
        "with a shipped mutation rate, e.g. DYS385a/b). None: the Yfiler loci (16 loci, 17 "
        "markers with DYS385a/b).")
    y_lines_per_lineage: int = Field(20, ge=1, le=1_000_000, description="Independent paternal lines "
                                     "per village lineage: a family's paternal line (from its "
                                     "paternal grandfather down) and every other man's own line "
                                     "(mothers' fathers, unrelated missing men, ...) is one of the "
                                     "lineages at random, as many lines to each; the men of one "
                                     "lineage share its founder's haplotype up to their mutations.")
    y_generations: int = Field(6, ge=0, le=40, description="Generations from a village lineage's "
                               "founder down to the top man of each of its lines (a family's "
                               "paternal grandfather): two lost boys of one lineage are "
                               "2 x y_generations + 4 meioses apart.")

    @field_validator("kit_weights")
    @classmethod
    def _some_weight_positive(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None and not any(w > 0 for w in v.values()):
            raise ValueError("kit_weights: at least one weight must be > 0")
        return v

    @model_validator(mode="after")
    def _kinds_fit(self) -> "SimulationSettings":
        total = (self.siblings_only_fraction + self.grandparents_fraction + self.descendants_fraction
                 + self.paternal_uncle_cousin_fraction + self.paternal_half_brothers_fraction)
        if total > 1.0 + 1e-9:
            raise ValueError(f"siblings_only_fraction + grandparents_fraction + descendants_fraction + "
                             f"paternal_uncle_cousin_fraction + paternal_half_brothers_fraction = "
                             f"{total:g} exceeds 1: they are shares of the families")
        return self


class CalibrationSettings(_Model):
    """Calibrated evidence of a run (reunion/calibration.py, issue 19): the exact laws of each
    family's log10 LR for an unrelated person (H2) and for its true lost child (H1), computed
    from the run's lost-child tables after the re-score; candidates gain p_h2,
    expected_chance_matches and p_h1, the run folder families.parquet and thresholds.parquet."""

    #: the calibration is recomputed by every run and rerun from the tables (it changes no list
    #: and no table, and no resumable piece holds it)
    AFFECTS = {f: Affects.NOTHING for f in ("enabled", "grid", "grid_h1", "epsilon", "power_log10_lr",
                                            "max_mask_groups", "threads", "reuse_laws")}
    #: the fields a family's saved laws depend on (with its table row's bytes): the key of the
    #: law store a rerun reads (reunion/calibration.py LawStore)
    LAW_FIELDS: ClassVar[tuple[str, ...]] = ("grid", "grid_h1", "epsilon")
    enabled: bool = Field(True, description="Calibrate the run's candidates and families in the "
                          "re-match and the rerun (false: candidates carry no calibration columns, "
                          "no families.parquet; 'reunion calibrate RUN' can add them later).")
    grid: float = Field(1e-3, ge=1e-4, le=0.1, description="Grid width of the H2 laws (p_h2, "
                        "expected chance matches), log10 units; their error bound in LR is loci "
                        "compared x grid (29 loci x 1e-3 = 0.029 log10, a factor 1.07 in LR).")
    grid_h1: float = Field(1e-2, ge=1e-4, le=0.1, description="Grid width of the H1 laws (p_h1, "
                           "power), log10 units; their error bound in LR is loci compared x grid_h1 "
                           "(29 loci x 1e-2 = 0.29 log10, a factor 1.95 in LR: power and p_h1 need "
                           "absolute, not tail, precision).")
    epsilon: float = Field(1e-15, ge=0.0, le=1e-6, description="Absolute probability budget of the "
                           "laws' pruning: grid points that could move at most this much probability "
                           "in all are moved into the lumps, so p_h2 and p_h1 stay upper bounds (power "
                           "a lower bound) at most epsilon from the gridded law's value (candidates' "
                           "probability_error; a p_h2 within twice it reads 'fewer than'); expected "
                           "chance matches within epsilon x searched; 0: no pruning, exact up to the "
                           "grid (the reference, about 2x slower).")
    power_log10_lr: float = Field(math.log10(STRONG_LR), ge=0.0, le=50.0, description="log10 LR "
                                  "threshold of a family's power (P(its true lost child reaches it)) "
                                  "and of its expected chance matches in families.parquet (4 = LR "
                                  "10,000, the CPI at which parentage is supported).")
    max_mask_groups: int | None = Field(4, ge=1, le=10_000, description="Per family, the most "
                                        "frequent typed-locus sets of the searched persons whose "
                                        "chance matches are computed exactly (one H2 law each); "
                                        "persons with rarer sets are counted as compared at the "
                                        "family's own loci (families.parquet persons_approximated). "
                                        "None: every set exactly.")
    threads: int = Field(0, ge=0, le=1024, description="Threads computing the families' laws in "
                         "the run's process (the convolution releases the GIL; results do not "
                         "depend on it); 0: one per CPU core.")
    reuse_laws: bool = Field(True, description="Save each family's laws beside the run's tables "
                             "(TABLES/laws/, keyed by its table row's bytes, the loci compared, the "
                             "thresholds asked and grid, grid_h1, epsilon) and let a rerun reuse those "
                             "of unchanged families (the same columns as computing them again); "
                             "false: compute every law again and save none.")



#: relations a collection point can be asked for and the sampling advice can add: sided codes
#: only (a side-less grandparent or half sibling is no instruction to a collection point)
ADVISABLE_RELATIONS = ("father", "mother", "full_sibling", "half_sibling_paternal",
                       "half_sibling_maternal", "paternal_grandfather", "paternal_grandmother",
                       "maternal_grandfather", "maternal_grandmother", "paternal_uncle_aunt",
                       "maternal_uncle_aunt", "paternal_first_cousin", "maternal_first_cousin",
                       "child")


class SamplingAdviceSettings(_Model):
    """Which additional relative would raise a family's power most (reunion/sampling_advice.py,
    issue 19): for the families of lowest power, the power each candidate relative would give
    if typed, exactly from the pedigree engine and the calibration's convolution; written to
    families.parquet and the report (whom collection points should sample next)."""

    #: computed by every calibrated run from the shards; changes no list and no table
    AFFECTS = {f: Affects.NOTHING for f in ("enabled", "relatives", "max_power", "max_families",
                                            "grid", "min_mass")}
    enabled: bool = Field(True, description="Compute the advice in the calibrate stage (needs "
                          "calibration.enabled); false: families.parquet's advice columns are null.")
    relatives: list[Relation] = Field(
        [Relation(r) for r in ("father", "mother", "full_sibling", "paternal_grandmother",
                               "maternal_grandmother", "paternal_uncle_aunt", "maternal_uncle_aunt",
                               "child")], min_length=1, max_length=len(ADVISABLE_RELATIONS),
        description="Relation codes of the candidate additional relatives, each typed at the "
        "family's loci (" + ", ".join(ADVISABLE_RELATIONS) + "); a father, mother or grandparent "
        "already typed is not offered again, a child only for a missing adult (a family "
        "registering the lost person's child, grandchild or their other parent).")
    max_power: float = Field(0.9, ge=0.0, le=1.0, description="Only families whose power "
                             "(families.parquet) is below this are advised.")
    max_families: int = Field(200, ge=0, le=1_000_000, description="At most this many families "
                              "per run, lowest power first (each costs one engine pass per "
                              "relative and locus and one convolution per relative).")
    grid: float = Field(0.01, ge=1e-4, le=0.1, description="Grid width (log10) of the added-"
                        "relative laws; the power is a lower bound within loci x grid "
                        "(20 loci x 0.01 = 0.2 log10).")
    min_mass: float = Field(1e-12, ge=0.0, le=1e-3, description="Per locus, (relative, lost "
                            "child) genotype pairs of smaller probability are left out of the "
                            "convolution and counted as failing the threshold (power stays a lower "
                            "bound; families.parquet's advice_mass_left_out says how much).")

    @field_validator("relatives")
    @classmethod
    def _advisable(cls, v: list[Relation]) -> list[Relation]:
        bad = [r for r in v if r not in ADVISABLE_RELATIONS]
        if bad:
            raise ValueError(f"relatives: {', '.join(bad)} cannot be advised; use "
                             + ", ".join(ADVISABLE_RELATIONS))
        if len(set(v)) != len(v):
            raise ValueError("relatives: each relation once")
        return v


#: the genotypes contract's fields (a PostgreSQL source maps its columns onto them)
GENOTYPE_FIELDS = tuple(f.name for f in GENOTYPES)


class SourceSettings(_Model):
    """Where the samples and genotypes live in a PostgreSQL registry (``--source``)."""

    #: the source says which rows are read; the inputs are recorded by content in the
    #: manifest, so none keys a result
    AFFECTS = {f: Affects.NOTHING for f in (
        "samples_table", "genotypes_table", "samples_columns", "genotypes_columns",
        "watermark_column", "genotypes_watermark_column", "since", "samples_row_column",
        "genotypes_row_column", "password_file", "batch_size_hint_bytes")}

    samples_table: str = Field("samples", min_length=1, description="Samples table or view, "
                               "optionally schema-qualified ('registry.samples').")
    genotypes_table: str = Field("genotypes", min_length=1, description="Genotypes table or view "
                                 "(long form: one row per sample and locus).")
    samples_columns: dict[str, str] = Field(default_factory=dict, description="Column of each "
                                            "samples field where the table names it otherwise, "
                                            "e.g. {sample_id: barcode, family_id: case_no}; a field "
                                            "not given is the column of its own name; optional fields "
                                            "the table lacks are empty.")
    genotypes_columns: dict[str, str] = Field(default_factory=dict, description="Column of each "
                                              "genotypes field (sample_id, locus, allele1, allele2) "
                                              "where the table names it otherwise.")
    watermark_column: str = Field("collected_on", min_length=1, description="Samples column that "
                                  "'since' compares with (a date, a timestamp, or ISO text).")
    genotypes_watermark_column: str | None = Field(None, description="Genotypes column for 'since'; "
                                                   "None: the genotypes of the samples selected.")
    since: str | None = Field(None, description="Read only rows whose watermark is later than this "
                              "ISO date or date-time (a rerun's standing run); None reads every row.")
    samples_row_column: str | None = Field(None, description="Integer column (a key) that orders "
                                           "the samples rows and numbers them in rejects; None: "
                                           "ordered by sample id, numbered 1, 2, ...")
    genotypes_row_column: str | None = Field(None, description="Integer column that orders and "
                                             "numbers the genotype rows; None: by sample id and locus.")
    password_file: Path | None = Field(None, description="File whose first line is the password "
                                       "(when neither the URL nor PGPASSWORD/PGPASSFILE gives it).")
    batch_size_hint_bytes: int = Field(16 << 20, ge=1 << 16, le=1 << 31, description="Size of the "
                                       "Arrow record batches the driver streams.")

    @field_validator("samples_columns", "genotypes_columns")
    @classmethod
    def _known_fields(cls, v: dict[str, str], info) -> dict[str, str]:
        known = [f.name for f in SAMPLES] if info.field_name == "samples_columns" else list(GENOTYPE_FIELDS)
        unknown = sorted(set(v) - set(known))
        if unknown:
            raise ValueError(f"{info.field_name}: unknown field(s) {', '.join(unknown)}; "
                             f"fields are {', '.join(known)}")
        return v

    @field_validator("since", mode="before")
    @classmethod
    def _iso(cls, v: object) -> str | None:
        if isinstance(v, (datetime.date, datetime.datetime)):   # YAML and --set read 2024-03-01 as a date
            v = v.isoformat()
        if v is not None:
            try:
                datetime.datetime.fromisoformat(v if isinstance(v, str) else "?")
            except ValueError:
                raise ValueError(f"since '{v}' is not an ISO date or date-time (2024-03-01, "
                                 "2024-03-01T12:00:00)") from None
        return v


class LineageSettings(_Model):
    """``reunion lineage``: lineage search of a Y database (issue 20; docs/YSTR.md). None of
    these change the autosomal re-match (Affects.NOTHING for it): they shape only the
    lineage search's own outputs."""

    AFFECTS = {f: Affects.NOTHING for f in ("max_steps", "max_meioses", "min_loci", "top_men",
                                            "top_groups", "group_by", "frequency", "rates",
                                            "two_step", "reference")}
    max_steps: int = Field(3, ge=0, le=60, description="A database man is listed for a missing "
                           "man when their haplotypes are at most this many repeat steps apart, "
                           "summed over the compared loci (a multi-copy locus by its closest "
                           "pairing of copies).")
    max_meioses: int = Field(10, ge=1, le=40, description="Paternal relationships considered: "
                             "1 to this many meioses through a common paternal ancestor (2 per "
                             "generation back to him: 10 = a common ancestor 5 generations up). "
                             "The LR averages over them with equal weight.")
    min_loci: int = Field(10, ge=1, le=100, description="Fewest Y loci typed in both men (and "
                          "with a mutation rate) for a pair to be compared.")
    top_men: int = Field(20, ge=1, le=100_000, description="Men listed per missing man, best first.")
    top_groups: int = Field(10, ge=1, le=10_000, description="Groups (lineages, surnames, regions) "
                            "listed per missing man and attribute, best first.")
    group_by: list[Literal["lineage", "surname", "region"]] = Field(
        ["lineage", "surname", "region"], min_length=1, max_length=3,
        description="Y database attributes the men within reach are grouped by.")
    frequency: Literal["kappa", "counting"] = Field("kappa", description="Estimator of the missing "
                                                    "man's haplotype probability in the Y database "
                                                    "(plus lineage.reference): 'kappa' (Brenner 2010) "
                                                    "or 'counting' ((x+1)/(N+1)).")
    rates: Path = Field(CONFIG_DIR / "ystr_mutation_rates.csv", description="Per-locus Y-STR "
                        "mutation rates (locus, rate, source); loci without a rate are not compared.")
    two_step: float = Field(0.0, ge=0.0, le=0.5, description="Fraction of Y-STR mutations that are "
                            "two-step (0: single-step only; Ballantyne 2010's ratio is 0.038).")
    reference: Path | None = Field(None, description="Optional further Y genotypes file (genotypes "
                                   "layout) counted in the haplotype frequencies with the Y database.")


class YStrSettings(_Model):
    """Y-STR evidence in the family LR (``scoring.y_evidence``; issue 20, docs/YSTR.md): the
    mutation model of the numerator and the reference database and estimator of the
    denominator P(haplotype)."""

    AFFECTS = {f: Affects.LISTS for f in ("estimator", "reference", "rates", "two_step", "pad",
                                          "clusters")}
    estimator: Literal["kappa", "counting", "discrete_laplace"] = Field(
        "kappa", description="Estimator of the missing man's haplotype probability over the "
        "compared Y loci, counted among the reference men (the run's male profiles but himself, "
        "plus ystr.reference): 'kappa' (default; Brenner C.H. 2010, FSI:Genetics 4:281: a type new "
        "to the N men (1 - kappa)/N, kappa their singleton fraction; a seen type (x+1)/(N+1)), "
        "'counting' ((x+1)/(N+1), SWGDAM Y-STR guidelines 2014, 8.2) or 'discrete_laplace' (the "
        "mixture of Andersen, Eriksen & Morling 2013, J. Theor. Biol. 329:39, fitted on the "
        "reference men typed at the compared loci).")
    reference: Path | None = Field(None, description="Optional Y genotypes file (genotypes layout, "
                                   "Y loci only) of further reference men counted in the "
                                   "haplotype probabilities beside the run's own male profiles.")
    rates: Path = Field(CONFIG_DIR / "ystr_mutation_rates.csv", description="Per-locus Y-STR "
                        "father-son mutation rates (locus, rate, source); Y loci without a rate "
                        "are not compared.")
    two_step: float = Field(0.038, ge=0.0, le=0.5, description="Fraction of Y-STR mutations that "
                            "are two-step (default 0.038 = 1/26.23, Ballantyne et al. 2010's 25.23:1 "
                            "single- to multi-step ratio, so that a two-step father-son difference "
                            "weighs against a pair rather than excluding it; 0: single-step only, "
                            "where a value two steps from a father's has probability 0). A value "
                            "out of reach under the model gives LR_Y = 0: the pair is excluded.")
    pad: int = Field(6, ge=1, le=30, description="Repeat steps beyond the typed and queried values "
                     "over which the untyped paternal-line men's values are summed out.")
    clusters: int = Field(1, ge=1, le=100, description="Clusters of the discrete Laplace mixture "
                          "(ystr.estimator 'discrete_laplace' only).")


class LineageSimulationSettings(_Model):
    """``reunion simulate-lineages``: paternal lineages with Y haplotypes mutating down the
    generations, a Y village survey and male missing persons (reunion/simulate.py)."""

    AFFECTS = {f: Affects.NOTHING for f in ("n_lineages", "lineages_per_clan", "clan_generations",
                                            "generations", "sons_mean", "coverage",
                                            "n_missing", "n_unrelated_missing", "lineages_per_region",
                                            "n_surnames", "partial_fraction", "kit", "seed")}
    n_lineages: int = Field(200, ge=1, le=1_000_000, description="Paternal lineages (founders).")
    lineages_per_clan: int = Field(20, ge=1, le=1_000_000, description="Lineages descending from "
                                   "one clan ancestor (they share its surname): lineages of a clan "
                                   "are near in Y, the hard case of a lineage search.")
    clan_generations: int = Field(30, ge=0, le=500, description="Generations from a clan ancestor to "
                                  "the lineage founders (0: founders drawn independently).")
    generations: int = Field(8, ge=1, le=40, description="Generations from each founder to the "
                             "living men (the last two generations are alive).")
    sons_mean: float = Field(1.4, gt=0.0, le=5.0, description="Mean sons per man (Poisson).")
    coverage: float = Field(0.5, gt=0.0, le=1.0, description="Fraction of living men typed in the "
                            "village survey (the Y database).")
    n_missing: int = Field(100, ge=0, le=1_000_000, description="Male missing persons drawn from "
                           "the living men of the lineages who are not in the survey (planted).")
    n_unrelated_missing: int = Field(20, ge=0, le=1_000_000, description="Male missing persons "
                                     "of lineages absent from the survey.")
    lineages_per_region: int = Field(10, ge=1, le=1_000_000, description="Lineages per region "
                                     "(village).")
    n_surnames: int = Field(50, ge=1, le=100_000, description="Surnames the clans share at random "
                            "(every lineage of a clan has its clan's surname).")
    partial_fraction: float = Field(0.05, ge=0.0, le=1.0, description="Fraction of men typed at "
                                    "1-3 fewer loci (partial profiles).")
    kit: list[str] | None = Field(None, min_length=1, description="Y loci typed (canonical names); "
                                  "None: the Yfiler Plus loci.")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Seed of the random generator.")


class Settings(_Model):
    """A reunion run."""

    frequencies: FrequencySettings = Field(default_factory=FrequencySettings,
                                           description="Allele-frequency table and rare-allele floor.")
    mutation: MutationSettings = Field(default_factory=MutationSettings,
                                       description="Mutation model of parent-child transmissions.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Shard sizes and format.")
    scoring: ScoringSettings = Field(default_factory=ScoringSettings,
                                     description="Screening device, top-k, floor, block size.")
    cluster: ClusterSettings = Field(default_factory=ClusterSettings, description="Dask cluster.")
    runs: RunsSettings = Field(default_factory=RunsSettings, description="Overlapping runs: how "
                               "long one waits for a folder another is writing.")
    review: ReviewSettings = Field(default_factory=ReviewSettings,
                                   description="Review categories and posteriors of the report.")
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings,
                                             description="Calibrated evidence: chance matches, "
                                             "power, thresholds by database size.")
    sampling_advice: SamplingAdviceSettings = Field(
        default_factory=SamplingAdviceSettings, description="Whom to sample next: the additional "
        "relative that would raise a low-power family's power most.")
    source: SourceSettings = Field(default_factory=SourceSettings, description="PostgreSQL "
                                   "registry read by --source: tables, columns, watermark.")
    capacity: CapacitySettings = Field(default_factory=CapacitySettings, exclude=True,
                                       description="The national run 'reunion benchmark' predicts "
                                       "(sizes, nodes, cores, GPUs); not part of a run's record.")
    simulation: SimulationSettings = Field(default_factory=SimulationSettings, exclude=True,
                                           description="Shape of a simulated database (reunion "
                                           "simulate, the demo); not part of a run's record.")
    lineage: LineageSettings = Field(default_factory=LineageSettings, description="Lineage "
                                     "search of a Y database (reunion lineage).")
    ystr: YStrSettings = Field(default_factory=YStrSettings, description="Y-STR evidence in "
                               "the family LR: rates, the reference database and estimator of "
                               "the haplotype probability (scoring.y_evidence).")
    lineage_simulation: LineageSimulationSettings = Field(
        default_factory=LineageSimulationSettings, exclude=True, description="Shape of a simulated "
        "Y village database (reunion simulate-lineages); not part of a run's record.")

    @model_validator(mode="after")
    def _theta_without_mutation(self) -> "Settings":
        if self.scoring.theta > 0 and self.mutation.model != "none":
            raise ValueError(f"scoring.theta = {self.scoring.theta} with mutation.model = "
                             f"'{self.mutation.model}': theta and mutation together are not "
                             "supported yet; set mutation.model=none or scoring.theta=0")
        return self

    def affecting(self, level: Affects) -> dict[str, set[str]]:
        """{section: field names} of the settings that change at least ``level``: the one
        answer to "which settings does this depend on" (tables' folder, resumable pieces'
        key, whether a rerun may extend the standing lists)."""
        out = {}
        for name in type(self).model_fields:
            section = getattr(self, name)
            fields = {f for f, a in section.AFFECTS.items() if a >= level}
            if fields:
                out[name] = fields
        return out

    def affecting_json(self, level: Affects) -> str:
        """Canonical JSON of :meth:`affecting` ``level``'s settings and their values."""
        return self.model_dump_json(include=self.affecting(level))

    def digest(self) -> str:
        """sha256 of the canonical JSON of these settings."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def _apply_override(data: dict, dotted: str) -> None:
    if "=" not in dotted:
        raise SettingsError(f"--set '{dotted}': write section.field=value, e.g. scoring.top_k=5")
    key, raw = dotted.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise SettingsError(f"--set '{dotted}': '{p}' is a setting, not a section")
    node[parts[-1]] = yaml.safe_load(raw)


def load_settings(path: Path | None = None, overrides: list[str] | None = None) -> Settings:
    """Read settings from YAML (default configs/demo.yaml) and apply overrides.

    Raises :class:`reunion.errors.SettingsError` (one line naming the file or the --set
    override, the setting and what is allowed) for a missing or malformed file, an
    override that is not ``section.field=value`` and any value the settings refuse."""
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise SettingsError(f"{path}: settings file not found; check the --config path "
                            f"(the shipped ones are in {CONFIG_DIR})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SettingsError(f"{path}: not valid YAML{where}: "
                            f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected sections (frequencies:, scoring:, ...), "
                            f"found a {type(data).__name__}")
    for o in overrides or []:
        _apply_override(data, o)
    table = (data.get("frequencies") or {}).get("table")
    if table is not None and not Path(table).is_absolute():
        data["frequencies"]["table"] = str((path.parent / table).resolve())
    for key in ("rates", "reference"):        # the lineage section's files, likewise
        given = (data.get("lineage") or {}).get(key)
        if given is not None and not Path(given).is_absolute():
            data["lineage"][key] = str((path.parent / given).resolve())
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        source = f"{path}" + (f" with --set {' --set '.join(overrides)}" if overrides else "")
        raise SettingsError(f"{source}: {settings_problem(exc)}") from None


def settings_problem(exc: ValidationError) -> str:
    """The first problem of a settings ValidationError as one line:
    ``scoring.top_k = 0: Input should be greater than or equal to 1``."""
    e = exc.errors()[0]
    where = ".".join(str(p) for p in e["loc"])
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        return f"unknown setting '{where}'; the settings and their bounds are in configs/demo.yaml"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return (f"{where} = {e['input']!r}: {msg}" if where else msg) + more
