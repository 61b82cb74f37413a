"""The curation assets, one module per phase. Later phases (training, evaluation) add their own module here
and append their assets to `ASSETS` in `pipelines.definitions`."""

from pipelines.assets.export import cold_start_dataset, published_dataset, rejected_rows
from pipelines.assets.filter import consistent_traces, decontaminated_traces, deduplicated_traces
from pipelines.assets.ingest import source_problems
from pipelines.assets.rewrite import rewritten_traces
from pipelines.assets.training import (
    TRAINING_ASSETS,
    eval_report,
    fc_bfcl_report,
    fc_itool_rounds,
    itool_rounds,
    rl_model,
    sft_model,
)
from pipelines.assets.verify import verified_problems

# In the order rows flow through them; `published_dataset` is not part of a curation run (it needs a Hub repo).
CURATION_ASSETS = [
    source_problems,
    verified_problems,
    rewritten_traces,
    consistent_traces,
    deduplicated_traces,
    decontaminated_traces,
    rejected_rows,
    cold_start_dataset,
]
PUBLISH_ASSETS = [published_dataset]
# After the curation, materialized on demand (the UI, `dagster asset materialize`): not part of `retool-data run`.

__all__ = [
    "CURATION_ASSETS",
    "TRAINING_ASSETS",
    "PUBLISH_ASSETS",
    "cold_start_dataset",
    "consistent_traces",
    "decontaminated_traces",
    "eval_report",
    "itool_rounds",
    "fc_itool_rounds",
    "fc_bfcl_report",
    "deduplicated_traces",
    "published_dataset",
    "rejected_rows",
    "rewritten_traces",
    "rl_model",
    "sft_model",
    "source_problems",
    "verified_problems",
]
