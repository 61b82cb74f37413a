"""The verl bridge: PPO and GRPO at scale through verl's ReTool recipe, on our data, sandbox and reward.

`launch.py` (`retool-data train verl`) turns a recipe (`config.py`) into verl's Hydra overrides, writes the tool
config that points verl's SandboxFusionTool at `retool-data sandbox serve` (`tool_config.py`), and prints or runs
``python -m verl.trainer.main_ppo``; `reward.py` is the `custom_reward_function` verl loads. The RL parquet itself
is written by the export (`retool_data.export.verl_rows`). verl is imported by none of these: it runs on the GPU
cluster (docs/training.md, "verl").
"""
