"""`IToolRunConfig`: every setting of an iTool run (policy, problems, mining, MCTS, pairs, preference training,
held-out evaluation, sandbox), read from a recipe YAML with command-line overrides (TRL's `TrlParser`)::

    retool-data train itool --config configs/itool_cpu_smoke.yaml --rounds 2 --output_dir runs/x

Fields are flat and prefixed by phase (``mining_*``, ``mcts_*``, ``pair_*``, ``pref_*``, ``eval_*``,
``sandbox_*``) so any of them can be overridden on the command line; ``pref_trainer_args`` passes any other
DPOConfig / CPOConfig field (``bf16``, ``use_cpu``, ``logging_steps``, ...). `__post_init__` says what to set.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from training.itool.deficiency import SamplingConfig
from training.itool.mcts.search import MCTSConfig
from training.itool.preference.pairs import PairConfig
from training.itool.preference.train import PREFERENCE_LOSSES, PreferenceSettings

BACKENDS = ("hf", "vllm", "vllm_server")
ENVIRONMENTS = ("code", "function_calling")
PAIR_KINDS = ("fragment", "trace", "both")


def _h(text: str, **extra: Any) -> dict[str, Any]:
    return {"help": text, **extra}


@dataclass
class IToolRunConfig:
    """iTool: rounds of mine -> MCTS -> pairs -> DPO/SimPO -> evaluate on ReTool traces (docs/itool.md)."""

    # policy and data
    model_name_or_path: str | None = field(
        default=None, metadata=_h("Starting policy: the SFT output (Hub id, directory, .gguf or pkg:...).")
    )
    adapters: list[str] | None = field(
        default=None,
        metadata=_h("LoRA adapters on top of model_name_or_path, merged in order (e.g. the SFT LoRA)."),
    )
    tokenizer_name_or_path: str | None = field(
        default=None, metadata=_h("Tokenizer source (default: the model).")
    )
    problems_path: str | None = field(
        default=None,
        metadata=_h(
            "Training problems (jsonl/parquet/save_to_disk/Hub id) with `problem`, `answer`, optional `id`."
        ),
    )
    heldout_path: str | None = field(
        default=None, metadata=_h("Held-out problems for the per-round evaluation (same format).")
    )
    max_problems: int | None = field(default=None, metadata=_h("Use the first N training problems."))
    system_prompt: str | None = field(default=None, metadata=_h("Optional system turn before the RL prompt."))
    output_dir: str = field(
        default="runs/itool", metadata=_h("Run directory: one round-<r>/ per round, report.*")
    )
    seed: int = field(default=42, metadata=_h("Seed of sampling and training."))
    environment: str = field(
        default="code",
        metadata=_h(
            "code: ReTool traces with the sandbox (problems_path: problem/answer rows); function_calling: "
            "ToolACE dialogs (problems_path: a ToolACE .json/.jsonl or the Hub id Team-ACE/ToolACE), "
            "evaluated on BFCL (training/itool/fc.py)."
        ),
    )
    fc_revision: str | None = field(
        default=None, metadata=_h("function_calling: Hub revision (commit/tag) of a ToolACE Hub id.")
    )
    fc_heldout: int = field(
        default=0, metadata=_h("function_calling: the hardest N dialogs are held out of training.")
    )
    warmup_steps: int = field(
        default=0,
        metadata=_h("function_calling: easy-to-hard warm-up SFT steps before round 0 (0 = none)."),
    )
    warmup_learning_rate: float = field(default=1e-5, metadata=_h("Warm-up SFT learning rate."))
    warmup_max_length: int = field(default=2048, metadata=_h("Warm-up SFT: longer rows are dropped."))
    bfcl_categories: list[str] | None = field(
        default=None,
        metadata=_h("BFCL categories evaluated per round (default: simple multiple parallel "
                    "parallel_multiple irrelevance; add multi_turn for multi_turn_base)."),
    )  # fmt: skip
    bfcl_per_category: int | None = field(default=None, metadata=_h("BFCL cases per category (None: all)."))
    bfcl_multi_turn_steps: int = field(
        default=20, metadata=_h("BFCL multi_turn (opt-in category): model steps per user turn.")
    )
    # iterations
    rounds: int = field(default=3, metadata=_h("Rounds of mine -> MCTS -> pairs -> train -> evaluate."))
    stop_patience: int = field(
        default=1, metadata=_h("Stop when the deficiency set has not shrunk for this many rounds in a row.")
    )
    evaluate_initial: bool = field(
        default=True,
        metadata=_h("Also evaluate the starting policy on the held-out problems (the report's round -1)."),
    )
    # generation
    generation_backend: str = field(
        default="hf",
        metadata=_h(
            "hf (transformers), vllm (offline, in this process), vllm_server (OpenAI-compatible /v1/completions).",
            choices=list(BACKENDS),
        ),
    )
    vllm_server_url: str | None = field(
        default=None, metadata=_h("vllm_server: base URL of a server serving this round's policy.")
    )
    vllm_gpu_memory_utilization: float = field(
        default=0.4, metadata=_h("vllm: GPU memory share for the engine (training runs after it is freed).")
    )
    vllm_max_model_len: int | None = field(
        default=None, metadata=_h("vllm: context length (default: the model's).")
    )
    temperature: float = field(default=1.0, metadata=_h("Sampling temperature (mining, MCTS, evaluation)."))
    top_p: float = field(default=1.0, metadata=_h("Nucleus sampling."))
    top_k: int = field(default=0, metadata=_h("Top-k sampling (0 = off)."))
    hf_max_batch_size: int | None = field(default=None, metadata=_h("hf: rows per generate() call."))
    device: str | None = field(
        default=None, metadata=_h("hf: torch device (default: cuda if available, else cpu).")
    )
    max_completion_tokens: int = field(
        default=1024, metadata=_h("Tokens after the prompt per trace, interpreter included.")
    )
    max_tool_calls: int = field(default=4, metadata=_h("Code blocks run per trace."))
    # deficiency mining
    mining_samples: int = field(default=4, metadata=_h("Samples per training problem (k of the pass rate)."))
    mining_threshold: float = field(default=0.5, metadata=_h("Deficient = pass rate below this."))
    # MCTS
    mcts_max_problems: int | None = field(
        default=None, metadata=_h("Search at most N deficient problems per round (lowest pass rate first).")
    )
    mcts_iterations: int = field(default=8, metadata=_h("Select-expand-evaluate rounds per tree."))
    mcts_children: int = field(default=3, metadata=_h("Continuations sampled per expansion."))
    mcts_c_uct: float = field(default=1.0, metadata=_h("UCT exploration constant (rewards are +/-1)."))
    mcts_max_depth: int = field(
        default=6, metadata=_h("Steps below the root; deeper nodes are evaluated, not expanded.")
    )
    mcts_max_nodes: int = field(default=64, metadata=_h("Nodes per tree."))
    mcts_time_limit_s: float | None = field(default=None, metadata=_h("Wall clock per round's search."))
    mcts_max_step_tokens: int = field(default=256, metadata=_h("A step is also cut after this many tokens."))
    # pairs
    pair_min_q_gap: float = field(default=0.5, metadata=_h("Q(chosen) - Q(rejected) at least this."))
    pair_min_visits: int = field(default=1, metadata=_h("Both siblings visited at least this often."))
    pair_min_chosen_q: float = field(default=0.0, metadata=_h("Q(chosen) at least this."))
    pair_max_trace_pairs: int = field(default=1, metadata=_h("Whole-trace baseline pairs per problem."))
    pref_pairs: str = field(
        default="fragment",
        metadata=_h(
            "Pairs to train on: fragment (iTool), trace (baseline) or both.", choices=list(PAIR_KINDS)
        ),
    )
    # preference training
    pref_loss: str = field(
        default="simpo",
        metadata=_h(
            "simpo (CPOTrainer, loss_type=simpo) or dpo (DPOTrainer).", choices=list(PREFERENCE_LOSSES)
        ),
    )
    pref_beta: float = field(
        default=2.5, metadata=_h("SimPO reward scale / DPO KL coefficient (use ~0.1 for dpo).")
    )
    pref_simpo_gamma: float = field(default=0.5, metadata=_h("SimPO target margin."))
    pref_learning_rate: float = field(default=1e-6, metadata=_h("Learning rate."))
    pref_epochs: float = field(default=1.0, metadata=_h("Epochs over a round's pairs."))
    pref_max_steps: int = field(default=-1, metadata=_h("Optimizer steps per round (-1: epochs decide)."))
    pref_batch_size: int = field(default=1, metadata=_h("Pairs per device per step."))
    pref_grad_accum: int = field(default=1, metadata=_h("Gradient accumulation steps."))
    pref_max_length: int | None = field(
        default=2048, metadata=_h("Longer pairs (prompt + longer side) are dropped and counted.")
    )
    use_peft: bool = field(
        default=True,
        metadata=_h("Train a LoRA adapter per round (the policy is the base + the adapter chain)."),
    )
    lora_r: int = field(default=16, metadata=_h("LoRA rank."))
    lora_alpha: int = field(default=32, metadata=_h("LoRA alpha."))
    lora_dropout: float = field(default=0.0, metadata=_h("LoRA dropout."))
    lora_target_modules: list[str] | None = field(
        default=None, metadata=_h("Modules to adapt (None: all linear).")
    )
    pref_trainer_args: dict[str, Any] | str | None = field(
        default=None,
        metadata=_h("Other DPOConfig/CPOConfig fields (YAML mapping or JSON), e.g. {bf16: true}."),
    )
    # evaluation
    eval_samples: int = field(default=4, metadata=_h("Samples per held-out problem (k of avg@k / pass@k)."))
    eval_max_problems: int | None = field(default=None, metadata=_h("Use the first N held-out problems."))
    # sandbox
    sandbox_workers: int | None = field(
        default=None, metadata=_h("Sandbox processes (None: the usable CPUs).")
    )
    sandbox_timeout_s: float = field(default=5.0, metadata=_h("Wall-clock limit per code block."))
    sandbox_memory_mb: int = field(default=1024, metadata=_h("Memory limit per code block (MB)."))
    sandbox_max_output_chars: int = field(default=400, metadata=_h("Interpreter output kept (head+tail)."))
    sandbox_allow_degraded: bool = field(
        default=False, metadata=_h("Run even if an isolation layer is refused.")
    )

    def __post_init__(self) -> None:
        if not self.model_name_or_path:
            raise ValueError("Set model_name_or_path (the SFT policy: directory, Hub id or .gguf).")
        if not self.problems_path:
            raise ValueError("Set problems_path (training problems with `problem` and `answer` columns).")
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"Set environment to one of {ENVIRONMENTS}.")
        if self.generation_backend not in BACKENDS:
            raise ValueError(f"Set generation_backend to one of {BACKENDS}.")
        if self.generation_backend == "vllm_server" and not self.vllm_server_url:
            raise ValueError(
                "Set vllm_server_url (e.g. http://127.0.0.1:8000) for generation_backend: vllm_server."
            )
        if self.rounds < 1 or self.stop_patience < 1:
            raise ValueError("Set rounds and stop_patience to 1 or more.")
        if self.mining_samples < 1 or self.eval_samples < 1:
            raise ValueError("Set mining_samples and eval_samples to 1 or more.")
        if not 0.0 < self.mining_threshold <= 1.0:
            raise ValueError(
                "Set mining_threshold in (0, 1]: problems with a pass rate below it are deficient."
            )
        if self.pref_pairs not in PAIR_KINDS:
            raise ValueError(f"Set pref_pairs to one of {PAIR_KINDS}.")
        if isinstance(self.pref_trainer_args, str):
            self.pref_trainer_args = json.loads(self.pref_trainer_args)
        # build the phase configs now: their own checks fire at load time, not rounds later
        self.mcts_config(), self.pair_config(), self.preference_settings()

    def sampling_config(self, samples: int) -> SamplingConfig:
        return SamplingConfig(
            samples, self.max_completion_tokens, self.max_tool_calls, self.sandbox_timeout_s
        )

    def mcts_config(self) -> MCTSConfig:
        return MCTSConfig(
            iterations=self.mcts_iterations,
            children=self.mcts_children,
            c_uct=self.mcts_c_uct,
            max_depth=self.mcts_max_depth,
            max_nodes=self.mcts_max_nodes,
            time_limit_s=self.mcts_time_limit_s,
            max_completion_tokens=self.max_completion_tokens,
            max_step_tokens=self.mcts_max_step_tokens,
            max_tool_calls=self.max_tool_calls,
            code_timeout_s=self.sandbox_timeout_s,
        )

    def pair_config(self) -> PairConfig:
        return PairConfig(
            min_q_gap=self.pair_min_q_gap,
            min_visits=self.pair_min_visits,
            min_chosen_q=self.pair_min_chosen_q,
            whole_trace=self.pair_max_trace_pairs > 0,
            max_trace_pairs=self.pair_max_trace_pairs,
        )

    def preference_settings(self) -> PreferenceSettings:
        return PreferenceSettings(
            loss=self.pref_loss,
            beta=self.pref_beta,
            simpo_gamma=self.pref_simpo_gamma,
            learning_rate=self.pref_learning_rate,
            num_train_epochs=self.pref_epochs,
            max_steps=self.pref_max_steps,
            per_device_train_batch_size=self.pref_batch_size,
            gradient_accumulation_steps=self.pref_grad_accum,
            max_length=self.pref_max_length,
            use_peft=self.use_peft,
            lora_r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            lora_target_modules=self.lora_target_modules,
            seed=self.seed,
            trainer_args=dict(self.pref_trainer_args or {}),  # type: ignore[arg-type]
        )

    def sandbox_kwargs(self) -> dict[str, Any]:
        return {
            "workers": self.sandbox_workers,
            "timeout_s": self.sandbox_timeout_s,
            "memory_mb": self.sandbox_memory_mb,
            "max_output_chars": self.sandbox_max_output_chars,
            "max_sessions": 512,
            "allow_degraded": self.sandbox_allow_degraded,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
