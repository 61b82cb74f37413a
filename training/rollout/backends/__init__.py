"""The rollout's generation backends: `hf` (transformers ``generate``), `vllm` (colocated engine or ``trl
vllm-serve``), `completions` (any OpenAI-compatible ``/v1/completions``). Interface: `training.rollout.generation`.
"""
