"""The response cache in PostgreSQL: one cache (and so one resume log) for every worker on every host.

The SQLite cache (`retool_data.llm.cache.ResponseCache`) lives on one machine's disk; Celery workers or
Kubernetes run pods on other hosts would each keep their own, and a shard retried on another host would pay
again for every reply the first host had received. This backend keeps the same contract in a database they all
reach (``RETOOL_CACHE_URL=postgresql://user@host:5432/db``, docs/configuration.md):

- every completed reply is committed (autocommit, Postgres's default ``synchronous_commit``) before the caller
  sees it, so a worker killed with SIGKILL loses only what never completed;
- errors are never stored, a re-run retries them;
- the first reply stored for a key wins (``ON CONFLICT DO NOTHING``): two workers that raced on one request
  both paid, and every later reader sees the same reply;
- text is stored as its ``surrogatepass`` UTF-8 bytes (``BYTEA``): a lone surrogate or a NUL character, which
  Postgres ``TEXT`` refuses, round-trips unchanged, as in the SQLite cache.

A dropped connection (a Postgres restart, an idle timeout) is re-opened once per call.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from retool_data.llm.types import ChatRequest, ChatResponse

TABLE = "retool_llm_responses"
URL_SCHEMES = ("postgresql://", "postgres://")
_CREATE_LOCK = 0x7E700C  # advisory lock id: two workers creating the table at once must not race

_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    key TEXT PRIMARY KEY, model BYTEA NOT NULL, template BYTEA NOT NULL, text BYTEA NOT NULL,
    prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, finish_reason BYTEA,
    request BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL)"""


def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def _blob(text: str | None) -> bytes | None:
    return None if text is None else text.encode("utf-8", "surrogatepass")


def _text(value: Any) -> str | None:
    return None if value is None else bytes(value).decode("utf-8", "surrogatepass")


class PostgresResponseCache:
    """`ResponseStore` in a Postgres table; safe to share between threads, processes and hosts."""

    def __init__(self, url: str) -> None:
        if not is_postgres_url(url):
            raise ValueError(f"not a PostgreSQL URL (postgresql://user@host:port/db): {url!r}")
        self.url = url
        self._lock = threading.Lock()
        self._conn: Any = None
        with self._lock:
            self._call(self._create_table)

    def _connect(self) -> Any:
        import psycopg2

        conn = psycopg2.connect(self.url, connect_timeout=10, application_name="retool-data llm cache")
        conn.autocommit = True  # each put is its own committed transaction: durable before the reply is used
        return conn

    def _call(self, fn: Any, *args: Any) -> Any:
        """``fn(cursor, *args)`` on the connection, re-connecting once if the server dropped it."""
        import psycopg2

        for attempt in (1, 2):
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            try:
                with self._conn.cursor() as cur:
                    return fn(cur, *args)
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self._conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _create_table(cur: Any) -> None:
        cur.execute("BEGIN")  # one transaction holds the advisory lock until the table exists
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
        cur.execute(_SCHEMA)
        cur.execute("COMMIT")

    def get(self, key: str) -> ChatResponse | None:
        def select(cur: Any) -> Any:
            cur.execute(
                f"SELECT text, prompt_tokens, completion_tokens, finish_reason FROM {TABLE} WHERE key = %s",
                (key,),
            )
            return cur.fetchone()

        with self._lock:
            row = self._call(select)
        if row is None:
            return None
        return ChatResponse(
            text=_text(row[0]),
            prompt_tokens=int(row[1]),
            completion_tokens=int(row[2]),
            finish_reason=_text(row[3]),
            cached=True,
        )

    def put(self, key: str, model: str, request: ChatRequest, response: ChatResponse) -> None:
        if not response.ok:
            return
        req = {"messages": list(request.messages), "params": request.params, "attempt": request.attempt}
        values = (
            key,
            _blob(model),
            _blob(request.template),
            _blob(response.text),
            int(response.prompt_tokens),
            int(response.completion_tokens),
            _blob(response.finish_reason),
            _blob(json.dumps(req, ensure_ascii=False, default=str)),
            time.time(),
        )

        def insert(cur: Any) -> None:
            cur.execute(
                f"INSERT INTO {TABLE} (key, model, template, text, prompt_tokens, completion_tokens,"
                " finish_reason, request, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (key) DO NOTHING",
                values,
            )

        with self._lock:
            self._call(insert)

    def __len__(self) -> int:
        def count(cur: Any) -> int:
            cur.execute(f"SELECT COUNT(*) FROM {TABLE}")
            return int(cur.fetchone()[0])

        with self._lock:
            return self._call(count)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and not self._conn.closed:
                self._conn.close()
            self._conn = None

    def __enter__(self) -> PostgresResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
