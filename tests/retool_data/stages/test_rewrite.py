"""The LLM rewrite stage against the scripted OpenAI-compatible server."""

from __future__ import annotations

from typing import Any

from retool_data.llm import OpenAIBackend, ResponseCache
from retool_data.llm.client import ClientConfig
from retool_data.schema import REWRITE_COLUMNS
from retool_data.stages.rewrite import rewrite, rewrite_request
from retool_data.templates import CURATION_TEMPLATE
from retool_data.trace import validate_trace
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply, prompt_of
from tests.retool_data.stages.rows import frame, row

GOOD = (
    "Let me compute.\n<code>\n```python\nprint(12 * 7)\n```\n</code>\n<interpreter>\n84\n</interpreter>\n"
    "So 84.\n<answer>\\boxed{84}</answer>"
)


def scripted(body: dict[str, Any], seen: int) -> Reply:
    p = prompt_of(body)
    if "KIND-good" in p:
        return Reply(text=GOOD)
    if "KIND-think" in p:
        return Reply(text="<think>\nplan: use code\n</think>\n" + GOOD)
    if "KIND-nocode" in p:
        return Reply(text="Just thinking.\n<answer>\\boxed{84}</answer>")
    if "KIND-broken" in p:
        return Reply(
            text="Let me compute.\n<code>\n```python\nprint(12 * 7)\n```\n<answer>\\boxed{84}</answer>"
        )
    if "KIND-400" in p:
        return Reply("status", status=400, text="prompt too long")
    return Reply("status", status=500)


def backend(server: FakeOpenAIServer, cache: Any = None) -> OpenAIBackend:
    cfg = ClientConfig(
        base_url=server.base_url,
        model="rewriter",
        concurrency=3,
        timeout_s=2,
        max_retries=1,
        backoff_base_s=0.01,
        progress=False,
    )
    return OpenAIBackend(cfg, cache)


def rows() -> list[dict[str, Any]]:
    kinds = ["good", "think", "nocode", "broken", "400"]
    out = [
        row(f"Problem {k} {i}", f"KIND-{k} reasoning {i}", "\\boxed{84}", "84")
        for i in range(2)
        for k in kinds
    ]
    out.append(row("Problem with nothing to rewrite", "", "", "1"))
    return out


def test_rewrite_statuses_and_quarantine(tmp_path):
    df = frame(rows())
    with FakeOpenAIServer(scripted) as server:
        result = rewrite(df, backend(server, ResponseCache(tmp_path)))
        sent = len(server.records())
    assert result.rows_in == df.height
    assert set(REWRITE_COLUMNS) <= set(result.kept.columns)
    assert sorted(r.split()[0] for r in result.kept["reasoning"]) == ["KIND-good"] * 2 + ["KIND-think"] * 2
    for r in result.kept.iter_rows(named=True):
        assert r["rewrite_status"] == "ok" and r["num_code_blocks"] == 1
        assert r["trace"] == GOOD and validate_trace(r["trace"]) == []
        assert r["rewrite_backend"] == "openai:rewriter" and r["rewrite_template"] == CURATION_TEMPLATE.id
    assert (
        result.kept.filter(result.kept["reasoning"].str.contains("think"))["raw_reply"]
        .str.starts_with("<think>")
        .all()
    )
    assert result.reject_counts() == {
        "no_code": 2,
        "no_reasoning": 1,
        "rewrite_error": 2,
        "unparseable_reply": 2,
    }
    details = dict(zip(result.rejected["reason"], result.rejected["detail"], strict=True))
    assert "code_without_interpreter" in details["unparseable_reply"]
    assert details["rewrite_error"].startswith("http_400")
    assert sent == 10  # the row without reasoning sent nothing; 400s are not retried


def test_rerun_from_cache_sends_only_failed_requests(tmp_path):
    df = frame(rows())
    with FakeOpenAIServer(scripted) as server:
        first = rewrite(df, backend(server, ResponseCache(tmp_path)))
        n_first = len(server.records())
        again = rewrite(df, backend(server, ResponseCache(tmp_path)))
        resent = server.records()[n_first:]
    assert {r.prompt.count("KIND-400") for r in resent} == {1} and len(resent) == 2  # only the errors
    assert again.kept.equals(first.kept)
    assert again.rejected.equals(first.rejected)


# The ReTool paper's cold-start curation template (arXiv 2504.11536), as quoted in retool_data/templates.py:
# written out here, not rebuilt from the template, so a change to the prompt's wording fails this test.
PAPER_OPENING = (
    "You are a helpful AI assistant. Initially, when solving a question, you would need to think step by step, "
    "without the ability to use code for calculation."
)
PAPER_CODE_WRAPPING = (
    "The thinking process can have multiple code snippets. Each code snippet is wrapped with: "
    "<code>\n```python\ncode snippet\n```\n</code>, and should be executable."
)
PAPER_INTERPRETER_WRAPPING = (
    "The returned result is wrapped with <interpreter>\nexecution results\n</interpreter>."
)


def test_rewrite_prompt_is_the_papers_curation_template_around_the_rows_reasoning():
    reasoning = "Okay, 12 rows of 7 apples.\nSo $12 \\times 7 = 84$, and half is $\\frac{84}{2} = 42$."
    problem = "A box holds 12 rows of 7 apples. How many apples?"
    request = rewrite_request(row(problem, f"  {reasoning}\n", "The answer is 84.", "84"))
    assert len(request.messages) == 1 and request.messages[0]["role"] == "user"
    prompt = request.messages[0]["content"]
    assert prompt.startswith(PAPER_OPENING)
    assert PAPER_CODE_WRAPPING in prompt and PAPER_INTERPRETER_WRAPPING in prompt
    assert f"User Question:\n{problem}\n" in prompt
    # the reasoning, stripped and verbatim (LaTeX braces included), inside the original-thinking tags
    assert f"<original_thinking_process>\n{reasoning}\n</original_thinking_process>" in prompt
    assert "The answer is 84." not in prompt  # the solution is only the fallback when there is no reasoning
    assert "{question}" not in prompt and "{original_response}" not in prompt
    assert prompt.rstrip().endswith("Revised Thinking Process (With code interpreter's support):")
    assert request.template == "retool-coldstart@2" and request.tag == row(problem, reasoning)["id"]
