"""Turn mapped upstream rows into `PROBLEM_SCHEMA` rows, quarantining the ones we cannot use.

Every reader maps its upstream rows to `Candidate`s (the schema fields, or why the row could not be mapped) and
hands them to `normalize_candidates`, which applies the same rules to every source, each one early return with a
stable reason:

- ``invalid_row``: not an object, or a field of the wrong type (``problem`` is a number, ``reasoning`` a list);
- ``non_math_domain``: ``domain`` outside the selected domains (math by default; ``domains=None`` keeps all);
- ``empty_problem``: no problem text;
- ``missing_reasoning``: no teacher reasoning (null or blank);
- ``duplicate_problem``: the same `problem_id` as a row kept earlier in this read (first one wins).

``rows_in == kept + rejected`` always holds. ``limit`` counts *kept* rows and stops reading as soon as it is met,
so a streaming read of a large dataset only pulls what it needs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from retool_data.answers import extract_answer
from retool_data.schema import PROBLEM_SCHEMA, StageResult, empty_frame, make_rejects, problem_id

STAGE = "ingest"
REJECT_REASONS = ("invalid_row", "non_math_domain", "empty_problem", "missing_reasoning", "duplicate_problem")
DEFAULT_DOMAINS = ("math",)

_TEXT_FIELDS = tuple(name for name, dtype in PROBLEM_SCHEMA.items() if dtype == pl.String() and name != "id")
_NUMBER_AS_TEXT = ("source_id", "gold_answer")  # "answer": 42 is common in local files
# A row outside the selected domains keeps only what identifies it: a math-only read of OpenThoughts-114k would
# otherwise copy ~25k code/science traces (gigabytes) into the quarantine. (dataset, source_id) finds the rest.
_IDENTITY_FIELDS = ("id", "dataset", "source", "source_id", "problem", "domain")


class InvalidRow(ValueError):
    """Raised by a row mapper when an upstream row cannot be mapped; the message is the quarantine detail."""


@dataclass
class Candidate:
    """One upstream row mapped to schema fields (without ``id``), or the reason it could not be mapped."""

    fields: dict[str, Any] = field(default_factory=dict)
    invalid: str | None = None


def map_rows(
    rows: Iterable[Any], mapper: Callable[[Any], dict[str, Any]], *, dataset: str, id_prefix: str = ""
) -> Iterator[Candidate]:
    """Apply `mapper` (row -> fields dict, may raise InvalidRow) to rows, numbering them for ``source_id``.

    ``dataset`` and the running number are defaults: a row that carries its own ``dataset``/``source_id``
    (a file written by ``retool-data ingest --output``) keeps them, so lineage survives a round trip.
    """
    for index, row in enumerate(rows):
        base = {"dataset": dataset, "source_id": f"{id_prefix}{index}"}
        try:
            mapped = mapper(row)
        except InvalidRow as exc:
            yield Candidate(base, invalid=str(exc))
            continue
        for key in ("dataset", "source_id"):  # a row that carries its own lineage keeps it
            if mapped.get(key) is None:
                mapped.pop(key, None)
        yield Candidate({**base, **mapped})


def _type_error(fields: dict[str, Any]) -> str | None:
    """Coerce what is safe to coerce, in place; return a detail when a field has the wrong type."""
    for name in _TEXT_FIELDS:
        value = fields.get(name)
        if value is None or isinstance(value, str):
            continue
        if name in _NUMBER_AS_TEXT and isinstance(value, int | float) and not isinstance(value, bool):
            fields[name] = str(value)
            continue
        return f"{name}: expected a string, got {type(value).__name__}"
    difficulty = fields.get("difficulty")
    if isinstance(difficulty, bool) or not (difficulty is None or isinstance(difficulty, int | float | str)):
        return f"difficulty: expected a number, got {type(difficulty).__name__}"
    if isinstance(difficulty, str):
        try:
            fields["difficulty"] = float(difficulty) if difficulty.strip() else None
        except ValueError:
            return f"difficulty: not a number: {difficulty[:40]!r}"
    elif difficulty is not None:
        fields["difficulty"] = None if math.isnan(float(difficulty)) else float(difficulty)
    return None


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    row = {name: fields.get(name) for name in PROBLEM_SCHEMA}
    for name in _TEXT_FIELDS:
        if isinstance(row[name], str):
            row[name] = row[name].strip() or None
    if row["domain"] is not None:
        row["domain"] = row["domain"].lower()
    if row["gold_answer"] is None and row["gold_solution"]:
        row["gold_answer"] = extract_answer(row["gold_solution"])
    row["id"] = problem_id(row["problem"]) if row["problem"] else None
    return row


def _quarantine_copy(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The row as it will sit in the quarantine: schema-typed, wrong-typed values kept as JSON text."""
    row: dict[str, Any] = {}
    for name, dtype in PROBLEM_SCHEMA.items():
        value = fields.get(name)
        if dtype == pl.String() and value is not None and not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, default=str)
        elif dtype == pl.Float64() and not (isinstance(value, int | float) and not isinstance(value, bool)):
            value = None
        row[name] = value
    if isinstance(row["problem"], str) and row["problem"].strip() and isinstance(fields.get("problem"), str):
        row["id"] = problem_id(row["problem"])
    return row


def normalize_candidates(
    candidates: Iterable[Candidate],
    *,
    domains: Iterable[str] | None = DEFAULT_DOMAINS,
    limit: int | None = None,
    stats: Mapping[str, Any] | None = None,
) -> StageResult:
    """Kept rows (PROBLEM_SCHEMA) and quarantined rows (REJECT_SCHEMA) from mapped candidates."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    wanted = None if domains is None else {d.strip().lower() for d in domains}
    kept: list[dict[str, Any]] = []
    rejected: list[tuple[dict[str, Any], str, str]] = []
    first_seen: dict[str, str] = {}  # problem id -> source_id of the kept row
    for cand in candidates if limit != 0 else ():
        if cand.invalid is not None:
            rejected.append((_quarantine_copy(cand.fields), "invalid_row", cand.invalid))
            continue
        fields = dict(cand.fields)
        type_error = _type_error(fields)
        if type_error is not None:
            rejected.append((_quarantine_copy(cand.fields), "invalid_row", type_error))
            continue
        row = _clean(fields)
        if wanted is not None and row["domain"] not in wanted:
            slim = {k: (row[k] if k in _IDENTITY_FIELDS else None) for k in PROBLEM_SCHEMA}
            rejected.append((slim, "non_math_domain", f"domain={row['domain']!r}"))
        elif row["problem"] is None:
            rejected.append((row, "empty_problem", "problem is empty"))
        elif row["reasoning"] is None:
            rejected.append((row, "missing_reasoning", "reasoning is null or blank"))
        elif row["id"] in first_seen:
            rejected.append((row, "duplicate_problem", f"same problem as source_id={first_seen[row['id']]}"))
        else:
            first_seen[row["id"]] = row["source_id"]
            kept.append(row)
            if limit is not None and len(kept) >= limit:
                break
    kept_df = pl.DataFrame(kept, schema=PROBLEM_SCHEMA) if kept else empty_frame(PROBLEM_SCHEMA)
    if rejected:
        rows = pl.DataFrame([r for r, _, _ in rejected], schema=PROBLEM_SCHEMA)
        rejects = make_rejects(rows, STAGE, [r for _, r, _ in rejected], [d for _, _, d in rejected])
        result = StageResult(kept_df, rejects)
    else:
        result = StageResult(kept_df)
    rows_in = len(kept) + len(rejected)
    result.stats = {
        **(stats or {}),
        "domains": None if wanted is None else sorted(wanted),
        "limit": limit,
        "rows_in": rows_in,
        "kept": len(kept),
        "rejected": len(rejected),
        "reject_counts": result.reject_counts(),
    }
    result.check_invariant(rows_in)
    return result
