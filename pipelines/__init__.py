"""Dagster definitions for retool-data (assets, resources, checks, schedules, sensors)."""
