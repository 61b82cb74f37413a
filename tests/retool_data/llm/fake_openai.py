"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for tests and the throughput benchmark.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) for the real `openai` client, and its
behaviour per request is scripted by a `responder(body, seen)` function returning a `Reply`: a chat reply, an
HTTP status with headers (429 + Retry-After, 500), a hang past the client's timeout, a dropped connection, or a
malformed JSON body. Every request is logged with its prompt and whether its reply was fully sent.

``POST /v1/completions`` (text prompts) answers like llama.cpp's server: the reply text is cut before the first of
the request's ``stop`` strings, which is left out, with ``finish_reason`` "stop" (also what an EOS gives) or the
Reply's own ``finish_reason`` (e.g. "length").

Run standalone (the benchmark does, so the server has its own GIL)::

    python -m tests.retool_data.llm.fake_openai --latency 0.1   # prints "PORT <n>" then serves
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    kind: str = "ok"  # ok | status | hang | drop | malformed
    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (on top of the server's fixed latency)
    finish_reason: str = "stop"  # /v1/completions: "stop" (EOS) or "length"; a matched stop string is "stop"
    # wait for this event before answering (set by the test from outside), at most HOLD_TIMEOUT_S; the Record
    # says whether the event released it
    hold: threading.Event | None = None
    # kind "ok" only: replace parts of the generated chat completion (e.g. {"usage": {"prompt_tokens": "lots"}},
    # {"choices": []}); a key set to None is removed. What a misbehaving server sends, for the red-team tests.
    overrides: dict[str, Any] | None = None


@dataclass
class Record:
    key: str  # sha256 of the request's messages + sampling params: the same request twice has the same key
    prompt: str
    kind: str
    completed: bool = False  # the full 200 reply was written to the socket
    released: bool | None = None  # Reply.hold: True once its event was set, False if the wait gave up
    t: float = field(default_factory=time.monotonic)


Responder = Callable[[dict[str, Any], int], Reply]
HOLD_TIMEOUT_S = 30.0  # a held reply gives up waiting after this long (a test that needs it to is failing)


def request_key(body: dict[str, Any]) -> str:
    blob = json.dumps({k: v for k, v in body.items() if k != "stream"}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def prompt_of(body: dict[str, Any]) -> str:
    if "prompt" in body:  # /v1/completions
        prompt = body["prompt"]
        return "\n".join(map(str, prompt)) if isinstance(prompt, list) else str(prompt)
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def echo_responder(body: dict[str, Any], seen: int) -> Reply:
    return Reply(text=f"reply to {request_key(body)[:12]}")


def chat_completion(model: str, text: str, prompt: str) -> dict[str, Any]:
    p, c = len(prompt.split()), len(text.split())
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    }


def text_completion(model: str, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    """A ``/v1/completions`` response as llama.cpp's server writes it (stop string cut and left out)."""
    stops = body.get("stop") or []
    stops = [stops] if isinstance(stops, str) else list(stops)
    text, finish = reply.text, reply.finish_reason
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    if hits:
        text, finish = text[: min(hits)], "stop"
    p, c = len(prompt_of(body).split()), len(text.split())
    return {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    }


class FakeOpenAIServer:
    """Start with `start()` (a thread with its own event loop) or as a context manager."""

    def __init__(self, responder: Responder = echo_responder, latency: float = 0.0, port: int = 0) -> None:
        self.responder = responder
        self.latency = latency
        self.port = port
        self.log: list[Record] = []
        self.paused = False  # while set, new requests wait before being answered (nothing completes)
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def completed(self) -> list[Record]:
        with self._lock:
            return [r for r in self.log if r.completed]

    def records(self) -> list[Record]:
        with self._lock:
            return list(self.log)

    # ------------------------------------------------------------------------------------------ serving
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
                }
                body_bytes = await reader.readexactly(int(headers.get("content-length", "0")))
                if method == "GET" and path.endswith("/models"):
                    await self._write(
                        writer, 200, {}, json.dumps({"object": "list", "data": [{"id": "fake"}]})
                    )
                    continue
                if not (method == "POST" and path.endswith("/completions")):
                    await self._write(writer, 404, {}, json.dumps({"error": {"message": f"no route {path}"}}))
                    continue
                if not await self._complete(json.loads(body_bytes), writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _complete(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        key = request_key(body)
        with self._lock:
            seen = self._seen.get(key, 0)
            self._seen[key] = seen + 1
        reply = self.responder(body, seen)
        record = Record(key=key, prompt=prompt_of(body), kind=reply.kind)
        with self._lock:
            self.log.append(record)
        while self.paused:
            await asyncio.sleep(0.01)
        if reply.hold is not None:
            record.released = await asyncio.to_thread(reply.hold.wait, HOLD_TIMEOUT_S)
        if self.latency or reply.delay:
            await asyncio.sleep(self.latency + reply.delay)
        if reply.kind == "drop":
            writer.transport.abort()  # no status line at all: the client sees the connection die
            return False
        if reply.kind == "hang":
            await asyncio.sleep(3600)
            return False
        if reply.kind == "malformed":
            await self._write(writer, 200, {}, '{"id": "chatcmpl-x", "choices": [ {"index": 0, "mess')
            return True
        if reply.kind == "status":
            err = {"error": {"message": reply.text or f"scripted {reply.status}", "type": "scripted"}}
            await self._write(writer, reply.status, reply.headers, json.dumps(err))
            return True
        if "prompt" in body:
            payload = text_completion(body.get("model", "fake"), reply, body)
        else:
            payload = chat_completion(body.get("model", "fake"), reply.text, record.prompt)
        for key, value in (reply.overrides or {}).items():
            if value is None:
                payload.pop(key, None)
            else:
                payload[key] = value
        # ensure_ascii (json's default): a lone surrogate in the text goes out as a "\ud800" escape, as a
        # careless server writes it, and comes back to the client as a lone surrogate
        await self._write(writer, 200, reply.headers, json.dumps(payload))
        with self._lock:
            record.completed = True
        return True

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, status: int, headers: dict[str, str], body: str) -> None:
        data = body.encode()
        head = [f"HTTP/1.1 {status} X", "Content-Type: application/json", f"Content-Length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()

    # ------------------------------------------------------------------------------------------ lifecycle
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake-openai")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    args = ap.parse_args()
    server = FakeOpenAIServer(latency=args.latency, port=args.port).start()
    print(f"PORT {server.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
