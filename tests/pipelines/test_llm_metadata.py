"""An LLM stage through Dagster: the verifier resource talks to an OpenAI-compatible server (a scripted fake on
127.0.0.1, the edge we do not own), and the asset reports requests, cache hits, tokens, cost and errors."""

import json

import dagster as dg

from pipelines.definitions import build_definitions
from pipelines.resources import VerifierLLM, resources_from_env
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply

VERIFY = [dg.AssetKey("verified_problems"), dg.AssetKey("verify_rejects")]


def _judge(body, seen):
    return Reply(text='{"correct": true, "reason": "same value"}')


def test_the_verifier_endpoint_usage_is_reported_and_cached(tmp_path):
    source = tmp_path / "rows.jsonl"
    rows = [
        {
            "problem": f"What is {a} squared?",
            "reasoning": f"{a}^2 = {a * a}",
            "solution": f"\\boxed{{{a * a}}}",
            "gold_answer": str(a * a),
            "domain": "math",
        }
        for a in (11, 12, 13)
    ]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    env = {"RETOOL_OUTPUT_DIR": str(tmp_path / "out"), "RETOOL_SOURCE": str(source)}
    with FakeOpenAIServer(_judge) as server, dg.instance_for_test() as instance:
        judge = VerifierLLM(
            backend="openai",
            endpoint=server.base_url,
            model="fake-judge",
            judge_all=True,
            cache_dir=str(tmp_path / "cache"),
            price_in_per_mtok=1.0,
            price_out_per_mtok=2.0,
        )
        defs = build_definitions({**resources_from_env(env), "verifier_llm": judge})
        assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance).success

        def verify_once():
            result = defs.resolve_job_def("shard_job").execute_in_process(
                instance=instance, partition_key="shard-00000", asset_selection=VERIFY
            )
            assert result.success
            event = next(
                e
                for e in result.get_asset_materialization_events()
                if e.asset_key == dg.AssetKey("verified_problems")
            )
            return {k: v.value for k, v in event.materialization.metadata.items() if k.startswith("llm/")}

        first = verify_once()
        assert first["llm/backend"] == "openai:fake-judge"
        assert (first["llm/requests"], first["llm/cached"], first["llm/errors"]) == (3, 0, 0)
        assert (
            first["llm/prompt_tokens"] > 0
            and first["llm/completion_tokens"] > 0
            and first["llm/cost_usd"] > 0
        )
        assert len(server.completed()) == 3
        again = verify_once()  # a re-run (a retried shard) is served from the response cache
        assert (again["llm/requests"], again["llm/cached"], again["llm/cost_usd"]) == (3, 3, 0.0)
        assert again["llm/saved_usd"] > 0 and len(server.completed()) == 3
