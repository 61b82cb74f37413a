"""Several teacher responses per problem: which verified ones go on (issue 17.3).

A source may hold several responses to one problem (OpenThoughts3 has ~16): ingestion keeps them all, numbered
by ``response_index`` under one ``problem_id``, and verification checks each. `surplus_responses` then keeps the
first ``k`` *verified* responses of each problem (in ``response_index`` order, then input order) and marks the
others, so a problem is only lost when none of its responses is right. ``k=None`` keeps every verified response.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from retool_data.schema import problem_keys

SURPLUS_REASON = "surplus_response"


def surplus_responses(df: pl.DataFrame, verified: Sequence[bool], k: int | None = 1) -> list[str | None]:
    """Per row: None, or the detail of why a verified row is surplus (its problem already has ``k`` verified
    responses). Rows not verified are never surplus. Frames without ``problem_id`` group by ``id``."""
    if k is not None and k < 1:
        raise ValueError(f"responses_per_problem must be >= 1 or None, got {k}")
    out: list[str | None] = [None] * df.height
    if k is None or df.height == 0:
        return out
    keys = problem_keys(df).to_list()
    index = df["response_index"].to_list() if "response_index" in df.columns else [None] * df.height
    ids = df["id"].to_list() if "id" in df.columns else [None] * df.height
    order = sorted(range(df.height), key=lambda i: (index[i] or 0, i))
    chosen: dict[str, list[str]] = {}
    for i in order:
        if not verified[i] or keys[i] is None:
            continue
        kept = chosen.setdefault(keys[i], [])
        if len(kept) < k:
            kept.append(str(ids[i]))
        else:
            out[i] = (
                f"verified, but problem {keys[i]} already has {k} verified response(s): {', '.join(kept)}"
            )
    return out
