"""retool-data: the ReTool cold-start curation recipe as a library (pure, testable without Dagster)."""

__version__ = "0.1.0"
PIPELINE_VERSION = __version__
