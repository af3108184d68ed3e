"""The cluster deployment (docker-compose.cluster.yml, deploy/cluster/) and the
operations guide (docs/operations.md) agree with each other and with the code."""
import json
import re
import shutil
import subprocess

import yaml

from tests.unit.test_deploy import ROOT, SERVICES, _compose_config_passes, _ComposeLoader, compose

CLUSTER = "docker-compose.cluster.yml"
DOC = ROOT / "docs" / "operations.md"
BROKER_NODES = ("rabbitmq-1", "rabbitmq-2", "rabbitmq-3")
MONGO_MEMBERS = ("mongo-1", "mongo-2", "mongo-3")


def cluster() -> dict:
    return compose(CLUSTER)["services"]


def _replicas(service: dict) -> int:
    return int(service.get("deploy", {}).get("replicas") or service.get("scale") or 1)


def test_the_cluster_file_passes_compose_config_where_a_compose_client_exists():
    _compose_config_passes(CLUSTER)


def test_three_clustered_rabbitmq_nodes_with_one_cookie_and_the_shared_topology():
    services = cluster()
    cookies = set()
    for name in BROKER_NODES:
        node = services[name]
        assert node["image"].startswith("rabbitmq:3.12") and node["hostname"] == name
        assert node["entrypoint"][-1].endswith("rabbitmq-entrypoint.sh")
        mounts = " ".join(node["volumes"])
        assert "./deploy/rabbitmq/rabbitmq.conf:/etc/rabbitmq/rabbitmq.conf:ro" in mounts
        assert "deploy/rabbitmq/definitions.json}:/etc/rabbitmq/definitions.json:ro" in mounts
        assert "./deploy/cluster/rabbitmq-cluster.conf:/etc/rabbitmq/conf.d/" in mounts
        assert f"{name}-data:/var/lib/rabbitmq" in mounts
        cookies.add(node["environment"]["LIANXIN_ERLANG_COOKIE"])
    assert len(cookies) == 1 and cookies == {services["rabbitmq-init"]["environment"]["LIANXIN_ERLANG_COOKIE"]}
    conf = (ROOT / "deploy" / "cluster" / "rabbitmq-cluster.conf").read_text()
    assert "cluster_formation.peer_discovery_backend = classic_config" in conf
    for i, name in enumerate(BROKER_NODES, 1):
        assert f"cluster_formation.classic_config.nodes.{i} = rabbit@{name}" in conf
    init = (ROOT / "deploy" / "cluster" / "rabbitmq-init.sh").read_text()
    assert all(f"rabbit@{name}" in init for name in BROKER_NODES) and "grow" in init
    assert {services["rabbitmq-init"]["depends_on"][n]["condition"] for n in BROKER_NODES} == {"service_healthy"}


def test_three_mongo_members_form_rs0_with_a_shared_keyfile_and_the_users_of_the_single_node():
    services = cluster()
    keys = set()
    for name in MONGO_MEMBERS:
        member = services[name]
        assert member["image"] == "mongo:7" and member["hostname"] == name
        command = member["command"]
        assert command[command.index("--replSet") + 1] == "rs0" and "--keyFile" in command
        assert member["entrypoint"][-1].endswith("mongo-entrypoint.sh")
        mounts = " ".join(member["volumes"])
        assert "./deploy/mongo/keyfile-entrypoint.sh:/lianxin/keyfile-entrypoint.sh:ro" in mounts
        keys.add(member["environment"]["LIANXIN_MONGO_REPLICA_SET_KEY"])
    assert len(keys) == 1
    # Only the first member creates users (rs.initiate refuses members that hold data).
    first = services["mongo-1"]
    assert any(v.endswith(":/docker-entrypoint-initdb.d/10-create-users.js:ro") for v in first["volumes"])
    assert not any("create-users" in v for name in MONGO_MEMBERS[1:] for v in services[name]["volumes"])
    for name in ("MEMBERSHIP", "ACTIVITIES", "INSPECTIONS", "HONOURS", "REPORTING", "GATEWAY"):
        assert f"LIANXIN_MONGO_PASSWORD_{name}" in first["environment"]
    init = services["mongo-init"]
    assert init["environment"]["LIANXIN_RS_MEMBERS"] == ",".join(f"{m}:27017" for m in MONGO_MEMBERS)
    script = (ROOT / "deploy" / "cluster" / "mongo-init.js").read_text()
    assert 'rs.initiate' in script and '_id: "rs0"' in script and "NotYetInitialized" in script
    entrypoint = (ROOT / "deploy" / "cluster" / "mongo-entrypoint.sh").read_text()
    assert "exec bash /lianxin/keyfile-entrypoint.sh" in entrypoint


def test_every_service_runs_twice_with_its_own_accounts_through_haproxy_and_all_members():
    services = cluster()
    for name in SERVICES:
        service = services[name]
        assert _replicas(service) >= 2, name
        assert service["command"][-1].startswith(f"services.{name}.service:")
        env = service["environment"]
        assert env["AMQP_URI"].startswith(f"amqp://{name}:${{LIANXIN_AMQP_PASSWORD_{name.upper()}:-")
        assert env["AMQP_URI"].endswith("@haproxy:5672/")
        uri = env["MONGO_URI"]
        assert uri.startswith(f"mongodb://{name}:${{LIANXIN_MONGO_PASSWORD_{name.upper()}:-")
        assert "@" + ",".join(f"{m}:27017" for m in MONGO_MEMBERS) + "/?" in uri
        assert "replicaSet=rs0" in uri and "authSource=admin" in uri
        assert service["depends_on"]["rabbitmq-init"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"
        assert "ports" not in service, f"{name}: replicas cannot share a host port"
    assert any(p.endswith(":8000") for p in services["haproxy"]["ports"])


def test_haproxy_balances_every_broker_node_and_every_gateway_instance():
    cfg = (ROOT / "deploy" / "cluster" / "haproxy.cfg").read_text()
    for name in BROKER_NODES:
        assert re.search(rf"^\s*server {name} {name}:5672 check\b", cfg, re.M), name
    assert re.search(r"^\s*server-template \S+ \d+ gateway:8000 check resolvers docker", cfg, re.M)
    assert "option httpchk GET /healthz" in cfg
    mounts = cluster()["haproxy"]["volumes"]
    assert "./deploy/cluster/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in mounts
    if shutil.which("haproxy") is None:
        return
    result = subprocess.run(["haproxy", "-c", "-f", str(ROOT / "deploy" / "cluster" / "haproxy.cfg")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_prometheus_scrapes_every_instance_node_and_the_load_balancer():
    config = yaml.load((ROOT / "deploy" / "cluster" / "prometheus.yml").read_text(), Loader=_ComposeLoader)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    names = [n for sd in jobs["lianxin"]["dns_sd_configs"] for n in sd["names"]]
    assert sorted(names) == sorted(SERVICES)
    assert all(sd["port"] == 9100 for sd in jobs["lianxin"]["dns_sd_configs"])
    for job in ("rabbitmq", "rabbitmq-queues"):
        targets = [t for sc in jobs[job]["static_configs"] for t in sc["targets"]]
        assert sorted(targets) == [f"{n}:15692" for n in BROKER_NODES]
    assert jobs["rabbitmq-queues"]["metrics_path"] == "/metrics/per-object"
    assert config["rule_files"] == ["alerts.yml"]
    mounts = cluster()["prometheus"]["volumes"]
    assert "./deploy/cluster/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    assert "./deploy/cluster/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts
    if shutil.which("promtool") is None:
        return
    result = subprocess.run(["promtool", "check", "config", str(ROOT / "deploy" / "cluster" / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cluster_scripts_are_valid_shell():
    bash = shutil.which("bash") or "/bin/bash"
    scripts = sorted((ROOT / "deploy" / "cluster").glob("*.sh"))
    assert len(scripts) == 3
    for script in scripts:
        assert script.read_text().startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in script.read_text()
        result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, (script.name, result.stderr)


# -- docs/operations.md matches the files --------------------------------------------------------

PATH = re.compile(r"(?<![\w/.$-])((?:deploy|docs|scripts|shared|services|tests)/[\w./*-]*[\w/*]|docker-compose[\w.-]*\.yml)")
DATABASES = {f"lianxin_{name}" for name in SERVICES} | {"lianxin_audit"}


def _metric_names() -> set[str]:
    return set(re.findall(r'"(lianxin_[a-z_]+)"', (ROOT / "shared" / "lianxin" / "metrics.py").read_text()))


def _defined(name: str, defined: set[str]) -> bool:
    return any(name == m or name in (f"{m}_bucket", f"{m}_sum", f"{m}_count") for m in defined)


def test_every_file_the_guide_names_exists():
    paths = set(PATH.findall(DOC.read_text()))
    assert {"docker-compose.cluster.yml", "deploy/cluster/haproxy.cfg", "deploy/cluster/alerts.yml"} <= paths
    for path in sorted(paths):
        if "*" in path:
            assert list(ROOT.glob(path)), path
        else:
            assert (ROOT / path).exists(), f"docs/operations.md names {path}, which does not exist"


def test_every_file_of_the_cluster_deployment_is_in_the_guide():
    paths = set(PATH.findall(DOC.read_text()))
    for file in sorted((ROOT / "deploy" / "cluster").iterdir()):
        assert f"deploy/cluster/{file.name}" in paths, f"docs/operations.md does not describe {file.name}"


def test_every_metric_the_guide_and_the_alerts_use_is_defined():
    defined = _metric_names()
    assert {"lianxin_outbox_backlog", "lianxin_outbox_oldest_age_seconds", "lianxin_events_total"} <= defined
    for source in (DOC, ROOT / "deploy" / "cluster" / "alerts.yml"):
        used = set(re.findall(r"\blianxin_[a-z_]+", source.read_text())) - DATABASES
        assert used, source
        unknown = sorted(n for n in used if not _defined(n, defined))
        assert not unknown, f"{source.name} uses metrics that shared/lianxin/metrics.py does not define: {unknown}"
    text = DOC.read_text()
    assert 'lianxin_events_total{outcome="dead_lettered"}' in text and "rabbitmq_queue_messages_ready" in text


def test_the_event_outcomes_the_guide_uses_are_the_consumers():
    consumer = (ROOT / "shared" / "lianxin" / "consumer.py").read_text()
    for source in (DOC, ROOT / "deploy" / "cluster" / "alerts.yml"):
        for outcome in set(re.findall(r'lianxin_events_total\{outcome="(\w+)"\}', source.read_text())):
            assert f'"{outcome}"' in consumer, outcome


def test_the_alerts_the_guide_names_are_the_rules_and_all_are_explained():
    rules = yaml.load((ROOT / "deploy" / "cluster" / "alerts.yml").read_text(), Loader=_ComposeLoader)
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    named = set(re.findall(r"`((?:Lianxin|Rabbitmq|LoadBalancer)[A-Za-z0-9]+)`", DOC.read_text()))
    assert named == alerts, (sorted(named - alerts), sorted(alerts - named))


def test_the_queues_databases_services_and_jobs_the_guide_names_exist():
    text = DOC.read_text()
    definitions = json.loads((ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())
    queues = {q["name"] for q in definitions["queues"]}
    named_queues = set(re.findall(r"(?<![\w.<-])([a-z]+\.(?:intake|events)(?:\.dead)?|intake\.unrouted)(?![\w-])", text))
    named_queues -= {"lianxin.intake", "lianxin.events"}      # exchanges
    assert named_queues and named_queues <= queues, sorted(named_queues - queues)
    assert set(re.findall(r"\blianxin_(?:[a-z]+)\b(?!_)", text)) - _metric_names() <= DATABASES
    prometheus = yaml.load((ROOT / "deploy" / "cluster" / "prometheus.yml").read_text(), Loader=_ComposeLoader)
    services = set(cluster()) | set(compose()["services"]) | {job["job_name"] for job in prometheus["scrape_configs"]}
    named_services = set(re.findall(r"`((?:rabbitmq|mongo)(?:-\w+)?|haproxy|prometheus)`", text))
    assert named_services <= services, sorted(named_services - services)
    for name in SERVICES:
        assert f"`{name}`" in text or f"| {name} |" in text, f"docs/operations.md says nothing of scaling {name}"
