"""`phi-agent` as customers run it: a separate process with an agent key, vended credentials,
heartbeats, a real request, and a clean stop on SIGTERM / Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.waiting import wait_until

GOOD_KEY = "phi_ak_test_good_key"


def _agent_env(db: Path, key: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PHI_"))}
    env["PHI_WAREHOUSE_DB_URL"] = f"sqlite:///{db}"
    if key is not None:
        env["PHI_AGENT_KEY"] = key
    return env


def _start(config: Path, env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "agent.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "phi_agent", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    return process, log


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_agent_process_serves_with_vended_credentials_and_stops_cleanly(
    cloud: Any, phi_api: Any, warehouse_sqlite: Path, make_config: Any, tmp_path: Path, stop_signal: int
) -> None:
    queue = cloud.new_queue()
    config = make_config(queue, api_url=phi_api.url, heartbeat_seconds=1)
    process, log = _start(config, _agent_env(warehouse_sqlite, GOOD_KEY), tmp_path)
    try:
        wait_until(lambda: len(phi_api.heartbeats) >= 1, timeout=120)
        result = cloud.run_tool(queue, "db.query", {"sql": "SELECT max(qty) AS top FROM stock"})
        assert result["status"] == "SUCCEEDED", log.read_text()
        assert json.loads(result["output"])["result"]["rows"] == [[100]]
        process.send_signal(stop_signal)
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert phi_api.credential_calls >= 1
    assert set(phi_api.auth_headers) == {f"Bearer {GOOD_KEY}"}
    online, offline = phi_api.heartbeats[0], phi_api.heartbeats[-1]
    assert online["status"] == "ONLINE" and offline["status"] == "OFFLINE"
    assert set(online) == {
        "status",
        "host",
        "pid",
        "version",
        "tools",
        "os",
        "uptime_seconds",
        "cpu_percent",
        "memory_mb",
        "last_error",
    }
    assert online["pid"] == process.pid and online["tools"] == ["db.query"] and online["version"] == "0.1.0"
    assert online["memory_mb"] > 10 and online["uptime_seconds"] >= 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line["msg"] == "tool succeeded" for line in lines)
    text = log.read_text()
    for secret in (GOOD_KEY, "vended-secret", "vended-session"):
        assert secret not in text


def test_refused_agent_key_exits_with_code_4(
    cloud: Any, phi_api: Any, warehouse_sqlite: Path, make_config: Any, tmp_path: Path
) -> None:
    config = make_config(cloud.new_queue(), api_url=phi_api.url)
    process, log = _start(config, _agent_env(warehouse_sqlite, "wrong-key"), tmp_path)
    assert process.wait(timeout=120) == 4
    assert "unknown agent key" in log.read_text()
    assert "issue a new key in the console and put it in PHI_AGENT_KEY" in log.read_text()
    assert "wrong-key" not in log.read_text()


def test_a_key_revoked_while_running_stops_the_agent_with_code_4(
    cloud: Any, phi_api: Any, warehouse_sqlite: Path, make_config: Any, tmp_path: Path
) -> None:
    """A revoked key never works again: the agent stops as on SIGTERM and exits 4 (the systemd unit's
    RestartPreventExitStatus), instead of retrying a dead key for ever."""
    queue = cloud.new_queue()
    config = make_config(queue, api_url=phi_api.url)
    process, log = _start(config, _agent_env(warehouse_sqlite, GOOD_KEY), tmp_path)
    try:
        result = cloud.run_tool(queue, "db.query", {"sql": "SELECT 1 AS one"})
        assert result["status"] == "SUCCEEDED", log.read_text()
        phi_api.refusing = (401, "unauthorized")
        assert process.wait(timeout=120) == 4, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    refusal = [line for line in lines if line["msg"].startswith("the Phi API refused this agent's key")]
    assert len(refusal) == 1 and "HTTP 401" in refusal[0]["problem"]
    assert any(line["msg"] == "stopping: no new requests; waiting for running tools" for line in lines)
    assert GOOD_KEY not in log.read_text()


def test_a_disabled_agent_keeps_its_local_agent_running_until_it_is_enabled_again(
    cloud: Any, phi_api: Any, warehouse_sqlite: Path, make_config: Any, tmp_path: Path
) -> None:
    """403 (the agent disabled) is not final, unlike 401: an admin can enable the agent again, and its
    local agent is still there to serve it."""
    queue = cloud.new_queue()
    config = make_config(queue, api_url=phi_api.url)
    process, log = _start(config, _agent_env(warehouse_sqlite, GOOD_KEY), tmp_path)
    try:
        wait_until(lambda: len(phi_api.heartbeats) >= 1, timeout=120)
        phi_api.refusing = (403, "forbidden")
        wait_until(lambda: phi_api.refused >= 3, timeout=120)  # three heartbeats refused, one a second
        assert process.poll() is None, log.read_text()
        phi_api.refusing = None
        beats = len(phi_api.heartbeats)
        wait_until(lambda: len(phi_api.heartbeats) > beats, timeout=120)
        result = cloud.run_tool(queue, "db.query", {"sql": "SELECT 1 AS one"})
        assert result["status"] == "SUCCEEDED", log.read_text()
        assert process.poll() is None
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=120) == 0
    assert "refused this agent's key" not in log.read_text()


def test_check_reports_every_component(
    cloud: Any, phi_api: Any, warehouse_sqlite: Path, make_config: Any, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    config = make_config(cloud.new_queue(), api_url=phi_api.url, base_dir=exports)
    command = [sys.executable, "-m", "phi_agent", "check", "--config", str(config)]
    good = subprocess.run(command, env=_agent_env(warehouse_sqlite, GOOD_KEY), capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    for component in ("config", "credentials", "queue", "db.query", "file.read"):
        assert f"[ OK ] {component}" in good.stdout
    assert "All checks passed." in good.stdout
    assert re.search(r"AWS credentials until \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00\n", good.stdout)  # seconds

    bad_env = _agent_env(tmp_path / "missing-dir" / "x.db", "wrong-key")
    bad = subprocess.run(command, env=bad_env, capture_output=True, text=True)
    assert bad.returncode == 4, bad.stdout
    assert "[FAIL] credentials" in bad.stdout and "[FAIL] db.query" in bad.stdout
    assert "[ OK ] file.read" in bad.stdout


def test_invalid_config_exits_with_code_3_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("version: 1\nagent_id: a\norg_id: o\ncloud: {region: r, api_url: u}\n")
    result = subprocess.run(
        [sys.executable, "-m", "phi_agent", "run", "--config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 3
    assert "cloud.queue_url: field required" in result.stderr


def _queue_counts(cloud: Any, queue: str) -> tuple[int, int]:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_restarted_agent_picks_up_a_request_at_once(
    cloud: Any, phi_api: Any, warehouse_sqlite: Path, make_config: Any, tmp_path: Path
) -> None:
    """A request sent while the old process is stopping (its 20 s long poll still open) is not left
    invisible by a process that is gone: the old agent waits for its poll, makes what it received
    visible again, and the new agent answers it."""
    queue = cloud.new_queue()
    config = make_config(queue, api_url=phi_api.url, wait_time_seconds=20, visibility_timeout_seconds=60)
    env = _agent_env(warehouse_sqlite, GOOD_KEY)
    old, old_log = _start(config, env, tmp_path)
    new: subprocess.Popen[bytes] | None = None
    try:
        # Serving: after this answer its poller is straight back in a 20 s long poll.
        first = cloud.run_tool(queue, "db.query", {"sql": "SELECT 1 AS one"})
        assert first["status"] == "SUCCEEDED", old_log.read_text()
        old.send_signal(signal.SIGTERM)
        execution = cloud.start_tool(queue, "db.query", {"sql": "SELECT count(*) AS n FROM stock"})
        assert old.wait(timeout=60) == 0
        # The request is visible (or was answered before the stop took effect), never hidden for 60 s.
        visible, hidden = _queue_counts(cloud, queue)
        assert hidden == 0, (visible, hidden, old_log.read_text())
        new_log = tmp_path / "agent-new.log"
        new = subprocess.Popen(
            [sys.executable, "-m", "phi_agent", "run", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=new_log.open("wb"),
        )
        # Well inside the 60 s visibility timeout a hidden message would have waited for.
        result = cloud.wait_finished(execution, timeout=45)
        assert result["status"] == "SUCCEEDED", new_log.read_text()
        assert json.loads(result["output"])["result"]["rows"] == [[100]]
        if visible:
            assert "messages made visible again for redelivery" in old_log.read_text()
    finally:
        for process in (old, new):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_run_refuses_a_privileged_database_login(
    cloud: Any, postgres_url: str, make_config: Any, tmp_path: Path
) -> None:
    config = make_config(cloud.new_queue())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHI_")}
    env["PHI_WAREHOUSE_DB_URL"] = postgres_url  # the embedded server's superuser
    command = [sys.executable, "-m", "phi_agent", "run", "--config", str(config)]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 8, refused.stderr
    assert "privileged database login" in refused.stderr and "superuser" in refused.stderr
    assert "--allow-privileged-db-login" in refused.stderr
    check = subprocess.run(
        [sys.executable, "-m", "phi_agent", "check", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "[FAIL] db login" in check.stdout and "superuser" in check.stdout, check.stdout
    assert "WARNING" in check.stdout
