"""iTool: rounds of deficiency mining, step-level MCTS, fragment-level preference pairs and DPO/SimPO.

`run` (``retool-data train itool``), `round` (one round), `config`, `deficiency`, `mcts/` (search and its tree),
`preference/` (pairs, masked token ids, TRL trainers), `backends` and `evaluation` (a round's policy backends
and held-out evaluation), `report`. The easy-to-hard warm-up is SFT's `training.sft.curriculum`.
"""
