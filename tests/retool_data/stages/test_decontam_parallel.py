"""Decontamination at scale: a batch split over forked processes decides exactly as one process does, and the
bfloat16 embeddings agree with float32."""

from __future__ import annotations

import os

import numpy as np
import pytest

from retool_data.stages import decontam_parallel
from retool_data.stages.decontam_parallel import fork_map, slices, worker_count
from retool_data.stages.decontam_semantic import Embedder, resolve_dtype
from tests.retool_data.stages.test_decontam_layers import _index, evalset

linux_only = pytest.mark.skipif(not decontam_parallel.can_fork(), reason="fork workers run on Linux only")


def test_slices_cover_every_row_once() -> None:
    assert slices(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert slices(1, 2) == [(0, 1), (1, 1)]
    assert worker_count(100, 2) == 1  # too small a batch to be worth a fork
    assert worker_count(100, 1) == 1


@linux_only
def test_fork_map_runs_the_slices_in_children_and_keeps_the_order() -> None:
    results = fork_map(lambda x: (x * x, os.getpid()), [(1,), (2,), (3,)])
    assert [r[0] for r in results] == [1, 4, 9]
    pids = [r[1] for r in results]
    assert pids[-1] == os.getpid() and len(set(pids)) == 3  # the last in this process, two children


@linux_only
def test_an_error_in_a_child_is_raised_in_the_parent() -> None:
    def fn(x: int) -> int:
        if x == 1:
            raise ValueError("bad row")
        return x

    with pytest.raises(ValueError, match="bad row"):
        fork_map(fn, [(1,), (2,)])


@linux_only
def test_a_batch_over_two_processes_decides_like_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # copies, template variants and clean rows, with their answers: every layer and the answer-aware step
    rows = evalset()[::12]
    problems, answers = [r["problem"] for r in rows], [r["answer"] for r in rows]
    dc = _index()
    dc.workers = 1
    dc.stats.clear()
    serial = dc.nearest_many(problems, answers)
    serial_embedded = dc.stats["embedded"]
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(decontam_parallel, "MIN_ROWS_PER_WORKER", 50)
    monkeypatch.setattr(os, "fork", counting_fork)
    dc.workers = 2
    dc.stats.clear()
    try:
        parallel = dc.nearest_many(problems, answers)
    finally:
        dc.workers = 1  # the cached index is shared with other tests
    assert len(forks) == 1

    def decision(m: object) -> tuple | None:
        return None if m is None else (m.benchmark, m.index, m.layer, m.reason, m.ratio, m.containment)

    assert [decision(m) for m in parallel] == [decision(m) for m in serial]
    # cosines move in the 4th decimal in bfloat16: another batch, other padding and summation order
    scores = [(a.score, b.score) for a, b in zip(parallel, serial, strict=True) if a is not None]
    np.testing.assert_allclose(*zip(*scores, strict=True), atol=2e-3)
    assert dc.stats["embedded"] == serial_embedded > 0
    assert sum(m is not None and m.reason is not None for m in parallel) > 20


def test_bfloat16_embeddings_agree_with_float32(tmp_path) -> None:  # noqa: ANN001
    texts = [r["problem"] for r in evalset()[::200]]
    full = Embedder(cache_dir=tmp_path, dtype="float32").encode(texts)
    half = Embedder(cache_dir=tmp_path, dtype="bfloat16")
    low = half.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(low, axis=1), 1.0, rtol=1e-5)
    assert float((full * low).sum(axis=1).min()) > 0.999
    # cached benchmark embeddings are kept apart per precision
    assert half.fingerprint != Embedder(cache_dir=tmp_path, dtype="float32").fingerprint
    assert resolve_dtype("auto") in ("float32", "bfloat16")
    with pytest.raises(ValueError, match="dtype"):
        Embedder(dtype="int8")


@linux_only
def test_a_cold_benchmark_cache_is_embedded_over_two_processes(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from retool_data.stages import decontam_semantic

    texts = [r["problem"] for r in evalset()[::300]]
    one = Embedder(cache_dir=tmp_path / "one", dtype="float32").encode_benchmark("toy", texts)
    monkeypatch.setattr(decontam_semantic, "MIN_TEXTS_PER_WORKER", 2)
    two = Embedder(cache_dir=tmp_path / "two", dtype="float32")
    vectors = two.encode_benchmark("toy", texts, workers=2)
    assert two.encoded == len(texts) and vectors.shape == one.shape
    np.testing.assert_allclose(vectors, one, atol=1e-5)  # float32: the split changes nothing that matters
    assert np.array_equal(two.encode_benchmark("toy", texts, workers=2), vectors)  # then from the cache


def test_borderline_bfloat16_cosines_are_replaced_by_float32_ones(tmp_path) -> None:  # noqa: ANN001
    from retool_data.stages.decontam_semantic import recheck_borderline

    rows = [r["problem"] for r in evalset()[:4]]
    items = [r["problem"] for r in evalset()[500:504]]
    sims = np.array(
        [
            [0.755, 0.20, 0.10, 0.10],  # best at the 0.75 threshold: re-checked
            [0.90, 0.85, 0.10, 0.10],  # clear winner, far above: kept
            [0.90, 0.895, 0.10, 0.10],  # two items within the band: which one wins is re-checked
            [0.30, 0.20, 0.10, 0.10],  # far below every threshold: kept
        ],
        dtype=np.float32,
    )
    before = sims.copy()
    embedder = Embedder(cache_dir=tmp_path, dtype="bfloat16")
    cache: dict[int, np.ndarray] = {}
    assert recheck_borderline(embedder, rows, sims, items, cache, [0.75]) == 2
    exact_rows = Embedder(cache_dir=tmp_path, dtype="float32").encode(rows)
    exact_items = Embedder(cache_dir=tmp_path, dtype="float32").encode(items)
    np.testing.assert_allclose(sims[0, 0], exact_rows[0] @ exact_items[0], atol=1e-5)
    np.testing.assert_allclose(sims[2, :2], exact_items[:2] @ exact_rows[2], atol=1e-5)
    assert np.array_equal(sims[[1, 3]], before[[1, 3]]) and np.array_equal(sims[0, 1:], before[0, 1:])
    assert sorted(cache) == [0, 1]  # float32 item embeddings kept for the next batch
