"""Preference optimisation on iTool pairs: `pairs` (from search trees), `data` (token ids, interpreter masked),
`train` (TRL's DPO / SimPO trainers)."""
