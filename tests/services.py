"""The live services of the scale-out tests: PostgreSQL, RabbitMQ and Redis on 127.0.0.1 (CI runs them).

A test that needs one FAILS with the address and what to start when it is down: these tests prove the
distributed path, and a skip would hide that it was never exercised. Every test gets its own database /
virtual host (unique names, dropped afterwards), so parallel runs and other users of the services never meet.
Hosts and ports can be moved with RETOOL_TEST_PG_URL / RETOOL_TEST_AMQP_HOST (defaults: the local services).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_ADMIN_URL = os.environ.get("RETOOL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_HOST = os.environ.get("RETOOL_TEST_AMQP_HOST", "127.0.0.1:5672")


def require_service(name: str, hostport: str) -> None:
    """Fail (never skip) when nothing listens at ``hostport``."""
    host, port = hostport.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as exc:
        pytest.fail(
            f"{name} is not reachable at {hostport} ({exc}). The scale-out tests run against live services: "
            f"start {name} (CI machines run PostgreSQL, RabbitMQ and Redis on localhost).",
            pytrace=False,
        )


def unique_name(purpose: str) -> str:
    return f"retool_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _with_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


@contextmanager
def postgres_database(purpose: str) -> Iterator[str]:
    """A fresh database (URL), dropped afterwards even if sessions are still open on it."""
    import psycopg2

    netloc = urlsplit(PG_ADMIN_URL).netloc.rsplit("@", 1)[-1]
    require_service("PostgreSQL", netloc)
    name = unique_name(purpose)
    admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=10)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield _with_db(PG_ADMIN_URL, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def pg_env(url: str) -> dict[str, str]:
    """The DAGSTER_PG_* variables deploy/dagster.postgres.yaml reads, for the database at ``url``."""
    parts = urlsplit(url)
    return {
        "DAGSTER_PG_HOST": parts.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(parts.port or 5432),
        "DAGSTER_PG_DB": parts.path.lstrip("/"),
        "DAGSTER_PG_USER": parts.username or "postgres",
        "DAGSTER_PG_PASSWORD": parts.password or "",
    }


def _rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    if not os.path.exists(ctl):
        pytest.fail("rabbitmqctl not found: the Celery tests create their own RabbitMQ virtual host with it")
    done = subprocess.run([ctl, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")


@contextmanager
def rabbitmq_vhost(purpose: str) -> Iterator[str]:
    """A fresh RabbitMQ virtual host for user guest; yields the broker URL; deleted afterwards."""
    require_service("RabbitMQ", AMQP_HOST)
    vhost = unique_name(purpose)
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"pyamqp://guest:guest@{AMQP_HOST}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)
