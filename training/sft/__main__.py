"""``python -m training.sft`` / ``accelerate launch -m training.sft``: the SFT entry point (`training.sft.train`)."""

from training.sft.train import cli

if __name__ == "__main__":
    cli(prog="python -m training.sft")
