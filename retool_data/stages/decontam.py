"""Decontamination: drop training problems that are (near-)copies of evaluation benchmark items.

Two steps, as in datatrove's `decont/n_grams.py`: index the benchmarks once, then test each problem. Both sides
are reduced to canonical math tokens (`retool_data.mathtext`), so whitespace, ``$`` delimiters, LaTeX spelling
(``\\frac12`` = ``\\frac{1}{2}``) and punctuation never hide a copy. A problem matches a benchmark item when

* **fuzzy**: the rapidfuzz ratio of the canonical texts is >= ``min_ratio`` (95, the Open-Thoughts threshold), or
* **n-gram**: at least ``min_containment`` of the item's informative token n-grams occur in the problem (catches
  a copy whose first sentence was reworded, or one embedded in a longer statement). Only items with at least
  ``min_item_ngrams`` informative n-grams use this rule: in a ten-word item, one changed word ("odd" -> "even")
  leaves most n-grams intact but makes a different question, so short items match by the fuzzy ratio alone.

N-grams shared by more than ``max_ngram_df`` benchmark items ("where m and n are relatively prime positive
integers") are boilerplate: they neither create candidates nor count towards containment, so a different
problem in the same style does not match. Fuzzy ratios are only computed for items sharing an n-gram.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl
from rapidfuzz import fuzz

from retool_data.mathtext import math_tokens, ngrams
from retool_data.schema import StageResult, make_rejects

STAGE = "decontaminate"
REASON = "benchmark_contamination"


@dataclass(frozen=True)
class Match:
    """The benchmark item a problem copies: `score` = max(ratio / 100, containment)."""

    benchmark: str
    index: int
    score: float
    method: str  # "fuzzy" | "ngram" when it matches, "none" for a nearest item below both thresholds
    ratio: float
    containment: float

    def describe(self) -> str:
        return (
            f"{self.benchmark}[{self.index}] via {self.method}: "
            f"ratio={self.ratio:.1f} ngram_containment={self.containment:.2f}"
        )


class Decontaminator:
    """An index of benchmark problems; `.match(problem)` returns the copied item or None."""

    def __init__(
        self,
        benchmarks: dict[str, list[str]],
        *,
        ngram: int = 6,
        min_containment: float | None = 0.5,
        min_ratio: float | None = 95.0,
        max_ngram_df: int = 3,
        min_item_ngrams: int = 10,
    ) -> None:
        if min_containment is None and min_ratio is None:
            raise ValueError("at least one of min_containment and min_ratio must be set")
        self.ngram, self.min_containment, self.min_ratio = ngram, min_containment, min_ratio
        self.min_item_ngrams = min_item_ngrams
        self.items: list[tuple[str, int]] = []
        self._texts: list[str] = []
        grams_per_item: list[set[tuple[str, ...]]] = []
        for bench, problems in benchmarks.items():
            for i, problem in enumerate(problems):
                tokens = math_tokens(problem)
                self.items.append((bench, i))
                self._texts.append(" ".join(tokens))
                grams_per_item.append(ngrams(tokens, ngram))
        df = Counter(g for grams in grams_per_item for g in grams)
        self._index: dict[tuple[str, ...], list[int]] = {}
        self._informative: list[int] = []
        for item, grams in enumerate(grams_per_item):
            informative = {g for g in grams if df[g] <= max_ngram_df} or grams
            self._informative.append(len(informative))
            for g in informative:
                self._index.setdefault(g, []).append(item)
        # Items shorter than `ngram` tokens are indexed as one whole n-gram of their own length.
        self._sizes = sorted({len(g) for g in self._index})

    def __len__(self) -> int:
        return len(self.items)

    def nearest(self, problem: str) -> Match | None:
        """The most similar benchmark item sharing an n-gram with `problem`, whether or not it matches."""
        tokens = math_tokens(problem)
        hits: Counter[int] = Counter()
        for size in self._sizes:
            for g in ngrams(tokens, size) if len(tokens) >= size else ():
                for item in self._index.get(g, ()):
                    hits[item] += 1
        if not hits:
            return None
        text = " ".join(tokens)
        best: Match | None = None
        for item, shared in hits.items():
            containment = min(1.0, shared / max(1, self._informative[item]))
            ratio = fuzz.ratio(text, self._texts[item])
            if self.min_ratio is not None and ratio >= self.min_ratio:
                method = "fuzzy"
            elif (
                self.min_containment is not None
                and containment >= self.min_containment
                and self._informative[item] >= self.min_item_ngrams
            ):
                method = "ngram"
            else:
                method = "none"
            cand = Match(*self.items[item], max(ratio / 100, containment), method, ratio, containment)
            if best is None or (cand.method != "none", cand.score) > (best.method != "none", best.score):
                best = cand
        return best

    def match(self, problem: str) -> Match | None:
        """The benchmark item `problem` copies (the best-scoring match), or None when it is clean."""
        m = self.nearest(problem)
        return m if m is not None and m.method != "none" else None


def decontaminate(df: pl.DataFrame, decontaminator: Decontaminator, column: str = "problem") -> StageResult:
    """Drop rows whose `column` copies a benchmark item; kept rows gain `decontam_score` (nearest item's score)."""
    nearest = [decontaminator.nearest(problem or "") for problem in df[column].to_list()]
    matches = [m if m is not None and m.method != "none" else None for m in nearest]
    scores = [m.score if m is not None else 0.0 for m in nearest]
    df = df.with_columns(pl.Series("decontam_score", scores, dtype=pl.Float64))
    # typed: with no rows an untyped Series is dtype Null, which `filter` refuses (issue 15.10)
    flagged = pl.Series([m is not None for m in matches], dtype=pl.Boolean)
    hits = [m for m in matches if m is not None]
    rejected = make_rejects(df.filter(flagged), STAGE, [REASON] * len(hits), [m.describe() for m in hits])
    per_benchmark = Counter(m.benchmark for m in hits)
    stats = {"rows_in": df.height, "contaminated": len(hits), "per_benchmark": dict(per_benchmark)}
    return StageResult(kept=df.filter(~flagged), rejected=rejected, stats=stats)
