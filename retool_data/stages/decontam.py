"""Decontamination: drop training problems that restate evaluation benchmark items, and say why.

Layers, each a reason a row can be matched by (`decontam_index` for the lexical ones):

* ``exact``: same canonical text (`retool_data.mathtext`: LaTeX spelling, Unicode, whitespace, figures);
* ``ngram``: >= ``min_containment`` of the item's informative template n-grams occur in the problem (items with
  fewer than ``min_item_ngrams`` of them use the other layers only);
* ``fuzzy``: rapidfuzz ratio of the templates >= ``min_ratio``;
* ``semantic``: cosine of MiniLM sentence embeddings >= ``min_cosine`` (`decontam_semantic`), for the problems
  whose TF-IDF cosine to some item reaches ``candidate_tfidf`` (embedding every row would not fit the time
  budget; the gate is measured to pass every rephrased copy of the evaluation set, see docs/filters.md);
* ``judge`` (optional): an LLM decides pairs with ``judge_min_cosine <= cosine < min_cosine`` (`decontam_judge`).

**Answer-aware**: a matched problem whose answer equals the item's, or that keeps the item's numbers, is a copy
(``benchmark_contamination``); one whose numbers were substituted and whose answer differs (or is unknown) is a
``template_variant``: removed by default, kept with ``template_policy="keep"``. Items with fewer than
``min_template_words`` words ("Compute $2^{10}$.") are no template: another number there is another problem.

**Scale**: a batch of 4,000+ rows is split over ``workers`` forked processes (`decontam_parallel`), each running
every layer but the judge on its slice with one torch thread; the judge's calls are made here, in one batch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from retool_data.schema import StageResult, make_rejects
from retool_data.stages.decontam_index import LexicalIndex, Text, prepare
from retool_data.stages.decontam_parallel import fork_map, slices, worker_count
from retool_data.stages.decontam_semantic import recheck_borderline

STAGE = "decontaminate"
REASON = "benchmark_contamination"
TEMPLATE_REASON = "template_variant"
LAYERS = ("exact", "ngram", "fuzzy", "semantic", "judge")
DEFAULT_LAYERS = ("exact", "ngram", "fuzzy", "semantic")
ANSWER_COLUMNS = ("gold_answer", "final_answer", "teacher_answer")  # the row's answer, first present wins


@dataclass(frozen=True)
class Match:
    """The benchmark item nearest to a problem and, when a layer fired, why it matches (``reason``)."""

    benchmark: str
    index: int
    score: float  # max(containment, ratio / 100, cosine): the kept rows' ``decontam_score``
    layer: str  # exact | ngram | fuzzy | semantic | judge, or "none" (nearest item, below every threshold)
    reason: str | None = None  # REASON | TEMPLATE_REASON | None (clean)
    ratio: float = 0.0
    containment: float = 0.0
    cosine: float | None = None  # None: not embedded
    numbers_changed: bool = False
    answer_equal: bool | None = None  # None: an answer is unknown on either side
    judge_reason: str | None = None

    @property
    def method(self) -> str:  # the name this field had before the semantic layer
        return self.layer

    def describe(self) -> str:
        cos = "-" if self.cosine is None else f"{self.cosine:.3f}"
        extra = f" numbers_changed={self.numbers_changed} answer_equal={self.answer_equal}"
        judge = f" judge: {self.judge_reason}" if self.judge_reason else ""
        return (
            f"{self.benchmark}[{self.index}] via {self.layer}: score={self.score:.3f} ratio={self.ratio:.1f} "
            f"ngram_containment={self.containment:.2f} cosine={cos}{extra}{judge}"
        )


class Decontaminator:
    """An index of benchmark problems; `.match(problem)` returns the copied item or None (module docstring)."""

    def __init__(
        self,
        benchmarks: dict[str, list[str]],
        *,
        answers: dict[str, list[str | None]] | None = None,
        layers: tuple[str, ...] | list[str] = DEFAULT_LAYERS,
        ngram: int = 6,
        min_containment: float | None = 0.5,
        min_ratio: float | None = 95.0,
        max_ngram_df: int = 3,
        min_item_ngrams: int = 10,
        min_cosine: float | None = 0.75,
        candidate_tfidf: float = 0.55,
        judge: Any = None,
        judge_min_cosine: float = 0.65,
        template_policy: str = "remove",
        min_template_words: int = 8,
        embedder: Any = None,
        workers: int = 2,
    ) -> None:
        unknown = set(layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown decontamination layers {sorted(unknown)}; known: {LAYERS}")
        if template_policy not in ("remove", "keep"):
            raise ValueError("template_policy must be 'remove' or 'keep'")
        self.layers = tuple(
            layer
            for layer in layers
            if not (layer == "ngram" and min_containment is None)
            and not (layer == "fuzzy" and min_ratio is None)
            and not (layer == "semantic" and min_cosine is None)
            and not (layer == "judge" and judge is None)
        )
        if not self.layers:
            raise ValueError("no decontamination layer left on: set a threshold or name a layer")
        self.min_containment, self.min_ratio, self.min_cosine = min_containment, min_ratio, min_cosine
        self.min_item_ngrams, self.candidate_tfidf = min_item_ngrams, candidate_tfidf
        self.workers = workers  # processes for a large batch (decontam_parallel); 1: this process only
        self.judge, self.judge_min_cosine = judge, judge_min_cosine
        self.template_policy, self.min_template_words = template_policy, min_template_words
        self.items: list[tuple[str, int]] = [(b, i) for b, ps in benchmarks.items() for i in range(len(ps))]
        self.benchmarks = benchmarks
        self._problems = [p for ps in benchmarks.values() for p in ps]
        self._answers = [
            (answers or {}).get(b, [None] * len(ps))[i]
            for b, ps in benchmarks.items()
            for i in range(len(ps))
        ]
        self.index = LexicalIndex(self._problems, ngram=ngram, max_ngram_df=max_ngram_df)
        self._embedder = embedder
        self._item_vectors: np.ndarray | None = None
        self._exact_items: dict[int, np.ndarray] = {}  # float32 item embeddings for the borderline re-check
        self.stats: Counter[str] = Counter()  # embedded, judged, judge_failed: what the last calls did
        if "semantic" in self.layers and self._embedder is None:
            from retool_data.stages.decontam_semantic import Embedder

            self._embedder = Embedder()

    def __len__(self) -> int:
        return len(self.items)

    def config(self) -> dict[str, Any]:
        """Layers and thresholds in force (the export card and the asset metadata show them)."""
        return {
            "layers": list(self.layers),
            "ngram": self.index.ngram,
            "min_containment": self.min_containment,
            "min_ratio": self.min_ratio,
            "min_cosine": self.min_cosine if "semantic" in self.layers else None,
            "candidate_tfidf": self.candidate_tfidf if "semantic" in self.layers else None,
            "judge_min_cosine": self.judge_min_cosine if "judge" in self.layers else None,
            "embedding_model": getattr(self._embedder, "model_name", None)
            if "semantic" in self.layers
            else None,
            "template_policy": self.template_policy,
            "min_template_words": self.min_template_words,
            "benchmarks": {name: len(ps) for name, ps in self.benchmarks.items()},
        }

    # ------------------------------------------------------------------------------------------- matching
    def nearest(self, problem: str, answer: str | None = None) -> Match | None:
        """The nearest benchmark item, with ``reason`` set when a layer fired (None: nothing shares a word)."""
        return self.nearest_many([problem], [answer])[0]

    def match(self, problem: str, answer: str | None = None) -> Match | None:
        """The benchmark item `problem` copies or is a template variant of, or None when it is clean."""
        m = self.nearest(problem, answer)
        return m if m is not None and m.reason is not None else None

    def nearest_many(
        self, problems: list[str], answers: list[str | None] | None = None
    ) -> list[Match | None]:
        """`nearest` for a batch: the TF-IDF product, embeddings and judge calls are batched, and a large batch
        is split over ``workers`` processes (`decontam_parallel`)."""
        answers = answers if answers is not None else [None] * len(problems)
        parts = worker_count(len(problems), self.workers)
        if parts > 1 and "semantic" in self.layers:
            self.item_vectors()  # load the model and the benchmark embeddings once, before the fork
        bounds = slices(len(problems), parts)
        results = fork_map(self._batch, [(problems[a:b], answers[a:b]) for a, b in bounds])
        out: list[Match | None] = []
        pending: list[tuple[int, int, float]] = []
        for (start, _), (part, part_pending, counts) in zip(bounds, results, strict=True):
            out.extend(part)
            pending.extend((start + i, item, cos) for i, item, cos in part_pending)
            self.stats.update(counts)  # a forked worker's own `stats` die with it
        if pending:
            self._judge(problems, answers, out, pending)
        return out

    def _batch(
        self, problems: list[str], answers: list[str | None]
    ) -> tuple[list[Match | None], list[tuple[int, int, float]], Counter[str]]:
        """Lexical and semantic layers on one slice: its matches, the pairs left to the judge, its counts
        (``embedded``, ``rechecked_float32``)."""
        texts = [prepare(p) for p in problems]
        out: list[Match | None] = [self._lexical(t, a) for t, a in zip(texts, answers, strict=True)]
        pending: list[tuple[int, int, float]] = []
        counts: Counter[str] = Counter()
        if "semantic" in self.layers and problems:
            self._semantic(problems, texts, answers, out, pending, counts)
        return out, pending, counts

    def _lexical(self, text: Text, answer: str | None) -> Match | None:
        if "exact" in self.layers and (item := self.index.exact(text)) is not None:
            return self._decide(item, "exact", text, answer, ratio=100.0, containment=1.0)
        best: tuple[float, int, float, float] | None = None
        fired: list[tuple[tuple[float, float], str, int, float, float]] = []
        for s in self.index.lexical(text):
            score = max(s.ratio / 100, s.containment)
            if best is None or score > best[0]:
                best = (score, s.item, s.ratio, s.containment)
            if "fuzzy" in self.layers and s.ratio >= self.min_ratio:
                fired.append(((1.0, s.ratio / 100), "fuzzy", s.item, s.ratio, s.containment))
            elif (
                "ngram" in self.layers
                and s.containment >= self.min_containment
                and self.index.informative[s.item] >= self.min_item_ngrams
            ):
                fired.append(((1.0, s.containment), "ngram", s.item, s.ratio, s.containment))
        for _, layer, item, ratio, containment in sorted(fired, reverse=True):
            m = self._decide(item, layer, text, answer, ratio=ratio, containment=containment)
            if m.reason is not None:
                return m
        if best is None:
            return None
        return self._nearest_only(best[1], best[2], best[3])

    def _semantic(
        self, problems: list[str], texts: list[Text], answers: list, out: list, pending_judge: list,
        counts: Counter[str],
    ) -> None:  # fmt: skip
        """Embed the gated rows and update their matches in `out`."""
        _, tfidf = self.index.tfidf_best(texts)
        todo = [
            i
            for i, m in enumerate(out)
            if (m is None or m.reason is None) and tfidf[i] >= self.candidate_tfidf
        ]
        if not todo:
            return
        counts["embedded"] += len(todo)
        vectors = self._embedder.encode([problems[i] for i in todo])
        sims = vectors @ self.item_vectors().T
        if getattr(self._embedder, "dtype", "float32") != "float32":
            limits = [self.min_cosine] + ([self.judge_min_cosine] if "judge" in self.layers else [])
            texts_todo = [problems[i] for i in todo]
            counts["rechecked_float32"] += recheck_borderline(
                self._embedder, texts_todo, sims, self._problems, self._exact_items, limits
            )
        for row, i in enumerate(todo):
            item = int(sims[row].argmax())
            cos = float(sims[row, item])
            prev = out[i]
            same = prev is not None and (prev.benchmark, prev.index) == self.items[item]
            ratio, containment = (prev.ratio, prev.containment) if same else (0.0, 0.0)
            if cos >= self.min_cosine:
                m = self._decide(
                    item, "semantic", texts[i], answers[i], ratio=ratio, containment=containment, cosine=cos
                )
                if m.reason is not None or prev is None or m.score >= prev.score:
                    out[i] = m
                continue
            if "judge" in self.layers and cos >= self.judge_min_cosine:
                pending_judge.append((i, item, cos))
            if prev is None or cos > prev.score:
                out[i] = self._nearest_only(item, ratio, containment, cos)
            else:
                out[i] = Match(**{**prev.__dict__, "cosine": cos})

    def _judge(self, problems: list[str], answers: list, out: list, pending: list) -> None:
        from retool_data.stages.decontam_judge import judge_pairs

        verdicts = judge_pairs(self.judge, [(problems[i], self._problems[item]) for i, item, _ in pending])
        self.stats["judged"] += len(pending)
        for (i, item, cos), v in zip(pending, verdicts, strict=True):
            if v.verdict is None:
                self.stats["judge_failed"] += 1
            elif v.verdict != "different":
                text = prepare(problems[i])  # few rows: prepared again rather than carried back from a worker
                m = self._decide(item, "judge", text, answers[i], cosine=cos, judge_reason=v.reason)
                if v.verdict == "variant" and m.reason == REASON and not m.answer_equal:
                    m = Match(**{**m.__dict__, "reason": TEMPLATE_REASON})
                out[i] = m

    def item_vectors(self) -> np.ndarray:
        if self._item_vectors is None:
            parts = [
                self._embedder.encode_benchmark(name, ps, workers=self.workers)
                for name, ps in self.benchmarks.items()
            ]
            self._item_vectors = np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)
        return self._item_vectors

    def _nearest_only(
        self, item: int, ratio: float, containment: float, cosine: float | None = None
    ) -> Match:
        score = max(ratio / 100, containment, cosine or 0.0)
        return Match(*self.items[item], score, "none", None, ratio, containment, cosine)

    def _decide(
        self, item: int, layer: str, text: Text, answer: str | None, *, ratio: float = 0.0,
        containment: float = 0.0, cosine: float | None = None, judge_reason: str | None = None,
    ) -> Match:  # fmt: skip
        """A layer fired on `item`: copy, template variant, or (a short item with other numbers) nothing."""
        ref = self.index.items[item]
        changed = bool(ref.numbers - text.numbers) and bool(text.numbers - ref.numbers)
        gold = self._answers[item]
        equal = None
        if answer and gold:
            from retool_data.answers import is_equivalent

            equal = is_equivalent(answer, gold)
        # A variant has substituted numbers and no equal answer; the same numbers (or answer) make a copy,
        # even with another answer (a leaked problem with a wrong training answer is still leaked).
        if equal or not changed:
            reason: str | None = REASON
        elif ref.wording >= self.min_template_words:
            reason = TEMPLATE_REASON
        else:  # a short item is no template: another number or answer makes another problem
            reason, layer = None, "none"
        score = max(ratio / 100, containment, cosine or 0.0, 1.0 if layer == "exact" else 0.0)
        return Match(
            *self.items[item], score, layer, reason, ratio, containment, cosine, changed, equal, judge_reason
        )


def row_answers(df: pl.DataFrame) -> list[str | None]:
    """Each row's own answer: the first of ``ANSWER_COLUMNS`` that is present and non-empty."""
    cols = [c for c in ANSWER_COLUMNS if c in df.columns]
    if not cols:
        return [None] * df.height
    expr = pl.coalesce(
        [
            pl.when(pl.col(c).cast(pl.String).str.strip_chars() != "").then(pl.col(c).cast(pl.String))
            for c in cols
        ]
    )
    return df.select(expr.alias("a"))["a"].to_list()


def decontaminate(df: pl.DataFrame, decontaminator: Decontaminator, column: str = "problem") -> StageResult:
    """Drop copies (and, by policy, template variants); kept rows gain the `DECONTAM_COLUMNS` scores."""
    decontaminator.stats.clear()
    near = decontaminator.nearest_many([p or "" for p in df[column].to_list()], row_answers(df))
    policy_keep = decontaminator.template_policy == "keep"
    drop = [
        m is not None and (m.reason == REASON or (m.reason == TEMPLATE_REASON and not policy_keep))
        for m in near
    ]
    df = df.with_columns(
        pl.Series("decontam_score", [m.score if m else 0.0 for m in near], dtype=pl.Float64),
        pl.Series(
            "decontam_nearest", [f"{m.benchmark}[{m.index}]" if m else None for m in near], dtype=pl.String
        ),
        pl.Series("decontam_layer", [m.layer if m else "none" for m in near], dtype=pl.String),
        pl.Series("decontam_reason", [m.reason if m else None for m in near], dtype=pl.String),
        pl.Series("decontam_containment", [m.containment if m else 0.0 for m in near], dtype=pl.Float64),
        pl.Series("decontam_ratio", [m.ratio if m else 0.0 for m in near], dtype=pl.Float64),
        pl.Series("decontam_cosine", [m.cosine if m else None for m in near], dtype=pl.Float64),
    )
    # typed: with no rows an untyped Series is dtype Null, which `filter` refuses (issue 15.10)
    flagged = pl.Series(drop, dtype=pl.Boolean)
    hits = [m for m, d in zip(near, drop, strict=True) if d]
    rejected = make_rejects(df.filter(flagged), STAGE, [m.reason for m in hits], [m.describe() for m in hits])
    reasons = Counter(m.reason for m in near if m is not None and m.reason)
    stats = {
        "rows_in": df.height,
        "contaminated": reasons[REASON],
        "template_variants": reasons[TEMPLATE_REASON],
        "template_variants_kept": reasons[TEMPLATE_REASON] if policy_keep else 0,
        "per_benchmark": dict(Counter(m.benchmark for m in hits)),
        "per_layer": dict(Counter(m.layer for m in hits)),
        **dict(decontaminator.stats),
        "config": decontaminator.config(),
    }
    return StageResult(kept=df.filter(~flagged), rejected=rejected, stats=stats)


DECONTAM_COLUMNS: dict[str, pl.DataType] = {
    "decontam_score": pl.Float64(),  # max(containment, ratio/100, cosine) against the nearest item
    "decontam_nearest": pl.String(),  # "aime24[3]": the nearest item (null: no item shares a word)
    "decontam_layer": pl.String(),  # the layer that matched, "none" on clean rows
    "decontam_reason": pl.String(),  # null, or template_variant on a variant kept by policy
    "decontam_containment": pl.Float64(),
    "decontam_ratio": pl.Float64(),
    "decontam_cosine": pl.Float64(),  # null: the row was not embedded (no lexical candidate)
}
