"""The evaluation's backend mappings without a server or a GPU: how a text completion from llama.cpp or vLLM
becomes a `Continuation`, the request bodies, per-sample seeds, the offline vLLM engine arguments, and how
benchmarks load with ids and answers."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from retool_data.benchmark_sets import load_benchmark_items
from tests.training.grpo_helpers import qwen2_style_tokenizer
from training.eval.backends import _model_eos, eos_token_ids, sampling_settings, vllm_engine_kwargs
from training.eval.run import EvalConfig, _benchmark_sources, load_items, sample_seed
from training.rollout.backends.completions import continuation_from_text_choice, text_completion_payload
from training.rollout.backends.vllm import completions_payload, group_requests, vllm_sampling_kwargs
from training.rollout.generation import GenerationRequest, SamplingSettings

CODE_TEXT = "Let me check.\n<code>\n```python\nprint(6 * 7)\n```\n"


@pytest.fixture(scope="module")
def tok():
    return qwen2_style_tokenizer()


def req(budget: int = 100, stop=("</code>",), seed=None) -> GenerationRequest:
    return GenerationRequest([1, 2], budget, stop, seed)


def test_llamacpp_style_stop_is_restored_from_the_open_code_block(tok):
    # llama.cpp cuts at </code>, leaves it out and says "stop", as it does for EOS
    out = continuation_from_text_choice(
        {"text": CODE_TEXT, "finish_reason": "stop"}, req(), tok, [tok.eos_token_id]
    )
    assert out.finish_reason == "stop" and out.text == CODE_TEXT + "</code>"
    assert (
        out.token_ids == tok.encode(CODE_TEXT + "</code>", add_special_tokens=False) and out.logprobs is None
    )


def test_a_stop_without_an_open_code_block_is_eos(tok):
    text = "So the answer is <answer>\\boxed{42}</answer>"
    out = continuation_from_text_choice(
        {"text": text, "finish_reason": "stop"}, req(), tok, [tok.eos_token_id]
    )
    assert out.finish_reason == "eos" and out.text == text and out.token_ids[-1] == tok.eos_token_id


def test_vllm_style_choices_are_trusted(tok):
    eos = [tok.eos_token_id]
    kept = continuation_from_text_choice(  # include_stop_str_in_output: the stop is in the text
        {"text": CODE_TEXT + "</code>", "finish_reason": "stop", "stop_reason": "</code>"}, req(), tok, eos
    )
    assert kept.finish_reason == "stop" and kept.text.endswith("</code>")
    named = continuation_from_text_choice(  # stop left out, but stop_reason names it
        {"text": "no code tag here", "finish_reason": "stop", "stop_reason": "</code>"}, req(), tok, eos
    )
    assert named.finish_reason == "stop" and named.text == "no code tag here</code>"
    eos_end = continuation_from_text_choice(  # stop_reason None: vLLM says it was EOS, even inside <code>
        {"text": CODE_TEXT, "finish_reason": "stop", "stop_reason": None}, req(), tok, eos
    )
    assert eos_end.finish_reason == "eos"


def test_length_and_budget(tok):
    eos = [tok.eos_token_id]
    out = continuation_from_text_choice({"text": "a b c d", "finish_reason": "length"}, req(), tok, eos)
    assert out.finish_reason == "length" and out.text == "a b c d"
    # re-tokenized text longer than the budget is cut to it, like every backend
    out = continuation_from_text_choice(
        {"text": "So the answer is 42", "finish_reason": "stop"}, req(3), tok, eos
    )
    assert out.finish_reason == "length" and len(out.token_ids) == 3
    # text-only mode: no stop strings, so an open <code> is just text and the turn ended with EOS
    out = continuation_from_text_choice({"text": CODE_TEXT, "finish_reason": "stop"}, req(stop=()), tok, eos)
    assert out.finish_reason == "eos" and "</code>" not in out.text


def test_text_payload_sends_every_sampling_knob_and_the_seed():
    sampling = SamplingSettings(temperature=1.0, top_p=0.7, top_k=0, min_p=None, repetition_penalty=1.0)
    body = text_completion_payload("m", "PROMPT", req(77, seed=123), sampling)
    assert body["prompt"] == "PROMPT" and body["max_tokens"] == 77 and body["seed"] == 123
    assert body["stop"] == ["</code>"] and body["include_stop_str_in_output"] is True
    assert (body["temperature"], body["top_p"], body["top_k"], body["min_p"]) == (1.0, 0.7, 0, 0.0)
    assert body["repeat_penalty"] == body["repetition_penalty"] == 1.0  # llama.cpp's default would be 1.1
    assert "stop" not in text_completion_payload("m", "P", req(stop=()), sampling)


def test_vllm_requests_carry_their_seed_and_seeded_requests_travel_alone():
    sampling = SamplingSettings(extra={"seed": 1})
    assert vllm_sampling_kwargs(req(seed=7), sampling, [2])["seed"] == 7
    assert vllm_sampling_kwargs(req(), sampling, [2])["seed"] == 1
    requests = [req(seed=1), req(seed=2), req(seed=1), req()]
    assert group_requests(requests) == [[0, 2], [1], [3]]
    with pytest.raises(ValueError, match="seed"):
        completions_payload("m", requests[:2], sampling, [2])


def test_vllm_offline_engine_and_sampling_from_the_config(tmp_path: Path):
    config = EvalConfig(output_dir=str(tmp_path), model="Qwen/Qwen2.5-7B-Instruct", backend="vllm",
                        vllm_tensor_parallel_size=2, vllm_max_model_len=20480, dtype="bfloat16", seed=5)  # fmt: skip
    kwargs = vllm_engine_kwargs(config)
    assert kwargs == {
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "tokenizer": "Qwen/Qwen2.5-7B-Instruct",
        "seed": 5,
        "tensor_parallel_size": 2,
        "gpu_memory_utilization": 0.9,
        "enable_prefix_caching": True,
        "max_model_len": 20480,
        "dtype": "bfloat16",
    }
    s = sampling_settings(config)
    assert (s.temperature, s.top_p, s.top_k) == (1.0, 0.7, 0)  # the paper's evaluation sampling


def test_eos_ids_include_the_generation_config_ones(tmp_path: Path):
    from transformers import GenerationConfig

    tokenizer = SimpleNamespace(eos_token_id=151645)
    assert eos_token_ids(tokenizer, SimpleNamespace(eos_token_id=[151645, 151643])) == [151645, 151643]
    assert eos_token_ids(tokenizer, None) == [151645]
    GenerationConfig(eos_token_id=[151645, 151643]).save_pretrained(tmp_path / "ckpt")
    on_disk = EvalConfig(output_dir=str(tmp_path), model=str(tmp_path / "ckpt"), backend="vllm")
    assert _model_eos(on_disk, tokenizer) == [151645, 151643]
    missing = EvalConfig(output_dir=str(tmp_path), model=str(tmp_path / "nothing"), backend="vllm")
    assert _model_eos(missing, tokenizer) == [151645]


def test_config_validation(tmp_path: Path):
    with pytest.raises(ValueError, match="endpoint"):
        EvalConfig(output_dir=str(tmp_path), model="m", backend="openai")
    with pytest.raises(ValueError, match="backend"):
        EvalConfig(output_dir=str(tmp_path), model="m", backend="tgi")
    with pytest.raises(ValueError, match="prompt_template"):
        EvalConfig(output_dir=str(tmp_path), model="m", prompt_template="nope@1")
    text_only = EvalConfig(output_dir=str(tmp_path), model="m", use_tools=False)
    assert text_only.template.id == "retool-text@1" and "code" not in text_only.template.text.lower()
    assert EvalConfig(output_dir=str(tmp_path), model="m").template.id == "retool-rl@1"


def test_sample_seeds_are_stable_and_distinct():
    seeds = {sample_seed(0, "aime24", str(p), s) for p in range(30) for s in range(32)}
    assert len(seeds) == 30 * 32 and all(0 <= x < 2**31 for x in seeds)
    assert (
        sample_seed(0, "aime24", "60", 3)
        == sample_seed(0, "aime24", "60", 3)
        != sample_seed(1, "aime24", "60", 3)
    )


def test_benchmarks_load_with_ids_and_answers(benchmarks_dir: Path, tmp_path: Path):
    amc = load_benchmark_items("amc23", benchmarks_dir / "amc23")
    assert len(amc) == 40 and (amc[0].id, amc[0].answer) == ("0", "27")  # stored as the float 27.0
    aime = load_benchmark_items("aime24", benchmarks_dir / "aime24")
    assert len(aime) == 30 and aime[0].id == "60" and aime[0].answer == "204"
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": 1, "problem": "a", "answer": "1"}\n{"id": 1, "problem": "b", "answer": "2"}\n')
    with pytest.raises(ValueError, match="duplicate ids"):
        load_benchmark_items("dup", dup)
    names, overrides = _benchmark_sources(
        EvalConfig(
            output_dir=str(tmp_path), model="m", benchmarks=["aime24", f"mine={dup}", "x/amc/test.jsonl"]
        )
    )
    assert names == ["aime24"] and overrides == {"mine": str(dup), "amc": "x/amc/test.jsonl"}
    config = EvalConfig(output_dir=str(tmp_path), model="m", benchmarks=["aime25", "amc23"],
                        benchmarks_dir=str(benchmarks_dir), max_problems=3)  # fmt: skip
    items = load_items(config)
    assert {k: len(v) for k, v in items.items()} == {"aime25": 3, "amc23": 3}
    no_answer = tmp_path / "noanswer.jsonl"
    no_answer.write_text('{"problem": "a"}\n')
    with pytest.raises(ValueError, match="without a gold answer"):
        load_items(EvalConfig(output_dir=str(tmp_path), model="m", benchmarks=[f"x={no_answer}"]))


def test_eval_cli_lists_its_commands_and_every_config_field():
    from typer.testing import CliRunner

    from retool_data.cli import app

    runner = CliRunner()
    listing = runner.invoke(app, ["eval", "--help"])
    assert listing.exit_code == 0 and all(c in listing.output for c in ("run", "report", "compare"))
    helped = runner.invoke(app, ["eval", "run", "--help"])
    assert helped.exit_code == 0
    for option in (
        "--backend",
        "--endpoint",
        "--num_samples",
        "--top_p",
        "--use_tools",
        "--benchmarks",
        "--pass_ks",
    ):
        assert option in helped.output
