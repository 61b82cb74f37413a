"""Property-based fuzzing of what the supervisor parses from untrusted runs: frames, captured bytes, text.

The supervisor is a root process reading bytes a hostile snippet wrote: whatever those bytes are, parsing must
end in a dict or a `FrameError` (never RecursionError, MemoryError, UnicodeError...), and every text it passes
on must be valid UTF-8.
"""

from __future__ import annotations

import json
import socket
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.procs import Capture
from sandbox.protocol import HEADER, MAX_CONTAINERS, Channel, FrameError, decode, encode, parse_report, scrub

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)
# Text with lone surrogates and JSON's own structural characters inside strings.
NASTY_TEXT = st.text(
    alphabet=st.characters(codec=None, categories=None) | st.sampled_from('[]{}"\\\ud800\udfff')
)


def containers(value: object) -> int:
    if isinstance(value, dict):
        return 1 + sum(containers(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(containers(v) for v in value)
    return 0


@given(st.binary(max_size=4096))
@settings(max_examples=400)
def test_arbitrary_bytes_give_a_dict_or_a_frame_error(body: bytes) -> None:
    try:
        assert isinstance(decode(body), dict)
    except FrameError:
        pass


@given(st.integers(min_value=1, max_value=200_000), st.sampled_from([b"[", b'{"a":', b'{"a":[']))
@settings(max_examples=60)
def test_deep_nesting_is_refused_before_parsing(depth: int, opener: bytes) -> None:
    closer = {b"[": b"]", b'{"a":': b"}", b'{"a":[': b"]}"}[opener]
    body = opener * depth + b"1" + closer * depth
    per_level = opener.count(b"{") + opener.count(b"[")
    if opener.startswith(b"{") and per_level * depth <= MAX_CONTAINERS:
        assert decode(body) == json.loads(body)
    else:  # an array is never a frame; past the bound nothing is parsed at all
        try:
            decode(body)
            raise AssertionError("parsed")
        except FrameError:
            pass


@given(JSON_VALUES)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_the_container_bound_is_exact_and_strings_do_not_count(value: object) -> None:
    frame = {"payload": value, "text": '[[[{{{ " \\ ]]]'}
    body = encode(frame)[HEADER.size :]
    if containers(frame) <= MAX_CONTAINERS:
        assert decode(body) == json.loads(body.decode("utf-8", "surrogatepass"))
    else:
        try:
            decode(body)
            raise AssertionError("a frame over the container bound was parsed")
        except FrameError:
            pass


@given(
    st.lists(
        st.dictionaries(st.sampled_from(["status", "error", "expr"]), NASTY_TEXT, max_size=3),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=20),
)
@settings(max_examples=150)
def test_a_channel_reassembles_frames_split_anywhere(frames: list[dict], cuts: list[int]) -> None:
    stream = b"".join(encode(f) for f in frames)
    ours, theirs = socket.socketpair()
    try:
        ch = Channel(ours, max_frame=1 << 20)
        got, pos, i = [], 0, 0
        while pos < len(stream):
            n = cuts[i % len(cuts)]
            theirs.sendall(stream[pos : pos + n])
            pos += n
            i += 1
            got += ch.read()
        assert got == frames
    finally:
        ours.close()
        theirs.close()


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=1 << 31))
def test_a_header_is_refused_when_oversized_and_waits_for_its_body(tail: bytes, n: int) -> None:
    ours, theirs = socket.socketpair()
    try:
        ch = Channel(ours, max_frame=1 << 16)
        theirs.sendall(struct.pack(">I", n) + tail)
        try:
            frames = ch.read()
        except FrameError:
            assert n > 1 << 16 or n <= len(tail)  # oversized, or a complete body that is not a frame
            return
        assert n <= 1 << 16 and (frames == [] if n > len(tail) else len(frames) >= 1)
    finally:
        ours.close()
        theirs.close()


@given(st.lists(st.binary(max_size=300), max_size=30), st.integers(min_value=1024, max_value=4096))
@settings(max_examples=300)
def test_captured_bytes_always_become_valid_text(chunks: list[bytes], limit: int) -> None:
    cap = Capture(limit)
    for chunk in chunks:
        cap.add(chunk)
    fields = cap.fields("stdout")
    for value in fields.values():
        if isinstance(value, str):
            value.encode("utf-8")  # strict
    data = b"".join(chunks)
    if "stdout_omitted" not in fields:
        assert fields["stdout_head"] == data.decode("utf-8", "backslashreplace")
    else:
        assert len(fields["stdout_head"].encode()) <= limit  # escapes only lengthen text that was kept
        assert fields["stdout_omitted"] >= len(data) - limit


@given(NASTY_TEXT)
def test_scrub_gives_valid_utf8_and_leaves_valid_text_alone(text: str) -> None:
    out = scrub(text)
    out.encode("utf-8")
    try:
        text.encode("utf-8")
        assert out == text
    except UnicodeEncodeError:
        assert "\\ud" in out


@given(
    st.dictionaries(st.sampled_from(["status", "error", "expr", "files", "other"]), JSON_VALUES | NASTY_TEXT)
)
@settings(max_examples=400)
def test_a_report_is_either_well_formed_clean_text_or_a_frame_error(frame: dict) -> None:
    try:
        status, error, expr, files = parse_report(frame)
    except FrameError:
        return
    assert status in ("ok", "error", "memory")
    for text in [error or "", expr or "", *(files or {})]:
        text.encode("utf-8")  # strict: lone surrogates were escaped
