"""Turn mapped upstream rows into `PROBLEM_SCHEMA` rows, quarantining the ones we cannot use.

Every reader maps its upstream rows to `Candidate`s (the schema fields, or why the row or file could not be
read) and hands them to `normalize_candidates`, which applies the same rules to every source, each one early
return with a stable reason (docs/sources.md lists them):

- ``unreadable_file``: a file (or a parquet row group) that cannot be read at all; the other files still are;
- ``invalid_row``: not an object, not UTF-8, not JSON (nested too deep, an integer over Python's 4,300-digit
  limit), a lone surrogate in a text field, or a field of the wrong type (``problem`` a number);
- ``unrecognised_columns``: an object none of whose keys is a column we know;
- ``non_math_domain``: ``domain`` outside the selected domains (math by default; ``domains=None`` keeps all);
- ``empty_problem``: no problem text;
- ``missing_reasoning``: no teacher reasoning (null or blank);
- ``duplicate_response``: the same problem *and* the same teacher response as a row kept earlier;
- ``excess_response``: the problem already has ``max_responses`` responses (only when that is set).

Several responses to one problem (OpenThoughts3 has ~16 per question) are all kept: they share ``problem_id``
and are numbered by ``response_index`` in source order; the row key is ``id = row_id(problem_id, index)``.

``rows_in`` counts the candidates drawn from the reader (one per input row, or per unreadable file), never the
outputs, so a reader bug that loses rows fails the invariant ``rows_in == kept + rejected``. ``limit`` counts
*kept* rows and stops reading as soon as it is met. `RowNormalizer` holds the per-read state (which problems
and responses were seen) and takes one candidate at a time, so a streaming caller can flush kept rows in batches.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from retool_data.answers import extract_answer
from retool_data.schema import PROBLEM_SCHEMA, StageResult, empty_frame, make_rejects, problem_id, row_id
from retool_data.textnorm import escape_surrogates, lone_surrogate

STAGE = "ingest"
REJECT_REASONS = (
    "unreadable_file",
    "invalid_row",
    "unrecognised_columns",
    "non_math_domain",
    "empty_problem",
    "missing_reasoning",
    "duplicate_response",
    "excess_response",
)
DEFAULT_DOMAINS = ("math",)

_DERIVED = ("id", "problem_id", "response_index")  # always computed here, never read from a source row
_TEXT_FIELDS = tuple(n for n, t in PROBLEM_SCHEMA.items() if t == pl.String() and n not in _DERIVED)
_NUMBER_AS_TEXT = ("source_id", "gold_answer")  # "answer": 42 is common in local files
# A row outside the selected domains keeps only what identifies it: a math-only read of OpenThoughts-114k would
# otherwise copy ~25k code/science traces (gigabytes) into the quarantine. (dataset, source_id) finds the rest.
_IDENTITY_FIELDS = ("id", "problem_id", "dataset", "source", "source_id", "problem", "domain")


class InvalidRow(ValueError):
    """Raised by a row mapper when an upstream row cannot be mapped; the message is the quarantine detail."""

    reason = "invalid_row"


class UnrecognisedRow(InvalidRow):
    """An object with none of the columns a reader knows (a file in some other schema)."""

    reason = "unrecognised_columns"


@dataclass
class Candidate:
    """One upstream row mapped to schema fields (without ``id``), or why it could not be (``invalid``/``reason``)."""

    fields: dict[str, Any] = field(default_factory=dict)
    invalid: str | None = None
    reason: str = "invalid_row"


safe_text = escape_surrogates  # what the readers call it: text any column accepts


def map_rows(
    rows: Iterable[Any], mapper: Callable[[Any], dict[str, Any]], *, dataset: str, id_prefix: str = ""
) -> Iterator[Candidate]:
    """Apply `mapper` (row -> fields dict, may raise InvalidRow) to rows, numbering them for ``source_id``.

    ``dataset`` and the running number are defaults: a row that carries its own ``dataset``/``source_id``
    (a file written by ``retool-data ingest --output``) keeps them, so lineage survives a round trip.
    A row that is already a `Candidate` (a reader's verdict on a line it could not parse) passes through.
    """
    for index, row in enumerate(rows):
        base = {"dataset": dataset, "source_id": f"{id_prefix}{index}"}
        if isinstance(row, Candidate):
            yield Candidate({**base, **row.fields}, row.invalid, row.reason)
            continue
        try:
            mapped = mapper(row)
        except RecursionError:
            yield Candidate(base, invalid="value nested too deep to map")
            continue
        except InvalidRow as exc:
            yield Candidate(base, invalid=str(exc), reason=exc.reason)
            continue
        for key in ("dataset", "source_id"):  # a row that carries its own lineage keeps it
            if mapped.get(key) is None:
                mapped.pop(key, None)
        yield Candidate({**base, **mapped})


def _type_error(fields: dict[str, Any]) -> str | None:
    """Coerce what is safe to coerce, in place; return a detail when a field has the wrong type or bad text."""
    for name in _TEXT_FIELDS:
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            at = lone_surrogate(value)
            if at is not None:
                return f"{name}: lone surrogate {safe_text(value[at])} at offset {at} (not valid Unicode)"
            continue
        if name in _NUMBER_AS_TEXT and isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                return f"{name}: not a finite number: {value}"
            fields[name] = str(value)
            continue
        return f"{name}: expected a string, got {type(value).__name__}"
    return _difficulty_error(fields)


def _difficulty_error(fields: dict[str, Any]) -> str | None:
    value = fields.get("difficulty")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return f"difficulty: expected a number, got {type(value).__name__}"
    if isinstance(value, str) and not value.strip():
        fields["difficulty"] = None
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return f"difficulty: not a number: {safe_text(str(value)[:40])!r}"
    if math.isnan(number):
        fields["difficulty"] = None
        return None
    if not math.isfinite(number):
        return f"difficulty: not a finite number: {safe_text(str(value)[:40])!r}"
    fields["difficulty"] = number
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
    row["problem_id"] = problem_id(row["problem"]) if row["problem"] else None
    row["id"], row["response_index"] = row["problem_id"], None
    return row


def _quarantine_copy(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The row as it will sit in the quarantine: schema-typed, wrong-typed values kept as JSON text, lone
    surrogates escaped (the reject row must be storable whatever the input held)."""
    row: dict[str, Any] = {}
    for name, dtype in PROBLEM_SCHEMA.items():
        value = fields.get(name)
        if name in _DERIVED:
            value = None
        elif dtype == pl.String() and value is not None and not isinstance(value, str):
            try:
                value = json.dumps(value, ensure_ascii=False, default=str)
            except (ValueError, RecursionError) as exc:  # a cycle, a nesting too deep: its type says enough
                value = f"<{type(value).__name__}: {exc}>"
        elif dtype == pl.Float64() and not (isinstance(value, int | float) and not isinstance(value, bool)):
            value = None
        elif dtype == pl.Float64():
            value = float(value) if abs(value) < 1e308 else None
        row[name] = safe_text(value) if isinstance(value, str) else value
    if isinstance(fields.get("problem"), str) and fields["problem"].strip():
        row["problem_id"] = row["id"] = problem_id(row["problem"])
    return row


def _response_key(row: Mapping[str, Any]) -> bytes:
    """A digest of the teacher response (reasoning and solution), to tell a repeated response from a new one."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (row.get("reasoning"), row.get("solution")):
        digest.update(b"\x01" if part is None else b"\x00" + part.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.digest()


class RowNormalizer:
    """The rules of `normalize_candidates`, one candidate at a time: ``push`` returns the kept row (or None)."""

    def __init__(
        self, domains: Iterable[str] | None = DEFAULT_DOMAINS, max_responses: int | None = None
    ) -> None:
        if max_responses is not None and max_responses < 1:
            raise ValueError(f"max_responses must be >= 1 or None, got {max_responses}")
        self.wanted = None if domains is None else {d.strip().lower() for d in domains}
        self.max_responses = max_responses
        self.rows_in = 0
        self.rejected: list[tuple[dict[str, Any], str, str]] = []
        # problem id -> {response digest -> source_id of the kept row}: which responses each problem has
        self._responses: dict[str, dict[bytes, str]] = {}

    def push(self, cand: Candidate) -> dict[str, Any] | None:
        self.rows_in += 1
        if cand.invalid is not None:
            self.rejected.append((_quarantine_copy(cand.fields), cand.reason, safe_text(cand.invalid)))
            return None
        fields = dict(cand.fields)
        type_error = _type_error(fields)
        if type_error is not None:
            self.rejected.append((_quarantine_copy(cand.fields), "invalid_row", type_error))
            return None
        row = _clean(fields)
        reason = self._reason(row)
        if reason is not None:
            self.rejected.append((row, *reason))
            return None
        return row

    def _reason(self, row: dict[str, Any]) -> tuple[str, str] | None:
        """Why `row` is quarantined (reason, detail), or None after numbering it as a kept response."""
        if self.wanted is not None and row["domain"] not in self.wanted:
            slim = {k: (row[k] if k in _IDENTITY_FIELDS else None) for k in PROBLEM_SCHEMA}
            row.clear()
            row.update(slim)
            return "non_math_domain", f"domain={row['domain']!r}"
        if row["problem"] is None:
            return "empty_problem", "problem is empty"
        if row["reasoning"] is None:
            return "missing_reasoning", "reasoning is null or blank"
        seen = self._responses.setdefault(row["problem_id"], {})
        key = _response_key(row)
        if key in seen:
            return "duplicate_response", f"same problem and response as source_id={seen[key]}"
        if self.max_responses is not None and len(seen) >= self.max_responses:
            return "excess_response", f"the problem already has {len(seen)} responses (max_responses)"
        row["response_index"] = len(seen)
        row["id"] = row_id(row["problem_id"], row["response_index"])
        seen[key] = row["source_id"]
        return None

    def rejects_frame(self) -> pl.DataFrame:
        if not self.rejected:
            return StageResult(empty_frame(PROBLEM_SCHEMA)).rejected
        rows = pl.DataFrame([r for r, _, _ in self.rejected], schema=PROBLEM_SCHEMA)
        reasons = [r for _, r, _ in self.rejected]
        return make_rejects(rows, STAGE, reasons, [d for _, _, d in self.rejected])


def normalize_candidates(
    candidates: Iterable[Candidate],
    *,
    domains: Iterable[str] | None = DEFAULT_DOMAINS,
    limit: int | None = None,
    max_responses: int | None = None,
    stats: Mapping[str, Any] | None = None,
) -> StageResult:
    """Kept rows (PROBLEM_SCHEMA) and quarantined rows (REJECT_SCHEMA) from mapped candidates."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    norm = RowNormalizer(domains, max_responses)
    kept: list[dict[str, Any]] = []
    for cand in candidates if limit != 0 else ():
        row = norm.push(cand)
        if row is not None:
            kept.append(row)
            if limit is not None and len(kept) >= limit:
                break
    result = StageResult(pl.DataFrame(kept, schema=PROBLEM_SCHEMA) if kept else empty_frame(PROBLEM_SCHEMA))
    result.rejected = norm.rejects_frame()
    result.stats = {
        **(stats or {}),
        "domains": None if norm.wanted is None else sorted(norm.wanted),
        "limit": limit,
        "max_responses": max_responses,
        "rows_in": norm.rows_in,
        "kept": len(kept),
        "rejected": len(norm.rejected),
        "problems": len({r["problem_id"] for r in kept}),
        "reject_counts": result.reject_counts(),
    }
    result.check_invariant(norm.rows_in)
    return result
