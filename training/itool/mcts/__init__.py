"""Step-level Monte-Carlo tree search over code-interleaved reasoning: `search` (the search) and `tree` (its data)."""
