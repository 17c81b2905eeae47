"""The typed records of manifest.json and run.json (data_contracts/records.py): read back
validated, written byte for byte as reunion always wrote them."""

from __future__ import annotations

import json
import pickle

import pytest
from pydantic import ValidationError
from records_cases import manifest_with, run_record_with

from reunion.contracts.records import InputRecord, Manifest, RunRecord, ShardRecord
from reunion.errors import InputError
from reunion.ingest import MANIFEST, ingest, load_manifest, shards_of


@pytest.fixture(scope="module")
def shards(small_db, settings, tmp_path_factory):
    out = tmp_path_factory.mktemp("records_shards")
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], out, settings)
    return out


def test_a_real_manifest_round_trips_byte_for_byte(shards):
    text = (shards / MANIFEST).read_text()
    m = load_manifest(shards)
    assert isinstance(m, Manifest) and all(isinstance(s, ShardRecord) for s in m.shards)
    assert all(isinstance(i, InputRecord) for i in m.inputs)
    assert m.to_json() == text
    m.write(shards.parent / "again.json")
    assert (shards.parent / "again.json").read_text() == text
    assert pickle.loads(pickle.dumps(m)) == m          # Dask and Prefect move it between processes
    # optional fields are absent, not null: a query shard has no "families", none "replaces"
    raw = json.loads(text)
    q = next(s for s in raw["shards"] if s["side"] == "query")
    r = next(s for s in raw["shards"] if s["side"] == "reference")
    assert "families" not in q and "replaces" not in q and r["families"] > 0
    assert [s.path for s in shards_of(m, "query")] == [s["path"] for s in raw["shards"] if s["side"] == "query"]


def test_records_are_frozen(shards):
    m = load_manifest(shards)
    with pytest.raises(ValidationError, match="frozen"):
        m.shards[0].sha256 = "0" * 64


@pytest.mark.parametrize("change, field", [
    (lambda d: d.pop("counts"), "counts"),
    (lambda d: d["shards"][0].pop("sha256"), "shards.0.sha256"),
    (lambda d: d["shards"][1].__setitem__("rows", "many"), "shards.1.rows"),
    (lambda d: d["shards"][0].__setitem__("side", "left"), "shards.0.side"),
    (lambda d: d["alleles"].__setitem__("sha256", 7), "alleles.sha256"),
    (lambda d: d.__setitem__("colour", "blue"), "colour"),
])
def test_a_bad_manifest_is_one_line_naming_the_file_and_the_field(shards, tmp_path, change, field):
    data = json.loads((shards / MANIFEST).read_text())
    change(data)
    (tmp_path / MANIFEST).write_text(json.dumps(data, indent=2))
    with pytest.raises(InputError) as e:
        load_manifest(tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / MANIFEST) in msg and f"'{field}'" in msg, msg


def test_a_manifest_that_is_not_json_is_one_line(tmp_path):
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(InputError, match="manifest.json: not a valid manifest: not JSON"):
        load_manifest(tmp_path)


def test_optional_manifest_fields_are_written_only_when_set(tmp_path):
    m = manifest_with()
    raw = json.loads(m.to_json())
    assert "notes" not in raw and "appended_to" not in raw and "registry" in raw
    assert "y_haplotypes" not in raw                       # a shard set without Y typings
    assert list(raw) == list(Manifest.model_fields)[:-3]
    noted = manifest_with(notes=["a note"])
    assert json.loads(noted.to_json())["notes"] == ["a note"]
    assert Manifest.load(noted.write(tmp_path / "m.json")) == noted


def test_run_record_round_trips_byte_for_byte(tmp_path):
    rec = run_record_with(mode={"kind": "incremental", "base_run": "/r", "shards": {"linked": 3}},
                          timings={"plan": 0.1, "score": 2.5}, config={"scoring": {"top_k": 10, "theta": 0.0}},
                          cluster={"kind": "local-cpu", "workers": 2})
    path = rec.write(tmp_path / "run.json")
    text = path.read_text()
    assert RunRecord.load(path).to_json() == text
    assert RunRecord.load(path) == rec
    raw = json.loads(text)
    assert "report" not in raw and "outputs" not in raw          # the flow's return value only
    assert raw["counts"]["pieces"] == 0
    with_report = rec.model_copy(update={"report": "/r/report.html"})
    assert "report" in with_report.model_dump() and with_report.to_json() != text


def test_a_bad_run_record_is_one_line(tmp_path):
    raw = json.loads(run_record_with().to_json())
    del raw["counts"]["missing"]
    (tmp_path / "run.json").write_text(json.dumps(raw))
    with pytest.raises(InputError) as e:
        RunRecord.load(tmp_path / "run.json")
    assert "'counts.missing'" in str(e.value) and str(tmp_path / "run.json") in str(e.value)
