"""The verl route, checked against verl's own classes (the `verl` extra): its dataset class loads our RL parquet,
its Hydra config accepts our PPO and GRPO overrides, its reward loader runs our reward, its Hermes parser reads our
SFT tool calls, and its SandboxFusionTool runs code on our sandbox server."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.training.verl.conftest import compose, require_verl
from training.verl.config import VerlRecipe, hydra_overrides
from training.verl.tool_config import tool_config, write_tool_config


@pytest.fixture(autouse=True)
def _verl() -> None:
    require_verl()


def _overrides(export, algorithm: str, tmp_path: Path, model: str) -> list[str]:  # noqa: ANN001
    recipe = VerlRecipe(
        model_path=model, train_files=[str(export.verl_path)], val_files=[str(export.verl_path)]
    )
    return hydra_overrides(recipe, algorithm, write_tool_config(tmp_path / "tool_config.yaml"))


@pytest.mark.parametrize("algorithm", ["ppo", "grpo"])
def test_verl_config_composition_accepts_our_overrides(
    hermes_export, algorithm, tmp_path, tiny_checkpoint
) -> None:  # noqa: ANN001
    from verl.experimental.reward_loop.reward_loop import migrate_legacy_reward_impl
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    cfg = migrate_legacy_reward_impl(compose(_overrides(hermes_export, algorithm, tmp_path, tiny_checkpoint)))
    validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    assert cfg.algorithm.adv_estimator == ("gae" if algorithm == "ppo" else "grpo")
    assert need_critic(cfg) is (algorithm == "ppo")
    rollout = omega_conf_to_dataclass(cfg.actor_rollout_ref.rollout)
    assert rollout.multi_turn.enable and rollout.multi_turn.format == "hermes"
    assert rollout.multi_turn.tool_config_path == str(tmp_path / "tool_config.yaml")
    assert rollout.n == (16 if algorithm == "grpo" else 1)
    # verl loads our reward module through the config (pkg:// path) and passes reward_kwargs
    score = get_custom_reward_fn(cfg)
    assert score("lighteval/MATH", "so \\boxed{42}", "42", {"num_turns": 2})["score"] == 1.0
    assert score("lighteval/MATH", "so \\boxed{41}", "42", {"num_turns": 6})["score"] == pytest.approx(-0.8)


def test_rlhf_dataset_loads_our_parquet(hermes_export, smollm2_tokenizer, tmp_path, ray_local) -> None:  # noqa: ANN001
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from retool_data.tool_protocol import code_interpreter_schema, hermes_prompt

    cfg = compose(_overrides(hermes_export, "grpo", tmp_path, "unused"))
    # data.tool_config_path follows the rollout's: verl builds the tools from our config to size the prompts
    ds = RLHFDataset(data_files=[str(hermes_export.verl_path)], tokenizer=smollm2_tokenizer, config=cfg.data)
    assert len(ds) == 2 and ds.tool_schemas == [code_interpreter_schema()]
    item = ds[0]
    assert item["agent_name"] == "tool_agent"  # verl's agent loop runs the row multi-turn, with the tools
    assert item["reward_model"]["ground_truth"] == "42"
    assert list(item["raw_prompt"]) == [
        {"role": "user", "content": hermes_prompt("What is six times seven?")}
    ]
    # what the tool agent loop feeds the model: the chat template over raw_prompt with the tool schemas
    ids = smollm2_tokenizer.apply_chat_template(
        list(item["raw_prompt"]),
        tools=ds.tool_schemas,
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
    )["input_ids"]
    text = smollm2_tokenizer.decode(ids, skip_special_tokens=False)
    assert text.endswith("<|im_start|>assistant\n") and "What is six times seven?" in text
    assert len(ids) <= cfg.data.max_prompt_length


def test_hermes_parser_reads_our_sft_tool_calls(hermes_export, smollm2_tokenizer) -> None:  # noqa: ANN001
    from datasets import load_from_disk
    from verl.experimental.agent_loop.tool_parser import ToolParser

    row = load_from_disk(str(hermes_export.dataset_dir))[0]
    turn = next(m for m in row["messages"] if m["role"] == "assistant")
    parser = ToolParser.get_tool_parser("hermes", smollm2_tokenizer)
    ids = smollm2_tokenizer.encode(turn["content"], add_special_tokens=False)
    content, calls = asyncio.run(parser.extract_tool_calls(ids))
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("code_interpreter", {"code": 'print("ENV:", 6 * 7)'})
    ]
    assert content.strip() == "We need 6 * 7."


def test_verl_default_scorer_and_ours_on_an_exported_trace(hermes_export) -> None:  # noqa: ANN001
    from datasets import load_from_disk
    from verl.utils.reward_score import default_compute_score

    from training.verl.reward import compute_score

    row = load_from_disk(str(hermes_export.dataset_dir))[0]
    # the response as verl decodes it (Qwen-style tool turns, special tokens skipped)
    msgs = row["messages"]
    response = f"{msgs[1]['content']}\nuser\n<tool_response>\n{msgs[2]['content']}\n</tool_response>\nassistant\n{msgs[3]['content']}"
    assert default_compute_score("lighteval/MATH", response, row["answer"]) == 1.0
    assert compute_score("lighteval/MATH", response, row["answer"], {"num_turns": 4})["score"] == 1.0
    # code that prints the answer box earns nothing with our reward: only the model's final turn counts
    hack = "<tool_call>...</tool_call>\nuser\n<tool_response>\n\\boxed{42}\n</tool_response>\nassistant\nI am done."
    assert default_compute_score("lighteval/MATH", hack, "42") == 1.0  # why the default scorer is not used
    assert compute_score("lighteval/MATH", hack, "42", {"num_turns": 4})["score"] < 0


@pytest.mark.slow
def test_sandbox_fusion_tool_runs_code_on_our_server(tmp_path, ray_local) -> None:  # noqa: ANN001
    from tests.sandbox.conftest import require_isolation

    require_isolation()
    from verl.tools.utils.tool_registry import initialize_tools_from_config

    from sandbox import Sandbox
    from sandbox.server import SandboxFusionServer
    from training.verl.tool_config import ToolSettings

    with Sandbox(workers=1, timeout_s=10.0, memory_mb=512) as sb:
        srv = SandboxFusionServer(sb, "127.0.0.1", 0)
        srv.start_background()
        try:
            settings = ToolSettings(sandbox_url=f"{srv.url}/run_code", num_workers=2, rate_limit=2)
            [tool] = initialize_tools_from_config(str(write_tool_config(tmp_path / "tools.yaml", settings)))
            assert (
                tool.tool_schema.model_dump(exclude_unset=True, exclude_none=True)
                == tool_config(settings)["tools"][0]["tool_schema"]
            )

            async def call(code: str) -> str:
                instance, _ = await tool.create()
                try:
                    response, _, _ = await tool.execute(instance, {"code": code})
                finally:
                    await tool.release(instance)
                return response.text

            assert asyncio.run(call("import sympy\nprint(sympy.factorint(360))")) == "{2: 3, 3: 2, 5: 1}\n"
            assert "ZeroDivisionError" in asyncio.run(call("print(1 / 0)"))
        finally:
            srv.shutdown()
            srv.server_close()


def _vision_rope_unavailable(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    raise AssertionError("Qwen2-VL position ids are for image/video rows; text rows never call this")


def test_verl_multiturn_sft_dataset_masks_our_tool_turns(
    hermes_export, smollm2_tokenizer, monkeypatch
) -> None:  # noqa: ANN001
    import types

    from datasets import load_from_disk

    try:
        import verl.models.transformers.qwen2_vl  # noqa: F401
    except ImportError:
        # verl 0.7.1 imports its Qwen2-VL patch (names transformers 5 removed) at the top of the SFT dataset module,
        # only for get_rope_index, which multimodal rows alone call: stand in for that one import
        shim = types.ModuleType("verl.models.transformers.qwen2_vl")
        shim.get_rope_index = _vision_rope_unavailable
        monkeypatch.setitem(sys.modules, "verl.models.transformers.qwen2_vl", shim)
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    # verl's own SFT dataset reads the exported Hermes shards as they are: messages from the user turn, tools column
    ds = MultiTurnSFTDataset(
        parquet_files=[str(p) for p in hermes_export.shards],
        tokenizer=smollm2_tokenizer,
        config={"max_length": 1024, "truncation": "error", "pad_mode": "no_padding"},
    )
    assert len(ds) == 2
    item = ds[0]
    ids, mask = item["input_ids"].tolist(), item["loss_mask"].tolist()

    def decode(keep: int) -> str:
        return smollm2_tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m == keep])

    row = load_from_disk(str(hermes_export.dataset_dir))[0]
    assert "ENV: 42" in decode(0) and "ENV: 42" not in decode(1)  # the tool turn is masked
    for turn in (m for m in row["messages"] if m["role"] == "assistant"):
        assert turn["content"] in decode(1)  # every assistant turn, its <tool_call> included, is trained
