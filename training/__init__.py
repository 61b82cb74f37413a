"""Training: TRL SFT, GRPO with the code-interpreter rollout, evaluation and iTool, one subpackage each.

`sft/`, `grpo/`, `eval/`, `itool/` (the stages), `rollout/` (the rollout they share), `models/` (loading, LoRA,
policies), `verl/` (the verl bridge), `stages.py` (the phases as functions over folders, for the Dagster assets),
`plots.py`. Map and contracts: docs/architecture.md.
"""
