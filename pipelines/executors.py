"""Where the steps of a run execute: Dagster's default (one process per run, steps in subprocesses), or Celery
workers on any machine (`dagster_celery.celery_executor`), chosen by ``RETOOL_EXECUTOR`` when the definitions load.

The code location, the daemon, every run process and every worker must see the same ``RETOOL_*`` settings
(docs/orchestration.md, "Scale-out"): the workers rebuild the definitions from them. `retool-data worker`
starts a worker (`pipelines.celery_worker`) with the settings below.

The Celery settings are for steps that last minutes and for workers that die:

- ``task_acks_late`` + ``worker_prefetch_multiplier=1``: a step is acknowledged only when it has finished, and a
  worker holds no step besides the one it runs. A worker killed mid-step (SIGKILL, OOM, a lost node) closes its
  broker connection and RabbitMQ hands the step to another worker at once; the LLM replies the first worker had
  received are in the shared response cache (``RETOOL_CACHE_URL``), so the retry does not pay for them again.
- Workers run one step at a time in their main process (``--pool solo``): a step starts sandbox workers and
  its own threads, and killing the worker kills the step with it (no orphaned pool child still running it).
  Scale by starting more workers. A solo worker cannot answer broker heartbeats while a step runs, so they are
  off (``broker_heartbeat=0``; a dead peer is still seen when its TCP connection closes). RabbitMQ's own
  ``consumer_timeout`` (30 min by default) must exceed the longest step: deploy/celery/rabbitmq.conf.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

EXECUTOR_ENV = "RETOOL_EXECUTOR"
BROKER_ENV = "RETOOL_CELERY_BROKER"
BACKEND_ENV = "RETOOL_CELERY_BACKEND"
DEFAULT_BROKER = "pyamqp://guest@localhost:5672//"
DEFAULT_BACKEND = "rpc://"
EXECUTORS = ("default", "celery")

CELERY_SETTINGS: dict[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_heartbeat": 0,
    "broker_connection_retry_on_startup": True,
    "result_expires": 7 * 24 * 3600,
}


def executor_kind(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    kind = (env.get(EXECUTOR_ENV) or "default").strip().lower()
    if kind not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={kind!r}: choose one of {', '.join(EXECUTORS)}")
    return kind


def celery_app_args(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Celery executor's configuration: broker, result backend and `CELERY_SETTINGS`."""
    env = os.environ if env is None else env
    return {
        "broker": env.get(BROKER_ENV) or DEFAULT_BROKER,
        "backend": env.get(BACKEND_ENV) or DEFAULT_BACKEND,
        "config_source": dict(CELERY_SETTINGS),
    }


def executor_from_env(env: Mapping[str, str] | None = None) -> Any:
    """The `ExecutorDefinition` for ``RETOOL_EXECUTOR`` (None: Dagster's default executor)."""
    if executor_kind(env) == "default":
        return None
    from dagster_celery import celery_executor

    return celery_executor.configured(celery_app_args(env), name="retool_celery")
