"""The broker accounts: each may do what its service really does, and no more.

The same permissions are exercised against the real broker in
tests/integration/test_broker_permissions.py; these check the patterns
themselves against the whole catalog and topology.
"""
import base64
import hashlib
import re

import pytest

from lianxin import broker_accounts as ba
from lianxin import topology
from lianxin.catalog import CATALOG

ALL_EVENT_TYPES = sorted({name for (name, _) in CATALOG.events})
ALL_QUEUES = [q for sub in topology.SUBSCRIPTIONS
              for q in (sub.queue, sub.dead_letter_queue, *(sub.retry_queue(d) for d in topology.RETRY_DELAYS))]
ALL_EXCHANGES = [ex.name for ex in topology.EXCHANGES] + ["nameko-rpc", "amq.default"]


def allows(pattern: str, name: str) -> bool:
    # RabbitMQ matches permissions with an unanchored regex search
    return re.search(pattern, name) is not None


def test_password_hash_is_rabbitmqs_salted_sha256():
    salt = b"\x90\x8d\xc6\x0a"
    digest = base64.b64decode(ba.password_hash("test12", salt))
    assert digest[:4] == salt and digest[4:] == hashlib.sha256(salt + b"test12").digest()
    with pytest.raises(ValueError):
        ba.password_hash("x", b"12345")


@pytest.mark.parametrize("service", ba.SERVICES)
def test_a_service_publishes_only_its_own_event_types(service):
    acc = ba.account(service)
    owned = set(ba.owned_event_types(service))
    write, read = acc.topic[topology.EVENTS_EXCHANGE]
    assert owned
    for event_type in ALL_EVENT_TYPES:
        assert allows(write, event_type) == (event_type in owned), (service, event_type)
    for key in ("#", "*", "", f"{sorted(owned)[0]}.x", f"x{sorted(owned)[0]}"):
        assert not allows(write, key)
    assert read == "^$"


@pytest.mark.parametrize("service", ba.SERVICES)
def test_a_service_reads_only_its_own_queues_and_declares_no_lianxin_resource(service):
    acc = ba.account(service)
    own = {s.queue for s in topology.SUBSCRIPTIONS if s.service == service}
    for queue in ALL_QUEUES:
        assert allows(acc.read, queue) == (queue in own), (service, queue)
        assert not allows(acc.configure, queue) and not allows(acc.write, queue)
    for exchange in [ex.name for ex in topology.EXCHANGES] + ["amq.default"]:
        assert not allows(acc.configure, exchange) and not allows(acc.read, exchange)
    # never the default exchange (which would reach every queue directly) or intake
    assert not allows(acc.write, "amq.default") and not allows(acc.write, topology.INTAKE_EXCHANGE)
    for other in ba.SERVICES:
        assert allows(acc.configure, f"rpc-{other}") == (other == service)
        assert allows(acc.read, f"rpc-{other}") == (other == service)
    rpc_write, rpc_read = acc.topic["nameko-rpc"]
    assert allows(rpc_write, "6f1c3a52-3b0e-4c1e-9d6a-2f9e8f3f4a10")          # replies
    assert not any(allows(rpc_write, f"{other}.health") for other in ba.SERVICES)  # no requests
    assert allows(rpc_read, f"{service}.*") and not allows(rpc_read, "#")


def test_the_gateway_only_calls_services_reads_its_replies_and_queues_writes_as_intake():
    acc = ba.account("gateway")
    reply = "rpc.reply-gateway-6f1c3a52-3b0e-4c1e-9d6a-2f9e8f3f4a10"
    for perm in (acc.configure, acc.write, acc.read):
        assert allows(perm, reply) and allows(perm, "nameko-rpc")
        # writes queued in a broker outage go to lianxin.intake (services/gateway/outage.py)
        allowed = {"nameko-rpc", topology.INTAKE_EXCHANGE} if perm is acc.write else {"nameko-rpc"}
        assert not any(allows(perm, n) for n in ALL_QUEUES + ALL_EXCHANGES if n not in allowed)
        assert not allows(perm, "rpc.reply-standalone_rpc_proxy-6f1c3a52-3b0e-4c1e-9d6a-2f9e8f3f4a10")
        assert not allows(perm, "rpc-membership")
    write, read = acc.topic["nameko-rpc"]
    assert all(allows(write, f"{s}.health") for s in ba.SERVICES)
    assert not allows(write, "gateway.x") and not allows(write, "6f1c3a52-3b0e-4c1e-9d6a-2f9e8f3f4a10")
    assert allows(read, "6f1c3a52-3b0e-4c1e-9d6a-2f9e8f3f4a10") and not allows(read, "membership.*")
    write, read = acc.topic[topology.INTAKE_EXCHANGE]
    assert allows(write, "member_registered") and allows(write, "deed_recorded") and read == "^$"
    assert not allows(write, "honour_awarded") and not allows(write, "activity_held")


def test_intake_may_only_write_to_the_intake_exchange():
    acc = ba.account("intake")
    assert (acc.configure, acc.read) == ("^$", "^$")
    names = ALL_QUEUES + ALL_EXCHANGES
    assert [n for n in names if allows(acc.write, n)] == [topology.INTAKE_EXCHANGE]
    assert not allows(acc.write, "lianxin.intake.unrouted") and not allows(acc.write, "xlianxin.intake")
    assert not any(allows(acc.configure, n) or allows(acc.read, n) for n in names)


def test_only_ops_administers_and_only_restricted_accounts_skip_declaring():
    assert [a.name for a in ba.accounts() if a.tags] == ["ops"]
    assert not any(ba.may_declare_topology(a) for a in (*ba.SERVICES, "gateway", "intake"))
    assert ba.may_declare_topology("ops") and ba.may_declare_topology("guest") and ba.may_declare_topology(None)


def test_definitions_carry_development_passwords_unless_given(monkeypatch):
    doc = ba.definitions()
    salt = hashlib.sha256(b"intake").digest()[:4]
    intake = next(u for u in doc["users"] if u["name"] == "intake")
    assert intake["password_hash"] == ba.password_hash("intake-dev-password", salt)
    doc = ba.definitions({"intake": "a-real-secret-of-some-length"})
    intake = next(u for u in doc["users"] if u["name"] == "intake")
    assert intake["password_hash"] == ba.password_hash("a-real-secret-of-some-length", salt)


def test_rendering_production_definitions_refuses_missing_or_development_passwords(tmp_path, monkeypatch):
    for account in ba.ACCOUNTS:
        monkeypatch.delenv(ba.PASSWORD_ENV.format(account.upper()), raising=False)
    with pytest.raises(SystemExit, match="LIANXIN_AMQP_PASSWORD_MEMBERSHIP"):
        ba.main(["render", str(tmp_path / "d.json")])
    for account in ba.ACCOUNTS:
        monkeypatch.setenv(ba.PASSWORD_ENV.format(account.upper()), ba.dev_password(account))
    with pytest.raises(SystemExit, match="development or short"):
        ba.main(["render", str(tmp_path / "d.json")])
    for account in ba.ACCOUNTS:
        monkeypatch.setenv(ba.PASSWORD_ENV.format(account.upper()), f"{account}-Secret-0123456789")
    ba.main(["render", str(tmp_path / "d.json")])
    assert (tmp_path / "d.json").stat().st_mode & 0o777 == 0o600
    text = (tmp_path / "d.json").read_text()
    assert "topic_permissions" in text and "dev-password" not in text
