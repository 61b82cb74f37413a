"""Curation stages: pure functions over polars frames returning `schema.StageResult`."""
