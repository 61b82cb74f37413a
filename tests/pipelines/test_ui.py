"""The Dagster UI in a real browser: `retool-data ui` (`dagster dev`) on 127.0.0.1, the asset graph in headless Chromium (Debian's
`chromium`, driven by Playwright), a materialization of the first asset alone launched from the UI, and a screenshot
of the result (tests/output/, git-ignored).

One test only: starting `dagster dev` (webserver, daemon, code server) takes tens of seconds.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from pipelines.instance import install_instance_yaml
from tests.conftest import REPO_ROOT, require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT_DIR = REPO_ROOT / "tests" / "output"
STARTUP_S, RUN_S = 240, 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dagster dev exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


def _wait_materialized(home: Path, asset: str, timeout_s: float) -> dg.DagsterRun:
    """The run that materialized ``asset``, once it finished successfully (read from the instance on disk)."""
    deadline = time.monotonic() + timeout_s
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            event = instance.get_latest_materialization_event(dg.AssetKey(asset))
            if event is not None:
                run = instance.get_run_by_id(event.run_id)
                if run is not None and run.status == dg.DagsterRunStatus.SUCCESS:
                    return run
            failed = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
            assert not failed, f"run {failed[0].run_id} failed"
            time.sleep(2)
    raise AssertionError(f"{asset} was not materialized within {timeout_s} s")


def _stop(proc: subprocess.Popen) -> None:
    """Ctrl-C for dagster dev (it stops its webserver, daemon and code servers), then SIGKILL the group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.browser
@pytest.mark.slow
def test_materialize_the_first_asset_from_the_asset_graph(tmp_path):
    require(CHROMIUM.is_file(), "Debian chromium not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed")
    home = tmp_path / "dagster_home"
    install_instance_yaml(home, REPO_ROOT / "dagster.yaml")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "RETOOL_OUTPUT_DIR": str(tmp_path / "outputs"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    log = (tmp_path / "dagster_dev.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "retool_data", "ui", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        _wait_http(f"{url}/server_info", proc, STARTUP_S)
        with sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1600, "height": 1000},
            )
            page = browser.new_page()
            page.goto(f"{url}/asset-groups", wait_until="domcontentloaded")
            # the global asset graph: one collapsed node per group, in the order rows flow
            group = page.locator("[class*='CollapsedGroupNode_collapsedGroupNodeBox']")
            for name in ("ingest", "verify", "rewrite", "filter", "export", "quarantine"):
                group.filter(has_text=name).first.wait_for(timeout=STARTUP_S * 1000)
            group.filter(has_text="ingest").first.click()  # expand the ingest group
            page.get_by_text("source_problems", exact=True).first.click()  # select the first asset
            # one asset of a multi-asset materializes alone: no dialog adding its sibling (ingest_rejects)
            page.get_by_role("button", name="Materialize selected").click()
            run = _wait_materialized(home, "source_problems", RUN_S)
            assert {k.to_user_string() for k in run.asset_selection} == {"source_problems"}
            page.goto(
                f"{url}/locations/pipelines.definitions/asset-groups/ingest", wait_until="domcontentloaded"
            )
            page.get_by_text("Materialized", exact=False).first.wait_for(timeout=60_000)
            OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
            shot = OUTPUT_DIR / "dagster_ui_source_problems.png"
            page.screenshot(path=str(shot))
            browser.close()
        assert shot.stat().st_size > 10_000
        log.flush()
        # `retool-data ui` starts without Dagster's false "dagster.yaml ... will not be used" warning
        assert "will not be used" not in (tmp_path / "dagster_dev.log").read_text()
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert instance.get_dynamic_partitions("source_shards") == [
                "shard-00000"
            ]  # the shards were planned
    except BaseException:
        log.flush()
        print((tmp_path / "dagster_dev.log").read_text()[-5000:])  # shown by pytest on failure
        raise
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
