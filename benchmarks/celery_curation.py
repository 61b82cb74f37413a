"""A 4-shard curation on one process vs Celery workers: rows/s and where the time of each step goes.

    python benchmarks/celery_curation.py [--rows 4000] [--shard-size 1000] [--workers 2]

Needs the live services (PostgreSQL, RabbitMQ on 127.0.0.1, `rabbitmqctl`). Both runs use a fresh Postgres instance and the same synthetic source (``--rows``
arithmetic problems with a worked reasoning: rules-only verification, the heuristic rewriter, the consistency
check, all in the sandbox), so only the executor differs:

- ``one process``: `retool-data run` with Dagster's default executor, shards one after the other;
- ``celery``: `retool-data run --executor celery` with ``--workers`` `retool-data worker` processes, shards in
  parallel (``--parallel`` = workers).

Per step it reports the compute (STEP_START to STEP_SUCCESS) and, for Celery, the overhead before it: from the
run submitting the step to the worker starting it (broker hop, the worker rebuilding the job and its resources).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_source(path: Path, rows: int) -> None:
    with path.open("w") as fh:
        for i in range(rows):
            a, b = 12 + i % 97, 7 + i // 97
            reasoning = f"We multiply {a} by {b}: {a} \\times {b} = {a * b}.\n\nSo the product is {a * b}."
            fh.write(
                json.dumps(
                    {
                        "problem": f"Problem {i}: a crate holds {a} rows of {b} jars. How many jars are there?",
                        "deepseek_reasoning": reasoning,
                        "deepseek_solution": f"{a} \\times {b} = \\boxed{{{a * b}}}",
                        "ground_truth_solution": f"The total is \\boxed{{{a * b}}}.",
                        "domain": "math",
                        "source": "synthetic",
                    }
                )
                + "\n"
            )


def step_times(env: dict[str, str]) -> dict[str, list[float]]:
    """Per step: compute seconds, and (celery) submit-to-start seconds, from the instance's event log."""
    from dagster import DagsterEventType, DagsterInstance, RunsFilter

    os.environ.update(env)
    out: dict[str, list[float]] = {}
    with DagsterInstance.get() as instance:
        for run in instance.get_runs(RunsFilter(job_name="shard_job")):
            logs = instance.all_logs(run.run_id)
            for step in ("verified_problems", "rewritten_traces", "consistent_traces"):
                mine = [r for r in logs if r.step_key == step and r.dagster_event]
                start = min(
                    r.timestamp for r in mine if r.dagster_event.event_type == DagsterEventType.STEP_START
                )
                end = max(
                    r.timestamp for r in mine if r.dagster_event.event_type == DagsterEventType.STEP_SUCCESS
                )
                out.setdefault(f"{step} compute", []).append(end - start)
                submits = [r.timestamp for r in mine if "Submitting celery task" in (r.message or "")]
                if submits:
                    out.setdefault(f"{step} submit->start", []).append(start - min(submits))
    return out


def curate(label: str, source: Path, args: argparse.Namespace, celery: bool) -> None:
    import psycopg2

    db, vhost = f"retool_bench_{uuid.uuid4().hex[:8]}", f"retool_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{db}"')
    work = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    (work / "home").mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", work / "home" / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(work / "home"),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_DB": db,
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "RETOOL_OUTPUT_DIR": str(work / "out"),
        "PYTHONPATH": str(ROOT),
    }
    workers = []
    try:
        cmd = [
            sys.executable,
            "-m",
            "retool_data",
            "run",
            "--source",
            str(source),
            "--shard-size",
            str(args.shard_size),
        ]
        if celery:
            subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
            subprocess.run(
                ["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                check=True,
                capture_output=True,
            )
            env["RETOOL_CELERY_BROKER"] = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
            for n in range(args.workers):
                log = open(work / f"w{n}.log", "wb")  # noqa: SIM115
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "retool_data", "worker", "--name", f"w{n}@bench"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            deadline = time.monotonic() + 180
            while not all("ready." in (work / f"w{n}.log").read_text() for n in range(args.workers)):
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.5)
            cmd += ["--executor", "celery", "--parallel", str(args.workers)]
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{label} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        exported = next(line for line in done.stdout.splitlines() if line.startswith("exported"))
        print(
            f"{label}: {seconds:.0f} s for {args.rows} rows = {args.rows / seconds:.1f} rows/s ({exported.split(' ->')[0]})"
        )
        for name, values in sorted(step_times(env).items()):
            print(f"  {name:<36} median {statistics.median(values):6.1f} s  (n={len(values)})")
    finally:
        for proc in workers:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if celery:
            subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "problems.jsonl"
        write_source(source, args.rows)
        curate("one process", source, args, celery=False)
        curate(f"celery, {args.workers} workers", source, args, celery=True)


if __name__ == "__main__":
    main()
