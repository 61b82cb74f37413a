"""Deduplication: one problem per cluster of duplicate problems, exact and near-duplicate.

* **exact**: rows whose `schema.normalize_problem` texts are equal (NFKC, invisible characters removed,
  non-ASCII confusables folded to their TR39 skeletons, casefold, whitespace, ``$``: `retool_data.textnorm`);
* **near**: MinHash/LSH (datasketch) over 3-token shingles of the canonical math tokens
  (`retool_data.mathtext`) of the confusable-folded text (`textnorm.fold_confusables`), with LSH candidates
  confirmed by their estimated Jaccard similarity >= the threshold.
  Clusters are the connected components of the confirmed pairs. A near pair whose gold answers are both known
  and not equivalent is *not* merged: that is a multi-part problem sharing a long context ("Determine g(2011)"
  vs "Determine n with f(n) = 100"), i.e. a different question.

Keep-best rule, so the survivor of a cluster does not depend on input order: the row that sorts first by

1. verified correct (`verify_verdict == "correct"`),
2. rewritten successfully (`rewrite_status == "ok"`),
3. has a gold answer,
4. uses the tool (`num_code_blocks > 0`),
5. the shorter trace (characters; cheaper to train on, less rambling),
6. then ``(dataset, source, source_id, id)`` for a deterministic tie-break.

Missing columns count as null (the stage also runs on problems before any rewrite).

Dedup is per problem text, not per response: the survivor's problem keeps *all* its rows (its verified responses,
``problem_id`` shared, at most ``responses_per_problem`` of them after verification); every row of the other
problems in the cluster is dropped. Frames without ``problem_id`` treat each ``id`` as its own problem.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import polars as pl
from datasketch import MinHash, MinHashLSH

from retool_data.mathtext import math_tokens, ngrams
from retool_data.schema import StageResult, make_rejects, normalize_problem, problem_keys
from retool_data.stages.filters import answers_match
from retool_data.textnorm import fold_confusables

STAGE = "dedup"


def _rank_key(row: dict[str, Any]) -> tuple:
    trace = row.get("trace") or ""
    return (
        row.get("verify_verdict") != "correct",
        row.get("rewrite_status") != "ok",
        not row.get("gold_answer"),
        not (row.get("num_code_blocks") or 0) > 0,
        len(trace) if trace else float("inf"),
        *(str(row.get(k) or "") for k in ("dataset", "source", "source_id", "id")),
    )


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _signatures(texts: list[str], num_perm: int, shingle: int) -> np.ndarray:
    """One MinHash signature per text (a row), equal to ``MinHash.bulk`` over the texts' shingles (the
    space-joined token n-grams, UTF-8; ``[b""]`` for a text without tokens) with datasketch's default hash."""
    default_hash = MinHash(num_perm=num_perm).hashfunc
    # A shingle's hash is computed once: the same n-grams ("let be the", "find the number") recur across
    # problems, and hashing every occurrence was most of the stage's time.
    hashed: dict[tuple[str, ...], int] = {}
    # One sketch fed the precomputed hashes (`int` passes them through), reset per text: the same arithmetic
    # as a fresh MinHash per text without constructing and copying one each time.
    sketch = MinHash(num_perm=num_perm, hashfunc=int)
    empty = sketch.hashvalues
    out = np.empty((len(texts), num_perm), dtype=empty.dtype)
    for k, text in enumerate(texts):
        values = []
        for gram in ngrams(math_tokens(text), shingle):
            h = hashed.get(gram)
            if h is None:
                h = hashed[gram] = default_hash(" ".join(gram).encode("utf-8"))
            values.append(h)
        sketch.hashvalues = empty
        sketch.update_batch(values or [default_hash(b"")])
        out[k] = sketch.hashvalues
    return out


def _near_pairs(
    texts: list[str], threshold: float, num_perm: int, shingle: int
) -> list[tuple[int, int, float]]:
    """(i, j, estimated Jaccard) with i < j for the texts that share an LSH band and reach `threshold`.

    The candidates are exactly those of a `MinHashLSH` (its band layout for this threshold): two texts share a
    band when their signatures are equal on the band's rows. Grouping equal rows with numpy replaces an insert
    and a query per text; the similarity is computed as `MinHash.jaccard` does.
    """
    sigs = _signatures(texts, num_perm, shingle)
    candidates: set[tuple[int, int]] = set()
    for start, end in MinHashLSH(threshold=threshold, num_perm=num_perm).hashranges:
        band = np.ascontiguousarray(sigs[:, start:end])
        keys = band.view(np.dtype((np.void, band.itemsize * (end - start)))).ravel()
        _, bucket, sizes = np.unique(keys, return_inverse=True, return_counts=True)
        bucket = bucket.ravel()
        members: dict[int, list[int]] = {}
        for i in np.flatnonzero(sizes[bucket] > 1).tolist():
            members.setdefault(int(bucket[i]), []).append(i)
        for rows in members.values():
            candidates.update(itertools.combinations(rows, 2))
    pairs = []
    for i, j in sorted(candidates):
        sim = float(np.count_nonzero(sigs[i] == sigs[j])) / float(num_perm)
        if sim >= threshold:
            pairs.append((i, j, sim))
    return pairs


# What the stage reads from a row (besides the problem column): the keep-best rule and the reject details.
_ROW_COLUMNS = (
    "verify_verdict",
    "rewrite_status",
    "gold_answer",
    "num_code_blocks",
    "trace",
    "dataset",
    "source",
    "source_id",
    "id",
)


def dedup(
    df: pl.DataFrame,
    *,
    near_threshold: float | None = 0.75,
    num_perm: int = 128,
    shingle: int = 3,
    column: str = "problem",
) -> StageResult:
    """Keep the best row of each duplicate cluster; `near_threshold=None` switches near-dup detection off."""
    columns = [c for c in dict.fromkeys((column, *_ROW_COLUMNS)) if c in df.columns]
    rows = df.select(columns).to_dicts() if columns else [{} for _ in range(df.height)]
    keys = [normalize_problem(r.get(column) or "") for r in rows]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    reps = [members[0] for members in groups.values()]
    uf = _UnionFind(len(rows))
    for members in groups.values():
        for m in members[1:]:
            uf.union(members[0], m)
    similarity: dict[tuple[int, int], float] = {}
    if near_threshold is not None and len(reps) > 1:
        texts = [fold_confusables(rows[i].get(column) or "") for i in reps]
        near = _near_pairs(texts, near_threshold, num_perm, shingle)
        golds = [(rows[reps[a]].get("gold_answer"), rows[reps[b]].get("gold_answer")) for a, b, _ in near]
        both = [k for k, (gold_a, gold_b) in enumerate(golds) if gold_a and gold_b]
        # One batch for every pair with two gold answers (math-verify runs in worker processes).
        same = dict(
            zip(both, answers_match([golds[k][1] for k in both], [golds[k][0] for k in both]), strict=True)
        )
        for k, (a, b, sim) in enumerate(near):
            if not same.get(k, True):
                continue
            uf.union(reps[a], reps[b])
            similarity[(reps[a], reps[b])] = similarity[(reps[b], reps[a])] = sim
    clusters: dict[int, list[int]] = {}
    for i in range(len(rows)):
        clusters.setdefault(uf.find(i), []).append(i)

    # The problem each row answers and which response it is: the best row's problem keeps its other responses
    # (same problem_id, another response_index); rows without a response_index are plain duplicates.
    owner = problem_keys(df).to_list()
    response = df["response_index"].to_list() if "response_index" in df.columns else [None] * df.height
    kept_idx, rejected_idx, reasons, details = [], [], [], []
    cluster_size = [1] * len(rows)
    for members in clusters.values():
        best = min(members, key=lambda i: _rank_key(rows[i]))
        answers = {response[best]}
        for i in sorted(members, key=lambda i: _rank_key(rows[i])):
            sibling = owner[i] is not None and owner[i] == owner[best] and response[i] not in answers
            if i == best or (sibling and response[i] is not None):
                answers.add(response[i])
                kept_idx.append(i)
                cluster_size[i] = len(members)
                continue
            exact = keys[i] == keys[best]
            rejected_idx.append(i)
            reasons.append("duplicate_exact" if exact else "duplicate_near")
            sim = similarity.get((i, best), similarity.get((best, i)))
            how = "" if exact else (f", jaccard~{sim:.2f}" if sim is not None else ", same near-dup cluster")
            details.append(
                f"kept {rows[best].get('id')} ({rows[best].get('source')}:{rows[best].get('source_id')}){how}"
            )
    kept_idx.sort()
    order = sorted(range(len(rejected_idx)), key=lambda k: rejected_idx[k])
    with_size = df.with_columns(pl.Series("dedup_cluster_size", cluster_size, dtype=pl.Int64))
    rejected = make_rejects(
        with_size[[rejected_idx[k] for k in order]],
        STAGE,
        [reasons[k] for k in order],
        [details[k] for k in order],
    )
    stats = {
        "rows_in": df.height,
        "clusters": len(clusters),
        "duplicate_exact": reasons.count("duplicate_exact"),
        "duplicate_near": reasons.count("duplicate_near"),
    }
    return StageResult(kept=with_size[kept_idx], rejected=rejected, stats=stats)
