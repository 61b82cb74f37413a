"""BFCL with BFCL's own checker (`bfcl-eval`): our verifier agrees with it on every case of a slice of each
category (the gold answer and systematic corruptions of it), and `run_bfcl` reports the leaderboard's categories."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import require
from training.itool.envs.tool_calls import gold_from_bfcl, verify_calls

SLICE = 25  # cases per category


def _bfcl():
    require(
        importlib.util.find_spec("bfcl_eval") is not None,
        "bfcl-eval missing: pip install --no-deps bfcl-eval",
    )
    from training.itool import bfcl

    return bfcl


@pytest.mark.parametrize("category", ["simple", "multiple", "parallel", "parallel_multiple"])
def test_our_verifier_agrees_with_bfcl_checker_on_every_case_of_the_slice(category):
    bfcl = _bfcl()
    cases = bfcl.load_bfcl(category, SLICE)
    assert len(cases) == SLICE
    checked = disagreements = 0
    for case in cases:
        tools = case.tools
        gold = gold_from_bfcl(case.possible_answer)
        base = bfcl.gold_calls(case)
        assert bfcl.bfcl_verdict(case, base)["valid"], case.id  # the gold answer passes BFCL
        for pred in [base, *bfcl.corruptions(base, tools)]:
            ours = verify_calls(pred, gold, tools).valid
            theirs = bfcl.bfcl_verdict(case, pred)["valid"]
            checked += 1
            if ours != theirs:
                disagreements += 1
                print(case.id, json.dumps(pred), ours, theirs)
    assert disagreements == 0 and checked > SLICE * 5


def test_irrelevance_agrees_no_call_is_right_any_call_is_wrong():
    bfcl = _bfcl()
    for case in bfcl.load_bfcl("irrelevance", SLICE):
        call = {"name": case.functions[0]["name"], "arguments": {}}
        for pred in ([], [call]):
            assert (
                verify_calls(pred, [], case.tools).valid
                == bfcl.bfcl_verdict(case, pred)["valid"]
                == (not pred)
            )


def test_run_bfcl_reports_each_category_with_a_scripted_policy(tmp_path, smollm2_tokenizer):
    """A policy that answers every AST case with its gold calls and every irrelevance case with text: 100% on
    each category; a second one that always calls the first function: 0% on irrelevance."""
    bfcl = _bfcl()
    from training.itool.envs.tool_calls import render_calls
    from training.rollout.generation import finish_continuation

    cases = {c.id: c for cat in bfcl.CATEGORY_FILES for c in bfcl.load_bfcl(cat, 2)}
    by_prompt = {}
    for case in cases.values():
        ids = smollm2_tokenizer.apply_chat_template(bfcl.prompt_messages(case), add_generation_prompt=True,
                                                    tokenize=False)  # fmt: skip
        by_prompt[ids] = case

    class Oracle:
        def __init__(self, wrong):
            self.wrong = wrong

        def generate(self, requests):
            outs = []
            for r in requests:
                case = by_prompt[smollm2_tokenizer.decode(r.context_ids, skip_special_tokens=False)]
                if self.wrong:
                    text = render_calls([{"name": case.functions[0]["name"], "arguments": {}}])
                else:
                    text = (
                        render_calls(bfcl.gold_calls(case)) if case.possible_answer else "No function fits."
                    )
                ids = smollm2_tokenizer.encode(text, add_special_tokens=False) + [
                    smollm2_tokenizer.eos_token_id
                ]
                outs.append(finish_continuation(ids, smollm2_tokenizer, r, [smollm2_tokenizer.eos_token_id]))
            return outs

    report = bfcl.run_bfcl(Oracle(False), smollm2_tokenizer, tmp_path / "a", per_category=2)
    assert {k: v["accuracy"] for k, v in report.categories.items()} == dict.fromkeys(bfcl.CATEGORY_FILES, 1.0)
    assert report.summary == {"non_live_ast": 1.0, "irrelevance": 1.0}
    assert len((tmp_path / "a" / "samples.jsonl").read_text().splitlines()) == 10
    wrong = bfcl.run_bfcl(Oracle(True), smollm2_tokenizer, tmp_path / "b", per_category=2)
    assert wrong.categories["irrelevance"]["accuracy"] == 0.0 and wrong.summary["non_live_ast"] == 0.0
    assert json.loads((tmp_path / "b" / "bfcl.json").read_text())["categories"]["simple"]["errors"]


def test_cli_scores_bfcl_through_an_openai_compatible_endpoint(tmp_path, tiny_checkpoint):
    """`retool-data eval bfcl` with the vLLM-server backend against a local stand-in for `vllm serve` that
    answers each case with its gold calls (irrelevance: with text): every category is 1.0, from the files."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from typer.testing import CliRunner

    from retool_data.cli import app
    from training.itool.envs.tool_calls import render_calls
    from training.models.loading import load_tokenizer

    bfcl = _bfcl()
    tok = load_tokenizer(tiny_checkpoint)
    cases = [c for cat in bfcl.CATEGORY_FILES for c in bfcl.load_bfcl(cat, 2)]

    def answer(prompt_ids):
        text = tok.decode(prompt_ids, skip_special_tokens=False)
        case = next(c for c in cases if c.question[-1]["content"] in text and c.functions[0]["name"] in text)
        reply = (
            render_calls(bfcl.gold_calls(case)) if case.possible_answer else "None of these functions fit."
        )
        return tok.encode(reply, add_special_tokens=False) + [tok.eos_token_id]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, payload):
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._reply({"data": [{"id": "fake-policy"}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            choices = []
            for i, p in enumerate(body["prompt"]):
                ids = answer(p)[: body["max_tokens"]]
                choices.append({"index": i, "token_ids": ids, "finish_reason": "stop",
                                "logprobs": {"tokens": [f"token_id:{t}" for t in ids],
                                             "token_logprobs": [-0.1] * len(ids)}})  # fmt: skip
            self._reply({"choices": choices})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        result = CliRunner().invoke(app, [
            "eval", "bfcl", "--config", "configs/eval_cpu_smoke.yaml", "--model", tiny_checkpoint,
            "--backend", "vllm-server", "--endpoint", f"http://127.0.0.1:{httpd.server_address[1]}",
            "--output_dir", str(tmp_path / "run"), "--bfcl_per_category", "2", "--bfcl_max_new_tokens", "400",
        ])  # fmt: skip
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / "bfcl" / "bfcl.json").read_text())
    assert {k: v["accuracy"] for k, v in report["categories"].items()} == dict.fromkeys(
        bfcl.CATEGORY_FILES, 1.0
    )
    assert all(v["cases"] == 2 for v in report["categories"].values())


def _gt_calls(strings, tools):
    """BFCL's ground-truth call strings -> calls (positional arguments named in the doc's parameter order)."""
    import ast

    out = []
    for s in strings:
        node = ast.parse(s, mode="eval").body
        name = node.func.id
        params = list(next(t for t in tools if t["name"] == name)["parameters"]["properties"])
        args = {params[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
        args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
        out.append({"name": name, "arguments": args})
    return out


@pytest.mark.parametrize("oracle", [True, False])
def test_multi_turn_runs_bfcl_apis_turn_by_turn_and_bfcl_judges_the_state(smollm2_tokenizer, oracle):
    """A policy that makes each turn's ground-truth calls (then stops) passes BFCL's multi-turn checker on every
    case of the slice; one that only chats fails each case on its first turn."""
    _bfcl()
    from training.itool.bfcl_multi_turn import load_multi_turn, run_multi_turn
    from training.itool.envs.tool_calls import render_calls
    from training.rollout.generation import finish_continuation

    cases = load_multi_turn(3)
    by_id = {c.entry["id"]: c for c in cases}

    class Policy:
        def generate(self, requests):
            outs = []
            for r in requests:
                text = smollm2_tokenizer.decode(r.context_ids, skip_special_tokens=False)
                case = next(c for c in by_id.values() if c.entry["question"][0][0]["content"] in text)
                turn = len(case.decoded) - 1
                called = case.messages[-1]["role"] == "tool"  # this turn's calls are made: stop
                reply = (
                    "Done."
                    if called or not oracle
                    else render_calls(_gt_calls(case.ground_truth[turn], case.tools))
                )
                ids = smollm2_tokenizer.encode(reply, add_special_tokens=False) + [
                    smollm2_tokenizer.eos_token_id
                ]
                outs.append(finish_continuation(ids, smollm2_tokenizer, r, [smollm2_tokenizer.eos_token_id]))
            return outs

    verdicts = run_multi_turn(Policy(), smollm2_tokenizer, cases, max_steps=3, max_new_tokens=600)
    assert [v["id"] for v in verdicts] == [c.entry["id"] for c in cases]
    if oracle:
        assert all(v["valid"] for v in verdicts), verdicts
        assert [len(v["decoded"]) for v in verdicts] == [len(c.ground_truth) for c in cases]
        # the APIs really ran: a file-system turn's results came back into the conversation as tool results
        assert any(m["role"] == "tool" for m in cases[0].messages)
    else:
        assert not any(v["valid"] for v in verdicts)
        assert {v["error_type"] for v in verdicts} == {"multi_turn:empty_turn_model_response"}
