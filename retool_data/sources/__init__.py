"""Sources: readers that produce problem rows in `retool_data.schema.PROBLEM_SCHEMA`.

Every reader returns a `StageResult` (kept rows, quarantined rows with a stable reason, stats for lineage);
see docs/sources.md.
"""

from retool_data.sources.local import (
    SAMPLE_DATASET,
    iter_local_candidates,
    local_fields,
    read_local,
    read_sample,
    sample_path,
)
from retool_data.sources.open_thoughts import (
    OPENTHOUGHTS3,
    OPENTHOUGHTS_114K,
    OPENTHOUGHTS_114K_CONFIG,
    openthoughts3_fields,
    openthoughts_fields,
    read_openthoughts,
    read_openthoughts3,
    split_think,
)
from retool_data.sources.records import (
    DEFAULT_DOMAINS,
    REJECT_REASONS,
    STAGE,
    Candidate,
    InvalidRow,
    RowNormalizer,
    UnrecognisedRow,
    map_rows,
    normalize_candidates,
    safe_text,
)
from retool_data.sources.registry import SOURCE_NAMES, OpenedSource, load_source, open_source

__all__ = [
    "DEFAULT_DOMAINS",
    "OPENTHOUGHTS3",
    "OPENTHOUGHTS_114K",
    "OPENTHOUGHTS_114K_CONFIG",
    "REJECT_REASONS",
    "SAMPLE_DATASET",
    "SOURCE_NAMES",
    "STAGE",
    "Candidate",
    "InvalidRow",
    "OpenedSource",
    "RowNormalizer",
    "UnrecognisedRow",
    "iter_local_candidates",
    "load_source",
    "local_fields",
    "map_rows",
    "normalize_candidates",
    "open_source",
    "openthoughts3_fields",
    "openthoughts_fields",
    "read_local",
    "read_openthoughts",
    "read_openthoughts3",
    "read_sample",
    "safe_text",
    "sample_path",
    "split_think",
]
