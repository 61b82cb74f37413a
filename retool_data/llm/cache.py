"""The response cache, which is also the resume mechanism.

Every successful completion is written to SQLite (one committed transaction per response, WAL journal) before
the caller sees it, keyed by `fingerprint(model, request)`. A re-run, or a run killed with ``kill -9``, finds
those rows and sends only the requests that never completed. Errors are never cached: a re-run retries them.

The location is `default_cache_dir()` (``$RETOOL_CACHE_DIR`` or ``~/.cache/retool-data``) unless given;
`NullCache` turns caching off (``--no-cache``).

The cache never fails on text: a string that is not valid Unicode (a lone surrogate, in a reply or a prompt) is
stored as its ``surrogatepass`` bytes and read back as the same string.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from retool_data.llm.types import ChatRequest, ChatResponse

CACHE_FILE = "llm_cache.sqlite"
KEY_VERSION = "1"  # bump when the fingerprint recipe changes


def default_cache_dir() -> Path:
    env = os.environ.get("RETOOL_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "retool-data"


def fingerprint(model: str, request: ChatRequest) -> str:
    """sha256 over the canonical JSON of everything that determines a reply.

    The endpoint URL is deliberately not part of it: the same model behind another URL (a mirror, a new
    cluster) reuses the replies already paid for.
    """
    payload = {
        "v": KEY_VERSION,
        "model": model,
        "messages": [dict(m) for m in request.messages],
        "params": request.params,
        "template": request.template,
        "attempt": request.attempt,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    # surrogatepass: the same bytes as utf-8 for valid text (keys unchanged), and no crash on a lone surrogate
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def _storable(text: str | None) -> str | bytes | None:
    """Text as SQLite can store it: a string that is not valid Unicode (a lone surrogate) goes in as its
    surrogatepass bytes (a BLOB in the same column), so the cache never fails on a reply's text."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _loaded(value: str | bytes | None) -> str | None:
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


class ResponseStore(Protocol):
    def get(self, key: str) -> ChatResponse | None: ...

    def put(self, key: str, model: str, request: ChatRequest, response: ChatResponse) -> None: ...

    def close(self) -> None: ...


class NullCache:
    """No caching: every request is sent (``--no-cache``)."""

    def get(self, key: str) -> ChatResponse | None:
        return None

    def put(self, key: str, model: str, request: ChatRequest, response: ChatResponse) -> None:
        return None

    def close(self) -> None:
        return None


class ResponseCache:
    """SQLite-backed cache; safe to share between threads of one process and between processes."""

    def __init__(self, path: str | Path | None = None) -> None:
        path = Path(path) if path is not None else default_cache_dir()
        if path.suffix != ".sqlite":  # a directory
            path = path / CACHE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=60.0, check_same_thread=False, isolation_level=None)
        # WAL + synchronous=NORMAL: a committed row survives the process being killed (not a power cut),
        # at a fraction of the cost of an fsync per response.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            """CREATE TABLE IF NOT EXISTS responses (
                key TEXT PRIMARY KEY, model TEXT NOT NULL, template TEXT NOT NULL, text TEXT NOT NULL,
                prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, finish_reason TEXT,
                request TEXT NOT NULL, created_at REAL NOT NULL)"""
        )

    def get(self, key: str) -> ChatResponse | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, prompt_tokens, completion_tokens, finish_reason FROM responses WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return ChatResponse(
            text=_loaded(row[0]),
            prompt_tokens=row[1],
            completion_tokens=row[2],
            finish_reason=_loaded(row[3]),
            cached=True,
        )

    def put(self, key: str, model: str, request: ChatRequest, response: ChatResponse) -> None:
        if not response.ok:
            return
        req: dict[str, Any] = {
            "messages": list(request.messages),
            "params": request.params,
            "attempt": request.attempt,
        }
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, model, template, text, prompt_tokens, completion_tokens,"
                " finish_reason, request, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    _storable(model),
                    _storable(request.template),
                    _storable(response.text),
                    int(response.prompt_tokens),
                    int(response.completion_tokens),
                    _storable(response.finish_reason),
                    _storable(json.dumps(req, ensure_ascii=False, default=str)),
                    time.time(),
                ),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_cache(cache_dir: str | Path | None = None, enabled: bool = True) -> ResponseStore:
    """The cache the CLI and pipelines use: `ResponseCache` at ``cache_dir`` (or the default), or `NullCache`."""
    return ResponseCache(cache_dir) if enabled else NullCache()
