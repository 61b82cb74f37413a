"""The lexical layers of decontamination, over canonical math tokens (`retool_data.mathtext`), figures stripped.

* ``exact``: the canonical text equals a benchmark item's.
* ``ngram``: share of the item's informative token n-grams found in the problem (containment). N-grams are
  taken over the *template* (numbers masked as ``#``), so a copy with changed numbers still matches and the
  answer-aware step decides whether it is a copy or a template variant. N-grams shared by more than
  ``max_ngram_df`` items are boilerplate ("where m and n are relatively prime positive integers"): they neither
  create candidates nor count.
* ``fuzzy``: rapidfuzz ratio of the templates, for the items sharing an n-gram.
* ``tfidf``: cosine of TF-IDF vectors (item vocabulary, numbers kept) against every item, one sparse product for
  a whole batch: it nominates the problems that the semantic layer embeds, and their nearest item.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from retool_data.mathtext import (
    masked_tokens,
    math_tokens,
    ngrams,
    number_values,
    strip_figures,
    unicode_to_latex,
)
from retool_data.textnorm import fold_confusables


@dataclass(frozen=True)
class Text:
    """One statement, prepared once: canonical tokens, its template and its numbers."""

    tokens: list[str]
    template: list[str]
    numbers: frozenset[str]

    @property
    def canonical(self) -> str:
        return " ".join(self.tokens)

    @property
    def template_text(self) -> str:
        return " ".join(self.template)

    @property
    def wording(self) -> int:
        """Tokens that are not numbers: how much of the statement is template."""
        return sum(t != "#" for t in self.template)


def source_text(problem: str) -> str:
    """What every layer reads: figure code stripped, Unicode mathematics as LaTeX, then look-alike characters
    folded (`textnorm.fold_confusables`, as dedup does; after the LaTeX step, so ``×`` is ``\\times``, not x)."""
    return fold_confusables(unicode_to_latex(strip_figures(problem or "")))


def prepare(problem: str) -> Text:
    tokens = math_tokens(source_text(problem))
    return Text(tokens, masked_tokens(tokens), frozenset(number_values(tokens)))


@dataclass(frozen=True)
class LexicalScore:
    item: int
    containment: float
    ratio: float


class LexicalIndex:
    """Exact, n-gram and fuzzy lookups plus TF-IDF similarity against a fixed list of statements."""

    def __init__(self, problems: list[str], *, ngram: int = 6, max_ngram_df: int = 3) -> None:
        self.ngram = ngram
        self.items = [prepare(p) for p in problems]
        self._exact = {t.canonical: i for i, t in reversed(list(enumerate(self.items)))}
        grams_per_item = [ngrams(t.template, ngram) for t in self.items]
        df = Counter(g for grams in grams_per_item for g in grams)
        self._index: dict[tuple[str, ...], list[int]] = {}
        self.informative: list[int] = []
        for item, grams in enumerate(grams_per_item):
            informative = {g for g in grams if df[g] <= max_ngram_df} or grams
            self.informative.append(len(informative))
            for g in informative:
                self._index.setdefault(g, []).append(item)
        # Items shorter than `ngram` tokens are indexed as one whole n-gram of their own length.
        self._sizes = sorted({len(g) for g in self._index})
        self._build_tfidf()

    def __len__(self) -> int:
        return len(self.items)

    def exact(self, text: Text) -> int | None:
        return self._exact.get(text.canonical) if text.tokens else None

    def lexical(self, text: Text) -> list[LexicalScore]:
        """Every item sharing an informative template n-gram, with its containment and fuzzy ratio."""
        hits: Counter[int] = Counter()
        for size in self._sizes:
            for g in ngrams(text.template, size) if len(text.template) >= size else ():
                for item in self._index.get(g, ()):
                    hits[item] += 1
        template = text.template_text
        return [
            LexicalScore(
                item,
                min(1.0, shared / max(1, self.informative[item])),
                fuzz.ratio(template, self.items[item].template_text),
            )
            for item, shared in hits.items()
        ]

    # ------------------------------------------------------------------------------------------- tf-idf
    def _build_tfidf(self) -> None:
        vocab: dict[str, int] = {}
        for t in self.items:
            for tok in t.tokens:
                vocab.setdefault(tok, len(vocab))
        df = np.zeros(len(vocab))
        for t in self.items:
            for tok in set(t.tokens):
                df[vocab[tok]] += 1
        n = len(self.items)
        self._vocab = vocab
        self._idf = np.log((n + 1) / (df + 1)) + 1.0
        self._unseen_idf = math.log(n + 1) + 1.0  # a token no item has: counts in the problem's norm only
        self._item_matrix = self._vectors(self.items).T.tocsr()  # vocab x items

    def _vectors(self, texts: list[Text]):  # noqa: ANN202 - scipy.sparse.csr_matrix, rows L2-normalized
        from scipy import sparse

        indptr, indices, data = [0], [], []
        norms = np.empty(len(texts))
        for r, t in enumerate(texts):
            counts = Counter(t.tokens)
            sq = 0.0
            for tok, c in counts.items():
                j = self._vocab.get(tok)
                w = (1.0 + math.log(c)) * (self._idf[j] if j is not None else self._unseen_idf)
                sq += w * w
                if j is not None:
                    indices.append(j)
                    data.append(w)
            indptr.append(len(indices))
            norms[r] = math.sqrt(sq) or 1.0
        m = sparse.csr_matrix(
            (np.asarray(data), np.asarray(indices), np.asarray(indptr)), (len(texts), len(self._vocab))
        )
        return sparse.diags(1.0 / norms) @ m

    def tfidf_best(self, texts: list[Text], chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
        """(nearest item, its TF-IDF cosine) for every text, in chunks of sparse products."""
        best_item = np.zeros(len(texts), dtype=np.int64)
        best_score = np.zeros(len(texts))
        if not self.items:
            return best_item, best_score
        for start in range(0, len(texts), chunk):
            sims = (self._vectors(texts[start : start + chunk]) @ self._item_matrix).toarray()
            best_item[start : start + len(sims)] = sims.argmax(axis=1)
            best_score[start : start + len(sims)] = sims.max(axis=1)
        return best_item, best_score
