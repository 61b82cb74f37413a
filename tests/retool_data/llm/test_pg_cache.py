"""The shared response cache in PostgreSQL (live server): selected by configuration, the SQLite cache's
guarantees (text round-trips, errors never stored), and two processes writing one cache at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from retool_data.llm import ChatRequest, ChatResponse, fingerprint, open_cache
from retool_data.llm.cache import ResponseCache
from retool_data.llm.pg_cache import PostgresResponseCache
from tests.conftest import REPO_ROOT
from tests.services import postgres_database

pytestmark = pytest.mark.services


@pytest.fixture
def cache_url():
    with postgres_database("cache") as url:
        yield url


def _request(i: int) -> ChatRequest:
    return ChatRequest.user(f"problem {i}", template="t@1")


def test_a_postgres_url_selects_the_shared_cache(cache_url, tmp_path, monkeypatch):
    monkeypatch.setenv("RETOOL_CACHE_URL", cache_url)
    with open_cache() as cache:  # from the environment
        assert isinstance(cache, PostgresResponseCache)
    with open_cache(cache_url) as cache:  # given explicitly
        assert isinstance(cache, PostgresResponseCache)
    with open_cache(tmp_path) as cache:  # a folder given explicitly wins over the environment
        assert isinstance(cache, ResponseCache)
    with pytest.raises(ValueError, match="postgresql://"):
        open_cache("redis://127.0.0.1:6379/0")


def test_replies_round_trip_and_errors_are_never_stored(cache_url):
    odd = "x\x00y \ud800 z"  # a NUL and a lone surrogate: Postgres TEXT refuses both
    with PostgresResponseCache(cache_url) as cache:
        key = fingerprint("m", _request(1))
        cache.put(key, "m", _request(1), ChatResponse(text=odd, prompt_tokens=3, completion_tokens=4))
        cache.put("failed", "m", _request(2), ChatResponse(text=None, error="http_500: boom"))
        assert cache.get("failed") is None and len(cache) == 1
    with PostgresResponseCache(cache_url) as again:  # another connection (another worker) sees it
        hit = again.get(key)
        assert hit is not None and hit.cached
        assert (hit.text, hit.prompt_tokens, hit.completion_tokens) == (odd, 3, 4)
        # the first stored reply for a key wins: what one worker served, every other worker serves too
        again.put(key, "m", _request(1), ChatResponse(text="later", prompt_tokens=1, completion_tokens=1))
        assert again.get(key).text == odd


WRITER = textwrap.dedent(
    """
    import json, sys, time
    from retool_data.llm import ChatRequest, ChatResponse, fingerprint
    from retool_data.llm.pg_cache import PostgresResponseCache

    url, name, start, n = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    cache = PostgresResponseCache(url)  # both create the table at once: the advisory lock orders them
    time.sleep(max(0.0, start - time.time()))
    seen = {}
    for i in range(n):  # even i: a request both processes make; odd i: this process's own
        req = ChatRequest.user(f"problem {i}" if i % 2 == 0 else f"problem {i} of {name}", template="t@1")
        key = fingerprint("m", req)
        if cache.get(key) is None:
            cache.put(key, "m", req, ChatResponse(text=f"{name}:{i}", prompt_tokens=1, completion_tokens=1))
        seen[key] = cache.get(key).text
    print(json.dumps(seen))
    """
)


def test_two_processes_write_one_cache_concurrently(cache_url):
    import time

    n, start = 300, time.time() + 4.0  # both begin writing at the same moment, after their imports
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, cache_url, name, str(start), str(n)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(json.loads(out))
    a, b = outputs
    shared = set(a) & set(b)
    assert len(shared) == n // 2 and len(set(a) | set(b)) == n + n // 2
    with PostgresResponseCache(cache_url) as cache:
        assert len(cache) == n + n // 2  # nothing lost, nothing stored twice
        for key in set(a) | set(b):
            stored = cache.get(key).text
            # every reader saw the reply that is stored, whichever process wrote it first
            assert stored == a.get(key, stored) == b.get(key, stored)
