"""``python -m training.grpo`` / ``accelerate launch -m training.grpo``: the GRPO entry point (`training.grpo.train`)."""

from training.grpo.train import cli

if __name__ == "__main__":
    cli(prog="python -m training.grpo")
