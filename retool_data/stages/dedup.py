"""Deduplication: one row per problem, exact and near-duplicate.

* **exact**: rows whose `schema.normalize_problem` texts are equal (NFKC, lowercase, whitespace, ``$``);
* **near**: MinHash/LSH (datasketch) over 3-token shingles of the canonical math tokens
  (`retool_data.mathtext`), with LSH candidates confirmed by their estimated Jaccard similarity >= the threshold.
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
"""

from __future__ import annotations

from typing import Any

import polars as pl
from datasketch import MinHash, MinHashLSH

from retool_data.mathtext import math_tokens, ngrams
from retool_data.schema import StageResult, make_rejects, normalize_problem
from retool_data.stages.filters import answers_match

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


def _near_pairs(
    texts: list[str], threshold: float, num_perm: int, shingle: int
) -> list[tuple[int, int, float]]:
    shingles = [
        [" ".join(g).encode("utf-8") for g in ngrams(math_tokens(t), shingle)] or [b""] for t in texts
    ]
    hashes = MinHash.bulk(shingles, num_perm=num_perm)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with lsh.insertion_session() as session:
        for i, h in enumerate(hashes):
            session.insert(i, h, check_duplication=False)
    pairs = []
    for i, h in enumerate(hashes):
        for j in lsh.query(h):
            if j > i and (sim := h.jaccard(hashes[j])) >= threshold:
                pairs.append((i, j, sim))
    return pairs


def dedup(
    df: pl.DataFrame,
    *,
    near_threshold: float | None = 0.75,
    num_perm: int = 128,
    shingle: int = 3,
    column: str = "problem",
) -> StageResult:
    """Keep the best row of each duplicate cluster; `near_threshold=None` switches near-dup detection off."""
    rows = df.to_dicts()
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
        for a, b, sim in _near_pairs(
            [rows[i].get(column) or "" for i in reps], near_threshold, num_perm, shingle
        ):
            gold_a, gold_b = rows[reps[a]].get("gold_answer"), rows[reps[b]].get("gold_answer")
            if gold_a and gold_b and not answers_match([gold_b], [gold_a])[0]:
                continue
            uf.union(reps[a], reps[b])
            similarity[(reps[a], reps[b])] = similarity[(reps[b], reps[a])] = sim
    clusters: dict[int, list[int]] = {}
    for i in range(len(rows)):
        clusters.setdefault(uf.find(i), []).append(i)

    kept_idx, rejected_idx, reasons, details = [], [], [], []
    cluster_size = [1] * len(rows)
    for members in clusters.values():
        best = min(members, key=lambda i: _rank_key(rows[i]))
        kept_idx.append(best)
        cluster_size[best] = len(members)
        for i in members:
            if i == best:
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
