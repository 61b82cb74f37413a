"""Training entry points: TRL SFT, GRPO with the code-interpreter rollout, iTool, evaluation."""
