"""The evaluation harness end to end against a scripted OpenAI-compatible completions server on 127.0.0.1 (the
only fake: the model), with the real sandbox: the interpreter loop, hand-computed metrics, the report, a run
killed with SIGKILL and resumed, the text-only baseline and the comparison of two runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply
from tests.training.eval.helpers import (
    BENCH,
    CODE,
    NUM_SAMPLES,
    PROBLEMS,
    ScriptedModel,
    code_turn,
    write_benchmark,
)
from tests.training.grpo_helpers import qwen2_style_tokenizer
from training.eval.run import EvalConfig, run_eval
from training.eval.store import read_samples

pytestmark = pytest.mark.timeout(300)

# Hand-computed from the script (tests/training/eval/helpers.py): A is right on samples 1, 2 (c=2 of 4), B on
# sample 1 (c=1 of 4).
EXPECTED = {
    "avg@4": (2 / 4 + 1 / 4) / 2,  # 0.375
    "pass@1": 0.375,
    "pass@2": ((1 - 1 / 6) + (1 - 3 / 6))
    / 2,  # 1 - C(n-c,2)/C(4,2): A 5/6, B 1/2 -> 2/3 (naive 1-(1-p)^2: 0.594)
    "pass@4": 1.0,
    "maj@1": 0.0,  # A's sample 0 says 7, B's says 5
    "maj@2": 0.0,  # ties (7 vs 12, 5 vs 7) go to the answer seen first
    "maj@4": 0.5,  # A: 12 and 12.0 are one answer (2 votes) over 7 and 13; B: 5 (2 votes)
    "code_ratio": 5 / 8,  # 4 samples of A and B's sample 1 call the interpreter
    "tool_calls": 5 / 8,
    "code_success_rate": 4 / 5,  # 1 / 0 fails
    "truncation_rate": 1 / 8,  # B's sample 3
    "answered_rate": 7 / 8,
}


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tok")
    qwen2_style_tokenizer().save_pretrained(path)
    return path


def config(tmp_path: Path, server: FakeOpenAIServer, tokenizer_dir: Path, **kw) -> EvalConfig:
    bench = write_benchmark(tmp_path / "toy.jsonl")
    base = dict(output_dir=str(tmp_path / "run"), model="scripted", tokenizer=str(tokenizer_dir), backend="openai",
                endpoint=server.base_url, benchmarks=[f"{BENCH}={bench}"], num_samples=NUM_SAMPLES,
                max_completion_tokens=200, batch_size=8, sandbox_workers=2)  # fmt: skip
    return EvalConfig(**{**base, **kw})


def assert_expected(metrics: dict) -> None:
    for key, value in EXPECTED.items():
        assert metrics[key] == pytest.approx(value), key


def test_scripted_eval_runs_the_interpreter_loop_and_scores_by_hand(tmp_path, tokenizer_dir):
    model = ScriptedModel()
    with FakeOpenAIServer(model) as server:
        result = run_eval(config(tmp_path, server, tokenizer_dir))
        prompts = [r.prompt for r in server.records()]
    assert result.generated == 8 and result.samples == 8
    assert_expected(result.report["benchmarks"][BENCH])
    assert result.report["complete"] and result.report["run"]["template"] == "retool-rl@1"

    # the interpreter's real output came back in the next request's prompt, and nothing else was sent
    assert sum("<interpreter>\n12\n</interpreter>" in p for p in prompts) == 1  # 3 * 4
    assert sum("<interpreter>\n12.0\n</interpreter>" in p for p in prompts) == 1  # 24 / 2
    assert sum("ZeroDivisionError" in p for p in prompts) == 1
    assert len(prompts) == 8 + 5  # one first turn per sample, one answer turn per code call
    assert sorted(model.turn0_seeds) == sorted(set(model.turn0_seeds))

    tok = qwen2_style_tokenizer()
    samples = {
        (r["problem_id"], r["sample_index"]): r for r in read_samples(tmp_path / "run" / "samples.jsonl")
    }
    a1 = samples[("A", 1)]
    turn = code_turn(CODE[("A", 1)]).split("</code>")[0] + "</code>"  # the server stops at </code>
    interp = "\n<interpreter>\n12\n</interpreter>\n"
    answer = "So the answer is <answer>\\boxed{12}</answer>"
    assert a1["text"] == turn + interp + answer
    code_tokens = len(tok.encode(turn, add_special_tokens=False))
    assert a1["first_call_position"] == code_tokens
    assert (
        a1["completion_tokens"] == code_tokens + len(tok.encode(interp)) + len(tok.encode(answer)) + 1
    )  # EOS
    assert a1["tool_calls"][0]["status"] == "ok" and a1["tool_calls"][0]["output"] == "12\n"
    assert (a1["answer"], a1["correct"], a1["end"]) == ("12", True, "eos")
    assert samples[("A", 3)]["code_errors"] == 1 and samples[("A", 3)]["answer"] == "13"
    assert samples[("B", 3)]["end"] == "length" and samples[("B", 3)]["answer"] is None

    run = tmp_path / "run"
    problems = [json.loads(line) for line in (run / "problems.jsonl").read_text().splitlines()]
    assert [(p["problem_id"], p["correct"], p["majority_answer"]) for p in problems] == [
        ("A", 2, "12"),
        ("B", 1, "5"),
    ]
    md = (run / "report.md").read_text()
    assert "| toy | 2 | 37.5% | 37.5% | 66.7% | 100.0% | 0.0% | 0.0% | 50.0% |" in md
    assert (run / "plots" / "accuracy.png").stat().st_size > 5000 and (
        run / "plots" / "behaviour.png"
    ).exists()

    # a second call finds everything saved: nothing is sent, the report is the same
    with FakeOpenAIServer(ScriptedModel()) as server:
        again = run_eval(config(tmp_path, server, tokenizer_dir))
        assert again.generated == 0 and [r for r in server.records()] == []
    assert again.report["benchmarks"] == result.report["benchmarks"]


def cli_command(cfg: EvalConfig) -> list[str]:
    """`retool-data eval run` of ``cfg``: a recipe holding the benchmarks, the rest as command-line overrides."""
    recipe = Path(cfg.output_dir).parent / "eval_recipe.yaml"
    recipe.write_text(yaml.safe_dump({"benchmarks": list(cfg.benchmarks)}))
    args = [sys.executable, "-m", "retool_data", "eval", "run", "--config", str(recipe)]
    for key in ("output_dir", "model", "tokenizer", "backend", "endpoint", "num_samples", "max_completion_tokens",
                "batch_size", "sandbox_workers"):  # fmt: skip
        args += [f"--{key}", str(getattr(cfg, key))]
    return args


def test_a_killed_eval_resumes_without_regenerating_a_sample(tmp_path, tokenizer_dir):
    model = ScriptedModel()
    sample_of: dict[str, tuple[str, int]] = {}  # request key -> the sample it belongs to

    def responder(body, seen):
        from tests.retool_data.llm.fake_openai import request_key

        reply = model(body, seen)
        prompt = str(body["prompt"])
        if "\n<interpreter>\n" in prompt:  # an answer turn: its sample is the one whose code is in the prompt
            sample = next(k for k, code in CODE.items() if code in prompt)
        else:
            sample = model.by_seed[int(body["seed"])]
        sample_of[request_key(body)] = sample
        if len(sample_of) == 4:  # the first request of the second batch: hold it (and all after) unanswered
            server.paused = True
        return reply

    with FakeOpenAIServer(responder) as server:
        cfg = config(tmp_path, server, tokenizer_dir, batch_size=2)
        samples_path = Path(cfg.output_dir) / "samples.jsonl"
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        proc = subprocess.Popen(cli_command(cfg), cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not (
                server.paused and samples_path.exists() and len(samples_path.read_text().splitlines()) == 2
            ):
                assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
                assert time.monotonic() < deadline, "the eval never reached the paused request"
                time.sleep(0.1)
            time.sleep(0.3)  # the paused requests stay unanswered: the run is mid-batch
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
        saved = {(r["problem_id"], r["sample_index"]) for r in read_samples(samples_path)}
        assert saved == {("A", 0), ("B", 0)}  # the first batch; the second was in flight
        first_run = {r.key for r in server.records()}
        boundary = len(server.records())
        server.paused = False

        result = run_eval(cfg)
        second_run = server.records()[boundary:]

    assert result.generated == 6 and result.samples == 8
    resent = [sample_of[r.key] for r in second_run if r.key in first_run]
    assert set(resent) <= {("A", 1), ("B", 1)}  # only what the kill interrupted is asked again
    assert not {sample_of[r.key] for r in second_run} & saved  # no finished sample is regenerated
    keys = [(r["problem_id"], r["sample_index"]) for r in read_samples(samples_path)]
    assert len(keys) == len(set(keys)) == 8
    assert_expected(result.report["benchmarks"][BENCH])


def test_resume_refuses_other_settings_or_an_edited_benchmark(tmp_path, tokenizer_dir):
    with FakeOpenAIServer(ScriptedModel()) as server:
        cfg = config(tmp_path, server, tokenizer_dir, num_samples=1)
        run_eval(cfg)
        with pytest.raises(ValueError, match="top_p: 0.7 -> 0.9"):
            run_eval(config(tmp_path, server, tokenizer_dir, num_samples=1, top_p=0.9))
        more = run_eval(
            config(tmp_path, server, tokenizer_dir, num_samples=2)
        )  # more samples: only the new ones
        assert more.generated == 2 and more.report["benchmarks"][BENCH]["samples_per_problem"] == 2
        bench = tmp_path / "toy.jsonl"
        bench.write_text(bench.read_text().replace("three times four", "three times five"))
        with pytest.raises(ValueError, match="another problem text"):
            run_eval(EvalConfig(**{**cfg.to_dict(), "num_samples": 2}))


def text_only_responder(body, seen):
    assert "stop" not in body and "executable" not in str(body["prompt"])  # no </code> stop, text-only prompt
    q = next(pid for pid, (q, _) in PROBLEMS.items() if q in str(body["prompt"]))
    return Reply(
        text="Thinking in words. <answer>\\boxed{12}</answer>" if q == "A" else code_turn("print(7)")
    )


def test_text_only_baseline_and_the_comparison_of_two_runs(tmp_path, tokenizer_dir):
    with FakeOpenAIServer(ScriptedModel()) as server:
        tools = run_eval(config(tmp_path, server, tokenizer_dir, label="tools"))
    with FakeOpenAIServer(text_only_responder) as server:
        text = run_eval(config(tmp_path, server, tokenizer_dir, output_dir=str(tmp_path / "text"), use_tools=False,
                               label="text"))  # fmt: skip
        assert len(server.records()) == 8  # one turn per sample
    m = text.report["benchmarks"][BENCH]
    assert text.report["run"]["template"] == "retool-text@1" and m["avg@4"] == 0.5  # A always right, B never
    assert m["code_ratio"] == 0.0 and m["answered_rate"] == 0.5  # B's code is text: not run, no answer
    sample = next(r for r in read_samples(tmp_path / "text" / "samples.jsonl") if r["problem_id"] == "B")
    assert sample["tool_calls"] == [] and sample["text"] == code_turn("print(7)") and sample["end"] == "eos"

    out = tmp_path / "cmp"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "retool_data", "eval", "compare", tools.output_dir,
                           text.output_dir, "-o", str(out)], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "toy: avg@k 37.5% -> 50.0% (+12.5 pts)" in done.stdout
    cmp = json.loads((out / "compare.json").read_text())
    row = cmp["benchmarks"][BENCH]
    assert (cmp["a"], cmp["b"]) == ("tools", "text")
    assert row["avg@k"]["delta"] == pytest.approx(0.125) and row["code_ratio"]["delta"] == pytest.approx(
        -5 / 8
    )
    assert row["pass@2"]["a"] == pytest.approx(2 / 3) and row["pass@2"]["b"] == pytest.approx(0.5)
    assert "| code_ratio | 62.5% | 0.0% | -62.5% |" in (out / "compare.md").read_text()
    assert (out / "plots" / "compare_accuracy.png").exists() and (
        out / "plots" / "compare_behaviour.png"
    ).exists()

    rebuilt = subprocess.run([sys.executable, "-m", "retool_data", "eval", "report", tools.output_dir],
                             cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert json.loads(rebuilt.stdout.strip().splitlines()[-1])["complete"] is True


def test_the_rollout_reports_each_sample_as_it_ends_and_seeds_every_turn(tmp_path, tokenizer_dir):
    from sandbox import Sandbox
    from training.grpo.rollout_func import prompt_token_ids
    from training.rollout.backends.completions import OpenAICompletionsBackend
    from training.rollout.generation import SamplingSettings
    from training.rollout.loop import RolloutConfig, run_rollouts

    seeds_seen: list[tuple[int, bool]] = []

    def responder(body, seen):
        answer_turn = "\n<interpreter>\n" in str(body["prompt"])
        seeds_seen.append((int(body["seed"]), answer_turn))
        if answer_turn or "half" in str(body["prompt"]):
            return Reply(text="<answer>\\boxed{7}</answer>")
        return Reply(text=code_turn("print(12)"))

    tok = qwen2_style_tokenizer()
    prompts = [prompt_token_ids(tok, [{"role": "user", "content": q}]) for q, _ in PROBLEMS.values()]
    events: list[tuple[int, int]] = []  # (rollout index, requests sent so far) at each on_done
    with FakeOpenAIServer(responder) as server, Sandbox(workers=1) as sb:
        backend = OpenAICompletionsBackend(server.base_url, tok, SamplingSettings(), [tok.eos_token_id])
        batch = run_rollouts(backend, sb, tok, prompts, RolloutConfig(max_completion_tokens=200), seeds=[11, 22],
                             on_done=lambda i, r: events.append((i, len(server.records()))))  # fmt: skip
        backend.close()
        with pytest.raises(ValueError, match="seeds"):
            run_rollouts(backend, sb, tok, prompts, RolloutConfig(max_completion_tokens=200), seeds=[1])
    assert events == [
        (1, 2),
        (0, 3),
    ]  # B answers in its first turn and is saved before A's answer turn is sent
    assert [r.num_tool_calls for r in batch.results] == [1, 0]
    assert sorted(s for s, answer in seeds_seen if not answer) == [11, 22]  # turn 0 carries the sample's seed
    later = [s for s, answer in seeds_seen if answer]
    assert len(later) == 1 and later[0] not in (11, 22)  # a later turn gets its own seed


def test_an_evaluated_problem_found_in_the_training_data_is_warned_about_and_reported(
    tmp_path, tokenizer_dir, caplog
):
    train = tmp_path / "sft.jsonl"  # problem A in the training set (other case, no "?")
    rows = [{"id": "t0", "problem": "what is three times four", "answer": "12"},
            {"id": "t1", "problem": "A train leaves at 3 pm going 60 miles per hour. When does it arrive?"}]  # fmt: skip
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeOpenAIServer(ScriptedModel()) as server, caplog.at_level("WARNING"):
        result = run_eval(config(tmp_path, server, tokenizer_dir, training_data=[str(train)]))
    overlap = result.report["training_overlap"]
    assert [(h["benchmark"], h["problem_id"], h["training_row"], h["reason"]) for h in overlap] == [
        (BENCH, "A", "t0", "benchmark_contamination")
    ]
    assert "evaluated problem toy/A is close to training row t0 of sft.jsonl" in caplog.text
    assert (
        "**warning**: 1 evaluated problem(s) close to a training row"
        in (tmp_path / "run" / "report.md").read_text()
    )
