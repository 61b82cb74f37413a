"""Open-Thoughts readers: OpenThoughts-114k (`metadata` config) and OpenThoughts3-1.2M, via `datasets`.

Upstream schemas (from the dataset cards):

- ``open-thoughts/OpenThoughts-114k``, config ``metadata``, split ``train``: ``problem``, ``deepseek_reasoning``,
  ``deepseek_solution``, ``ground_truth_solution``, ``domain`` (math, code, biology, chemistry, physics,
  puzzle), ``source``, ``test_cases``, ``starter_code`` (all strings; the last two only for code rows).
- ``open-thoughts/OpenThoughts3-1.2M``, config ``default``, split ``train``: ``difficulty`` (int),
  ``source``, ``domain`` (math, code, science), ``conversations`` (list of ``{from, value}``: a ``human`` turn
  with the problem, a ``gpt`` turn with ``<think>...</think>`` then the solution). It has no reference solution,
  and ~16 annotations per question, one row each: ingestion keeps every one as a response of the same problem
  (same ``problem_id``, ``response_index`` 0, 1, ... in source order; ``max_responses`` caps them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from retool_data.schema import StageResult
from retool_data.sources.records import DEFAULT_DOMAINS, Candidate, InvalidRow, map_rows, normalize_candidates

OPENTHOUGHTS_114K = "open-thoughts/OpenThoughts-114k"
OPENTHOUGHTS_114K_CONFIG = "metadata"
OPENTHOUGHTS3 = "open-thoughts/OpenThoughts3-1.2M"
# Only these columns are read (parquet projection): code rows carry test cases of up to megabytes.
_COLUMNS_114K = ["problem", "deepseek_reasoning", "deepseek_solution", "ground_truth_solution", "domain", "source"]
_COLUMNS_OT3 = ["difficulty", "source", "domain", "conversations"]

# The Open-Thoughts prompt prefixes math problems with this in the chat config; strip it so ids match.
_PROMPT_PREFIX = re.compile(r"^\s*Return your final response within \\boxed\{\}\.\s*")
# Section markers of the Open-Thoughts/Bespoke system prompt, and R1's think tags.
_MARKERS = re.compile(r"<\|(?:begin|end)_of_(?:thought|solution)\|>|</?think>")
_THINK = re.compile(r"<think>(.*?)(?:</think>|\Z)(.*)", re.DOTALL)


def _strip_markers(value: Any) -> Any:
    return _MARKERS.sub("", value) if isinstance(value, str) else value


def _problem(value: Any) -> Any:
    return _PROMPT_PREFIX.sub("", value) if isinstance(value, str) else value


def _require_mapping(row: Any) -> Mapping[str, Any]:
    if not isinstance(row, Mapping):
        raise InvalidRow(f"row is a {type(row).__name__}, not an object")
    return row


def openthoughts_fields(row: Any) -> dict[str, Any]:
    """Schema fields of one OpenThoughts-114k `metadata` row (the gold answer is extracted later)."""
    row = _require_mapping(row)
    return {
        "problem": _problem(row.get("problem")),
        "reasoning": _strip_markers(row.get("deepseek_reasoning")),
        "solution": _strip_markers(row.get("deepseek_solution")),
        "gold_solution": row.get("ground_truth_solution"),
        "gold_answer": None,
        "domain": row.get("domain"),
        "source": row.get("source"),
        "difficulty": None,
    }


def split_think(reply: str) -> tuple[str | None, str | None]:
    """(reasoning, solution) of an assistant reply ``<think>...</think> solution``.

    An unclosed ``<think>`` (a truncated generation) is all reasoning and no solution; a reply without
    ``<think>`` is all solution and no reasoning.
    """
    if "</think>" in reply and "<think>" not in reply:
        reasoning, _, solution = reply.partition("</think>")
        return reasoning, solution
    match = _THINK.search(reply)
    if match is None:
        return None, reply
    return match.group(1), match.group(2) or None


def openthoughts3_fields(row: Any) -> dict[str, Any]:
    """Schema fields of one OpenThoughts3-1.2M row: the first human turn and the first gpt turn."""
    row = _require_mapping(row)
    turns = row.get("conversations")
    if not isinstance(turns, list) or not all(isinstance(t, Mapping) for t in turns):
        raise InvalidRow("conversations: expected a list of {from, value} turns")
    problem = next((t.get("value") for t in turns if t.get("from") in ("human", "user")), None)
    reply = next((t.get("value") for t in turns if t.get("from") in ("gpt", "assistant")), None)
    reasoning, solution = split_think(reply) if isinstance(reply, str) else (reply, None)
    return {
        "problem": problem,
        "reasoning": reasoning,
        "solution": solution,
        "gold_solution": None,
        "gold_answer": None,
        "domain": row.get("domain"),
        "source": row.get("source"),
        "difficulty": row.get("difficulty"),
    }


def load_hub_rows(
    path: str,
    name: str | None,
    split: str,
    *,
    streaming: bool,
    revision: str | None,
    data_files: Any = None,
    cache_dir: str | None = None,
    columns: list[str] | None = None,
) -> Iterable[Mapping[str, Any]]:
    """Rows of a `datasets` dataset (Hub id or local path), reading only `columns` where the format allows."""
    import datasets  # heavy: imported only when a Hub source is read

    kwargs: dict[str, Any] = {"split": split, "streaming": streaming, "revision": revision, "cache_dir": cache_dir}
    if data_files is not None:
        kwargs["data_files"] = data_files
    try:
        return datasets.load_dataset(path, name, columns=columns, **kwargs)
    except TypeError as exc:  # a json/csv builder has no `columns` option: read everything
        if "columns" not in str(exc):
            raise
        return datasets.load_dataset(path, name, **kwargs)


def hub_candidates(
    source: str,
    split: str = "train",
    *,
    streaming: bool = True,
    revision: str | None = None,
    path: str | None = None,
    name: str | None = None,
    data_files: Any = None,
    cache_dir: str | None = None,
) -> tuple[Iterable[Candidate], dict[str, Any]]:
    """The unnormalized candidates of ``source`` (``openthoughts`` or ``openthoughts3``), read lazily, and the
    reader's lineage stats; without ``path``, the source's Hub id (and for ``openthoughts`` its config)."""
    if source == "openthoughts":
        if path is None:  # the Hub's dataset, and its config unless one is named
            path, name = OPENTHOUGHTS_114K, name or OPENTHOUGHTS_114K_CONFIG
        mapper, columns = openthoughts_fields, _COLUMNS_114K
    elif source == "openthoughts3":
        path, mapper, columns = path or OPENTHOUGHTS3, openthoughts3_fields, _COLUMNS_OT3
    else:
        raise ValueError(f"not a Hub source: {source!r} (expected openthoughts or openthoughts3)")
    rows = load_hub_rows(path, name, split, columns=columns, streaming=streaming, revision=revision,
                         data_files=data_files, cache_dir=cache_dir)  # fmt: skip
    stats = {"reader": source, "dataset": path, "config": name, "split": split,
             "revision": revision, "streaming": streaming}  # fmt: skip
    return map_rows(rows, mapper, dataset=path, id_prefix=f"{split}/"), stats


def _read(source: str, split: str, **opts: Any) -> StageResult:
    limit, domains, max_responses = opts.pop("limit"), opts.pop("domains"), opts.pop("max_responses")
    candidates, stats = hub_candidates(source, split, **opts)
    return normalize_candidates(candidates, domains=domains, limit=limit, max_responses=max_responses, stats=stats)


def read_openthoughts(
    split: str = "train",
    *,
    limit: int | None = None,
    streaming: bool = True,
    revision: str | None = None,
    domains: Iterable[str] | None = DEFAULT_DOMAINS,
    path: str = OPENTHOUGHTS_114K,
    name: str | None = OPENTHOUGHTS_114K_CONFIG,
    data_files: Any = None,
    cache_dir: str | None = None,
    max_responses: int | None = None,
) -> StageResult:
    """OpenThoughts-114k `metadata` rows as PROBLEM_SCHEMA, math only by default.

    `path`/`name`/`data_files` point the same code at a mirror or a local copy in the Hub's layout;
    `revision` (a commit sha or tag) pins the upstream version and is recorded in `stats` for lineage;
    `max_responses` caps the responses kept per problem (None: all).
    """
    return _read("openthoughts", split, path=path, name=name, limit=limit,
                 domains=domains, streaming=streaming, revision=revision, data_files=data_files,
                 cache_dir=cache_dir, max_responses=max_responses)


def read_openthoughts3(
    split: str = "train",
    *,
    limit: int | None = None,
    streaming: bool = True,
    revision: str | None = None,
    domains: Iterable[str] | None = DEFAULT_DOMAINS,
    path: str = OPENTHOUGHTS3,
    name: str | None = None,
    data_files: Any = None,
    cache_dir: str | None = None,
    max_responses: int | None = None,
) -> StageResult:
    """OpenThoughts3-1.2M rows as PROBLEM_SCHEMA, math only by default (options as `read_openthoughts`)."""
    return _read("openthoughts3", split, path=path, name=name, limit=limit,
                 domains=domains, streaming=streaming, revision=revision, data_files=data_files,
                 cache_dir=cache_dir, max_responses=max_responses)
