"""Where the benchmarks come from: the pinned snapshots in the package by default (checked against their
manifest), a local folder or path when given, the Hub by id when asked (and `refresh` pins a Hub download)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import datasets
import pytest
from typer.testing import CliRunner

from retool_data.benchmark_sets import (
    BENCHMARKS,
    DEFAULT_BENCHMARKS,
    describe_benchmarks,
    load_benchmark,
    load_benchmark_items,
    load_benchmark_sets,
    load_benchmarks,
    refresh_benchmarks,
    resolve_benchmark_paths,
    resolve_benchmark_sources,
)
from retool_data.benchmark_snapshots import (
    SnapshotMismatch,
    file_sha256,
    jsonl_rows,
    package_snapshot_dir,
    read_manifest,
)
from retool_data.cli import app
from tests.conftest import REPO_ROOT

ROWS = {"aime24": 30, "aime25": 30, "amc23": 40, "math500": 500}


def test_the_package_pins_the_four_default_benchmarks_with_their_rows_and_hashes():
    folder = package_snapshot_dir()
    manifest = read_manifest(folder)
    assert sorted(manifest) == sorted(DEFAULT_BENCHMARKS) == sorted(ROWS)
    for name, entry in manifest.items():
        path = folder / entry.file
        assert entry.rows == ROWS[name] == jsonl_rows(path)
        assert entry.sha256 == file_sha256(path)
        assert entry.origin
    # the docs that users read state the same rows and hashes (docs/filters.md), and so does the README beside them
    for doc in (REPO_ROOT / "docs" / "filters.md", folder / "README.md"):
        text = doc.read_text()
        for name, entry in manifest.items():
            assert f"| `{name}` | {entry.rows} | `{entry.sha256}` |" in text, (doc, name)


def test_by_default_every_entry_point_reads_the_snapshots_with_answers_ids_and_indexes():
    sets = load_benchmark_sets()
    assert list(sets) == list(DEFAULT_BENCHMARKS)
    assert {n: len(s.items) for n, s in sets.items()} == ROWS
    assert all(s.source.kind == "snapshot" for s in sets.values())
    aime = sets["aime24"].items
    assert (aime[0].id, aime[0].answer, aime[0].index, aime[5].index) == ("60", "204", 0, 5)
    assert sets["amc23"].items[0].answer == "27"  # a float in the file, 27.0
    assert all(it.answer for s in sets.values() for it in s.items)  # evaluation needs every gold answer
    assert load_benchmarks() == {n: s.problems for n, s in sets.items()}
    # the eval path (resolve_benchmark_paths + load_benchmark_items) reads the very same files
    paths = resolve_benchmark_paths(["amc23"])
    assert paths["amc23"] == package_snapshot_dir() / "amc23" / "test.jsonl"
    assert load_benchmark_items("amc23", paths["amc23"]) == sets["amc23"].items
    assert load_benchmark("math500")[0]["problem"] == sets["math500"].items[0].problem
    prov = sets["aime24"].provenance()
    assert prov == {
        "name": "aime24",
        "source": "snapshot",
        "origin": read_manifest(package_snapshot_dir())["aime24"].origin,
        "rows": 30,
        "sha256": read_manifest(package_snapshot_dir())["aime24"].sha256,
    }
    assert describe_benchmarks([s.provenance() for s in sets.values()]) == (
        "aime24 (30), aime25 (30), amc23 (40), math500 (500): pinned snapshots"
    )


def test_a_changed_snapshot_file_is_an_error_naming_it(tmp_path: Path):
    copy = tmp_path / "snap"
    shutil.copytree(package_snapshot_dir(), copy)
    assert (
        resolve_benchmark_sources(["aime25"], copy)["aime25"].kind == "snapshot"
    )  # verified via its manifest
    path = copy / "aime25" / "test.jsonl"
    path.write_text(path.read_text().replace("Find the sum", "Find the total", 1))
    with pytest.raises(
        SnapshotMismatch, match=r"benchmark 'aime25': aime25/test.jsonl has sha256 .* pins 19a9f25a12e8"
    ):
        load_benchmarks(["aime24", "aime25"], local_dir=copy)
    (copy / "amc23" / "test.jsonl").unlink()
    with pytest.raises(
        SnapshotMismatch, match="'amc23': amc23/test.jsonl listed in manifest.json is missing"
    ):
        load_benchmarks(["amc23"], overrides={"amc23": str(copy / "amc23")})


def test_local_copies_and_unknown_names(tmp_path: Path):
    (tmp_path / "aime24").mkdir()
    rows = [{"ID": f"2024-I-{i}", "Problem": f"Problem {i}", "Answer": str(i)} for i in range(3)]
    (tmp_path / "aime24" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    sets = load_benchmark_sets(["aime24"], local_dir=tmp_path)
    assert sets["aime24"].source.kind == "local" and sets["aime24"].problems == [
        "Problem 0",
        "Problem 1",
        "Problem 2",
    ]
    assert sets["aime24"].provenance()["origin"] == "local copy"
    assert sets["aime24"].sha256 == file_sha256(tmp_path / "aime24" / "test.jsonl")
    with pytest.raises(FileNotFoundError, match="benchmark 'math500' not found under"):
        load_benchmarks(["aime24", "math500"], local_dir=tmp_path)  # never silently dropped
    with pytest.raises(ValueError, match=r"unknown benchmark 'gsm8k': known \['aime24', 'aime25', 'amc23', 'math500'\] \(pinned"):
        load_benchmarks(["gsm8k"])
    # a label of your own with a path, next to the pinned defaults
    mixed = load_benchmarks(["amc23"], overrides={"mine": str(tmp_path / "aime24" / "test.jsonl")})
    assert list(mixed) == ["amc23", "mine"] and len(mixed["amc23"]) == 40


def _hub_folder(tmp_path: Path, name: str, rows: list[dict]) -> Path:
    folder = tmp_path / "hub" / name
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.fixture
def fake_hub(tmp_path: Path, monkeypatch):
    """`datasets.load_dataset(<hub id>)` answered from local folders in the uploads' own column layout (the Hub is
    the edge we do not own; the real loader reads the files)."""
    uploads = {
        "Maxwell-Jia/AIME_2024": [{"ID": "2024-I-1", "Problem": "Every morning Aya walks.", "Answer": 204}],
        "someone/amc-copy": [{"id": 7, "question": "What is 2 + 2?", "answer": 4.0}],
    }
    local = {
        hub_id: _hub_folder(tmp_path, hub_id.replace("/", "__"), rows) for hub_id, rows in uploads.items()
    }
    calls = []
    real = datasets.load_dataset

    def redirect(path, split=None, **kwargs):
        calls.append((path, split))
        return real(
            "json", data_files=str(local[path] / "test.jsonl"), split="train", cache_dir=str(tmp_path / "c")
        )

    monkeypatch.setattr(datasets, "load_dataset", redirect)
    return calls


def test_the_hub_by_id_stays_an_option(fake_hub):
    sets = load_benchmark_sets(["aime24"], local_dir="hub")
    assert fake_hub == [(BENCHMARKS["aime24"].hub_id, BENCHMARKS["aime24"].split)]
    assert sets["aime24"].source.kind == "hub" and sets["aime24"].items[0].answer == "204"
    assert sets["aime24"].provenance()["origin"] == "Maxwell-Jia/AIME_2024 (train)"
    # one benchmark from another upload, the rest pinned
    mixed = load_benchmark_sets(["aime25", "amc23"], overrides={"amc23": "hub:someone/amc-copy:test"})
    assert mixed["aime25"].source.kind == "snapshot" and mixed["amc23"].source.kind == "hub"
    assert fake_hub[-1] == ("someone/amc-copy", "test") and mixed["amc23"].items[0].answer == "4"
    assert resolve_benchmark_paths(["amc23"], overrides={"amc23": "hub"}) == {
        "amc23": "hub:math-ai/amc23:test"
    }


def test_refresh_pins_a_hub_download_that_then_loads_as_a_checked_snapshot(fake_hub, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    monkeypatch.setattr(HfApi, "dataset_info", lambda self, repo_id: SimpleNamespace(sha="abc123"))
    folder = tmp_path / "pinned"
    result = CliRunner().invoke(app, ["benchmarks", "refresh", "aime24", "--to", str(folder)])
    assert result.exit_code == 0, result.output
    entry = read_manifest(folder)["aime24"]
    assert entry.rows == 1 and entry.sha256 == file_sha256(folder / "aime24" / "test.jsonl")
    assert entry.origin.startswith("Hugging Face Hub Maxwell-Jia/AIME_2024 (train), revision abc123, read ")
    sets = load_benchmark_sets(["aime24"], local_dir=folder)
    assert sets["aime24"].source.kind == "snapshot" and sets["aime24"].problems == [
        "Every morning Aya walks."
    ]
    listed = CliRunner().invoke(app, ["benchmarks", "list", "aime24", "--benchmarks-dir", str(folder)])
    assert listed.exit_code == 0 and "snapshot" in listed.output and entry.sha256[:16] in listed.output
    with pytest.raises(ValueError, match="no registered Hub id"):
        refresh_benchmarks(["gsm8k"], folder)


def test_the_cli_names_an_unreadable_benchmark_without_a_traceback(tmp_path):
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["benchmarks", "list", "--benchmarks-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "benchmark 'aime24' not found under" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
