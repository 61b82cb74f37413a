"""vLLM request/response mapping, without vLLM (it needs a GPU)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from retool_data.llm.vllm_backend import VLLMBackend, response_from_output, sampling_kwargs


def test_openai_params_map_to_sampling_params():
    kwargs, schema = sampling_kwargs(
        {"temperature": 0.6, "top_p": 0.95, "max_completion_tokens": 100, "stop": "</code>", "seed": 3}
    )
    assert kwargs == {"temperature": 0.6, "top_p": 0.95, "max_tokens": 100, "stop": ["</code>"], "seed": 3}
    assert schema is None


def test_response_format_becomes_a_json_schema():
    schema = {"type": "object", "properties": {"correct": {"type": "boolean"}}}
    _, got = sampling_kwargs(
        {"response_format": {"type": "json_schema", "json_schema": {"name": "v", "schema": schema}}}
    )
    assert got == schema
    _, got = sampling_kwargs({"response_format": {"type": "json_object"}})
    assert got == {"type": "object"}


@pytest.mark.parametrize("params", [{"logit_bias": {}}, {"n": 2}, {"response_format": {"type": "text"}}])
def test_unsupported_params_are_errors(params):
    with pytest.raises(ValueError):
        sampling_kwargs(params)


def test_request_output_maps_to_a_response():
    # the shape of vllm.outputs.RequestOutput / CompletionOutput (an edge we do not own)
    out = SimpleNamespace(
        prompt_token_ids=[1, 2, 3, 4],
        outputs=[SimpleNamespace(text="<answer>\\boxed{2}</answer>", token_ids=[5, 6], finish_reason="stop")],
    )
    resp = response_from_output(out)
    assert (resp.text, resp.prompt_tokens, resp.completion_tokens, resp.finish_reason) == (
        "<answer>\\boxed{2}</answer>",
        4,
        2,
        "stop",
    )
    assert resp.ok and not resp.cached
    assert response_from_output(SimpleNamespace(prompt_token_ids=[1], outputs=[])).error is not None


def test_backend_is_lazy_and_names_itself():
    backend = VLLMBackend("Qwen/Qwen2.5-7B-Instruct")  # constructing it must not import vllm
    assert backend.name == "vllm:Qwen/Qwen2.5-7B-Instruct" and backend._engine is None
    assert backend.complete([]) == []
