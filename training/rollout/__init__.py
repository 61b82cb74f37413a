"""The multi-turn code-interpreter rollout, one implementation shared by GRPO, evaluation and iTool's search.

`loop` (`run_rollouts` / `arun_rollouts`), `records` (its budget and results), `generation` (the backend
interface and stop rule), `backends/` (transformers, vLLM, OpenAI-compatible completions), `rewards` (scoring a
completion), `metrics` (ReTool's behaviour metrics).
"""
