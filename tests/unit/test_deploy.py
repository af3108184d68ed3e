"""The deployment files agree with the code: every service is deployed and scraped."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/service.py"))


class _ComposeLoader(yaml.SafeLoader):
    """SafeLoader without nameko's `${VAR:default}` resolver (`nameko test` installs it
    on SafeLoader itself), so compose's own `${VAR:-default}` stay as written."""


_ComposeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "!env_var"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def compose(name: str = "docker-compose.yml") -> dict:
    return yaml.load((ROOT / name).read_text(), Loader=_ComposeLoader)


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


def _compose_config_passes(*files: str) -> None:
    """`docker compose config` (or docker-compose v1) on these files, where a client exists."""
    options = [arg for name in files for arg in ("-f", name)]
    for command in (["docker", "compose", *options, "config", "-q"], ["docker-compose", *options, "config", "-q"]):
        if shutil.which(command[0]) is None:
            continue
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        if command[:2] == ["docker", "compose"] and result.returncode != 0 and "unknown" in result.stderr:
            continue  # the docker CLI without its compose plugin
        assert result.returncode == 0, result.stderr
        return
    pytest.skip("no docker compose client on this machine")


def test_compose_config_passes_where_a_compose_client_exists():
    _compose_config_passes()


ACCOUNT_SERVICES = ("gateway", "membership", "activities", "inspections", "honours", "reporting")


def test_every_service_uses_its_own_broker_and_store_account():
    services = compose()["services"]
    for name in ACCOUNT_SERVICES:
        env = services[name]["environment"]
        assert env["AMQP_URI"].startswith(f"amqp://{name}:${{LIANXIN_AMQP_PASSWORD_{name.upper()}:-")
        assert env["MONGO_URI"].startswith(f"mongodb://{name}:${{LIANXIN_MONGO_PASSWORD_{name.upper()}:-")
        assert "authSource=admin" in env["MONGO_URI"]
    mongo = services["mongo"]
    assert "--keyFile" in mongo["command"] and mongo["entrypoint"][-1].endswith("keyfile-entrypoint.sh")
    for name in ACCOUNT_SERVICES:
        assert f"LIANXIN_MONGO_PASSWORD_{name.upper()}" in mongo["environment"]
    assert any(v.endswith(":/docker-entrypoint-initdb.d/10-create-users.js:ro") for v in mongo["volumes"])
    assert "auth(process.env.MONGO_INITDB_ROOT_USERNAME" in " ".join(mongo["healthcheck"]["test"])


def test_the_mongo_init_script_gives_each_service_its_own_database_and_the_audit_log_no_rewrite():
    script = (ROOT / "deploy" / "mongo" / "create-users.js").read_text()
    for name in ACCOUNT_SERVICES:
        assert f'"{name}"' in script
    actions = script[script.index("actions:"):script.index("]", script.index("actions:"))]
    assert '"find"' in actions and '"insert"' in actions
    for forbidden in ("update", "remove", "drop", "collMod", "rename", "createIndex"):
        assert forbidden not in actions
    entrypoint = (ROOT / "deploy" / "mongo" / "keyfile-entrypoint.sh").read_text()
    assert "chmod 400" in entrypoint and "chown mongodb:mongodb" in entrypoint
    assert 'exec docker-entrypoint.sh "$@"' in entrypoint


def _conf(path: Path) -> dict:
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = (p.strip() for p in line.split("=", 1))
            pairs[key] = value
    return pairs


def test_the_broker_message_ceiling_leaves_room_for_the_largest_accepted_body():
    """The gateway takes bodies up to MAX_BODY_BYTES; nameko's JSON re-encodes them
    with non-ASCII escaped (up to 3x for 4-byte characters): that RPC must still fit."""
    import json

    from kombu.utils.json import dumps
    ceiling = int(_conf(ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf")["max_message_size"])
    config = (ROOT / "deploy" / "config.yml").read_text()
    body_limit = int(config.split("MAX_BODY_BYTES: ${LIANXIN_MAX_BODY_BYTES:")[1].split("}")[0])
    assert body_limit == 1_048_576 and ceiling >= 4 * body_limit
    for char in ("王", "😀", "\x01"):
        body = json.dumps({"name": char * (body_limit // len(json.dumps(char, ensure_ascii=False).encode()) - 20)},
                          ensure_ascii=False).encode()
        assert len(body) <= body_limit
        rpc = dumps({"args": [json.loads(body)], "kwargs": {}}).encode()
        assert len(rpc) < ceiling, (char, len(rpc))


def test_production_tls_closes_plain_amqp_and_requires_client_certificates():
    tls = _conf(ROOT / "deploy" / "rabbitmq" / "rabbitmq-tls.conf")
    assert tls["listeners.tcp"] == "none" and tls["listeners.ssl.default"] == "5671"
    assert tls["ssl_options.verify"] == "verify_peer" and tls["ssl_options.fail_if_no_peer_cert"] == "true"
    assert {tls["ssl_options.versions.1"], tls["ssl_options.versions.2"]} == {"tlsv1.2", "tlsv1.3"}
    for key in ("cacertfile", "certfile", "keyfile"):
        assert tls[f"ssl_options.{key}"].startswith("/etc/rabbitmq/tls/")
    override = compose("docker-compose.tls.yml")["services"]
    assert any("rabbitmq-tls.conf:/etc/rabbitmq/conf.d/" in v for v in override["rabbitmq"]["volumes"])
    for name in ACCOUNT_SERVICES:
        env = override[name]["environment"]
        assert env["AMQP_URI"].startswith(f"amqps://{name}:") and ":5671/" in env["AMQP_URI"]
        assert "ca_certs" in env["AMQP_SSL"] and "certfile" in env["AMQP_SSL"]


def test_the_tls_override_merges_with_the_base_file_where_a_compose_client_exists():
    _compose_config_passes("docker-compose.yml", "docker-compose.tls.yml")
