"""The verl bridge (issue 18, item 3): verl's RL parquet, tool config and launch config written from our recipes.

Empty until that lands; it lives here so verl-specific code stays out of the TRL stages.
"""
