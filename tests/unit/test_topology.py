"""Queue types of the topology without a broker: arguments per type, the
broker's version, QUEUE_TYPE, and queues kept as they are."""
import logging

import amqp
import pytest

from lianxin import config, topology
from lianxin.topology import CLASSIC, QUORUM


def by_name(queue_type):
    return {q.name: q.arguments for q in topology.queues(queue_type)}


def test_quorum_queues_carry_the_delivery_limit_and_safe_dead_lettering():
    args = by_name(QUORUM)
    assert args["reporting.events"] == {
        "x-queue-type": "quorum", "x-delivery-limit": topology.DELIVERY_LIMIT,
        "x-dead-letter-exchange": "lianxin.dlx", "x-dead-letter-routing-key": "reporting.events",
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    assert args["reporting.events.dead"] == {"x-queue-type": "quorum"}
    assert args["reporting.events.retry.15s"] == {
        "x-queue-type": "quorum", "x-message-ttl": 15000,
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "reporting.events",
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


def test_classic_queues_keep_the_arguments_they_always_had():
    args = by_name(CLASSIC)
    assert args["membership.intake"] == {"x-dead-letter-exchange": "lianxin.dlx",
                                         "x-dead-letter-routing-key": "membership.intake"}
    assert args["membership.intake.dead"] == {}
    assert args["membership.intake.retry.1s"] == {"x-message-ttl": 1000, "x-dead-letter-exchange": "",
                                                  "x-dead-letter-routing-key": "membership.intake"}


def test_every_queue_of_every_subscription_is_there_with_its_bindings():
    queues = {q.name: q for q in topology.queues()}
    for sub in topology.SUBSCRIPTIONS:
        assert queues[sub.queue].bindings == tuple((sub.exchange, k) for k in sub.routing_keys)
        assert queues[sub.dead_letter_queue].bindings == (("lianxin.dlx", sub.queue),)
        for delay in topology.RETRY_DELAYS:
            name = sub.retry_queue(delay)
            assert queues[name].bindings == (("lianxin.retry", name),)
    assert len(queues) == len(topology.SUBSCRIPTIONS) * (2 + len(topology.RETRY_DELAYS))


def test_the_delivery_limit_survives_a_handful_of_lost_connections_but_is_finite():
    assert 10 <= topology.DELIVERY_LIMIT <= 50


# -- which type ------------------------------------------------------------------------------

class Connection:
    """`existing`: queue name -> the type it already has ("classic", "quorum", or
    "odd": another delivery limit, say), which the broker defends."""

    def __init__(self, version="3.10.8", existing=None):
        self.server_properties = {"version": version} if version is not None else {}
        self.existing = dict(existing or {})
        self.channels = []

    def channel(self):
        channel = Channel(self)
        self.channels.append(channel)
        return channel


class Channel:
    def __init__(self, connection):
        self.connection = connection
        self.closed = False
        self.declared, self.bound = {}, []

    def _open(self):
        assert not self.closed, "used a channel the broker closed"

    def exchange_declare(self, name, type, **kwargs):
        self._open()

    def queue_declare(self, name, arguments=None, **kwargs):
        self._open()
        wanted = (arguments or {}).get("x-queue-type", "classic")
        if name in self.connection.existing and self.connection.existing[name] != wanted:
            self.closed = True
            raise amqp.exceptions.PreconditionFailed(
                f"PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '{name}' in vhost '/': "
                f"received the value 'quorum' of type 'longstr' but current is none")
        self.declared[name] = arguments

    def queue_bind(self, queue, exchange, key):
        self._open()
        self.bound.append((queue, exchange, key))

    def close(self):
        self.closed = True


@pytest.mark.parametrize("version, expected", [
    ("3.10.8", (3, 10, 8)), (b"3.12.14", (3, 12, 14)), ("4.0.5+2.g1", (4, 0, 5)), ("3.9", (3, 9)),
    ("", None), (None, None), ("unknown", None)])
def test_the_broker_version_comes_from_the_connection_properties(version, expected):
    assert topology.broker_version(Connection(version).channel()) == expected


@pytest.mark.parametrize("setting, version, expected", [
    ("auto", (3, 10, 8), "quorum"), ("auto", (3, 12, 0), "quorum"), ("auto", (4, 0, 1), "quorum"),
    ("auto", (3, 9, 29), "classic"), ("auto", (3, 8), "classic"), ("auto", None, "classic"),
    (None, (3, 10, 0), "quorum"), ("", (3, 10, 0), "quorum"),
    ("classic", (3, 12, 0), "classic"), ("quorum", (3, 9, 0), "quorum"), ("Quorum", None, "quorum")])
def test_queue_type_from_the_setting_and_the_broker_version(setting, version, expected):
    assert topology.queue_type_for(setting, version) == expected


def test_an_unknown_queue_type_is_refused():
    with pytest.raises(ValueError, match="QUEUE_TYPE"):
        topology.queue_type_for("lazy", (3, 12, 0))


def test_queue_type_setting_from_environment_and_nameko_config(monkeypatch):
    assert config.Settings.from_env({}).queue_type == "auto"
    assert config.Settings.from_env({"QUEUE_TYPE": "classic"}).queue_type == "classic"
    monkeypatch.setenv("QUEUE_TYPE", "classic")
    assert config.from_nameko_config({}).queue_type == "classic"        # follows the environment
    assert config.from_nameko_config({"QUEUE_TYPE": "quorum"}).queue_type == "quorum"
    with pytest.raises(ValueError):
        config.from_nameko_config({"QUEUE_TYPE": "mirrored"})


def test_deploy_config_passes_queue_type_from_the_environment():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "deploy" / "config.yml").read_text()
    assert "QUEUE_TYPE: ${QUEUE_TYPE:auto}" in text


# -- declaring -------------------------------------------------------------------------------

def test_declare_follows_the_broker_and_the_setting(monkeypatch):
    monkeypatch.delenv("QUEUE_TYPE", raising=False)
    channel = Connection("3.10.8").channel()
    assert topology.declare(channel) == []
    assert channel.declared["honours.events"]["x-queue-type"] == "quorum"
    old = Connection("3.8.35").channel()
    topology.declare(old)
    assert "x-queue-type" not in old.declared["honours.events"]
    monkeypatch.setenv("QUEUE_TYPE", "classic")
    forced = Connection("3.12.0").channel()
    topology.declare(forced)
    assert forced.declared["honours.events"] == by_name(CLASSIC)["honours.events"]
    explicit = Connection("3.12.0").channel()
    topology.declare(explicit, "quorum")  # an explicit setting (nameko config) wins over the environment
    assert explicit.declared["honours.events"]["x-queue-type"] == "quorum"


def test_a_queue_of_the_other_type_is_kept_with_one_warning(caplog, monkeypatch):
    monkeypatch.setattr(topology, "_warned", set())
    conn = Connection("3.10.8", existing={"reporting.events": "classic", "reporting.events.retry.4s": "odd"})
    first = conn.channel()
    with caplog.at_level(logging.WARNING, logger="lianxin.topology"):
        kept = topology.declare(first)
    assert kept == ["reporting.events", "reporting.events.retry.4s"]
    # every other queue declared, and every binding made, on fresh channels after each refusal
    declared = {name: args for ch in conn.channels for name, args in ch.declared.items()}
    assert set(declared) == {q.name for q in topology.queues()} - {"reporting.events.retry.4s"}
    assert declared["reporting.events"] == by_name(CLASSIC)["reporting.events"]     # recognised as classic
    bound = {b for ch in conn.channels for b in ch.bound}
    assert ("reporting.events", "lianxin.events", "#") in bound
    assert ("reporting.events.retry.4s", "lianxin.retry", "reporting.events.retry.4s") in bound
    assert all(ch.closed for ch in conn.channels[1:])      # its scratch channels closed again
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = warning.getMessage()
    assert "reporting.events, reporting.events.retry.4s" in text and "inequivalent arg 'x-queue-type'" in text
    assert "as a classic queue and other arguments, not as the quorum queues" in text
    assert "new vhost" in text and "delete" in text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lianxin.topology"):
        assert topology.declare(conn.channel()) == kept       # a reconnect: still kept, not warned again
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_a_quorum_queue_is_kept_when_classic_ones_are_asked_for(caplog, monkeypatch):
    monkeypatch.setattr(topology, "_warned", set())
    conn = Connection("3.12.0", existing={"honours.intake.dead": "quorum"})
    with caplog.at_level(logging.WARNING, logger="lianxin.topology"):
        assert topology.declare(conn.channel(), "classic") == ["honours.intake.dead"]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "1 queue(s) of the topology exist as a quorum queue, not as the classic queues" in warning


def test_ensure_passes_the_queue_type_to_declare(monkeypatch):
    seen = []
    monkeypatch.setattr(topology, "declare", lambda channel, queue_type=None: seen.append(queue_type) or [])
    topology.ensure(Connection().channel(), "guest", "classic")
    assert seen == ["classic"]


# -- definitions.json ------------------------------------------------------------------------

def test_definitions_render_quorum_queues_unless_asked_for_classic():
    doc = topology.definitions("/")
    queues = {q["name"]: q["arguments"] for q in doc["queues"]}
    assert all(args["x-queue-type"] == "quorum" for args in queues.values())
    assert queues["honours.intake"]["x-delivery-limit"] == topology.DELIVERY_LIMIT
    classic = {q["name"]: q["arguments"] for q in topology.definitions("/", CLASSIC)["queues"]}
    assert classic == by_name(CLASSIC)
    assert len(doc["bindings"]) == sum(len(q.bindings) for q in topology.queues())
