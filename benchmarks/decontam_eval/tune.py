"""The threshold sweep behind the defaults (`python benchmarks/decontam_accuracy.py --tune`): tune half only.

For every tune row it computes each layer's best raw score (n-gram containment, fuzzy ratio, TF-IDF cosine,
embedding cosine, the latter for every row, gate ignored), then prints:

1. the semantic threshold: recall on copies and clean rows flagged, with the lexical layers at their defaults;
2. the TF-IDF gate: recall when only rows at or above it are embedded, and the share of clean rows it lets
   through (the embedding cost; competition-style rows pass far more often than word problems).
"""

from __future__ import annotations

from retool_data.stages.decontam_index import LexicalIndex, prepare
from retool_data.stages.decontam_semantic import Embedder


def features(rows: list[dict], problems: dict[str, list[str]]) -> list[dict]:
    flat = [p for ps in problems.values() for p in ps]
    index = LexicalIndex(flat)
    texts = [prepare(r["problem"]) for r in rows]
    _, tfidf = index.tfidf_best(texts)
    embedder = Embedder()
    items = __import__("numpy").concatenate([embedder.encode_benchmark(n, ps) for n, ps in problems.items()])
    cos = (embedder.encode([r["problem"] for r in rows]) @ items.T).max(axis=1)
    out = []
    for r, t, tf, c in zip(rows, texts, tfidf, cos, strict=True):
        lex = index.lexical(t)
        cont = max([s.containment for s in lex if index.informative[s.item] >= 10] or [0.0])
        ratio = max([s.ratio for s in lex] or [0.0])
        out.append({**r, "cont": cont, "ratio": ratio, "tfidf": float(tf), "cos": float(c)})
    return out


def tune_thresholds(rows: list[dict], problems: dict[str, list[str]], answers: dict) -> None:
    f = features(rows, problems)
    copies = [r for r in f if r["kind"] == "copy"]
    clean = [r for r in f if r["kind"] == "clean"]

    def lexical(r: dict) -> bool:
        return r["cont"] >= 0.5 or r["ratio"] >= 95

    print(f"tune half: {len(copies)} copies, {len(clean)} clean rows")
    print("semantic threshold (no gate) | recall | clean flagged")
    for tc in (0.70, 0.72, 0.74, 0.75, 0.76, 0.78, 0.80, 0.85):
        rec = sum(lexical(r) or r["cos"] >= tc for r in copies) / len(copies)
        fp = sum(lexical(r) or r["cos"] >= tc for r in clean)
        print(f"  {tc:.2f} | {rec:.3f} | {fp} ({fp / len(clean):.2%})")
    print("TF-IDF gate (cosine >= 0.75) | recall | clean rows embedded: all, olympiadbench, champ, gsm8k")
    for g in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        rec = sum(lexical(r) or (r["tfidf"] >= g and r["cos"] >= 0.75) for r in copies) / len(copies)
        share = {
            src: sum(not lexical(r) and r["tfidf"] >= g for r in clean if src in ("all", r["transform"]))
            / max(1, sum(src in ("all", r["transform"]) for r in clean))
            for src in ("all", "olympiadbench", "champ", "gsm8k")
        }
        print(f"  {g:.2f} | {rec:.3f} | " + ", ".join(f"{v:.1%}" for v in share.values()))
