"""The deployment files agree with the code: every service is deployed and scraped."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/service.py"))


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_runs_in_compose_with_the_store_and_broker():
    services = compose()["services"]
    for name in SERVICES:
        assert name in services, f"{name} is missing from docker-compose.yml"
        assert services[name]["command"][-1].startswith(f"services.{name}.service:")
        env = services[name]["environment"]
        assert env["MONGO_URI"].startswith("mongodb://") and "replicaSet=" in env["MONGO_URI"]
        assert env["AMQP_URI"].startswith("amqp://")
    assert "--replSet" in compose()["services"]["mongo"]["command"]


def test_every_service_is_scraped_by_prometheus():
    text = (ROOT / "deploy" / "prometheus.yml").read_text()
    for name in SERVICES:
        assert f"{name}:9100" in text


def test_compose_config_passes_where_a_compose_client_exists():
    for command in (["docker", "compose", "config", "-q"], ["docker-compose", "config", "-q"]):
        if shutil.which(command[0]) is None:
            continue
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        if command[:2] == ["docker", "compose"] and result.returncode != 0 and "unknown" in result.stderr:
            continue  # the docker CLI without its compose plugin
        assert result.returncode == 0, result.stderr
        return
    pytest.skip("no docker compose client on this machine")
