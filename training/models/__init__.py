"""Models shared by every stage: `loading` (Hub id, local directory or .gguf), `lora` (the LoRA fields),
`policy` (a base model plus a chain of LoRA adapters), `tiny` (offline stand-ins for tests and benchmarks),
`checkpoints` (which checkpoint a run resumes from)."""
