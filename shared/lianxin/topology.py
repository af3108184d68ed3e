"""The whole RabbitMQ topology, in one place (DESIGN.md rule 3).

Every process makes sure all of it exists before its first publish, so an
event sent while its consumer is down waits in the consumer's queue. The same
definition renders deploy/rabbitmq/definitions.json for the broker, which
loads it at boot. An account allowed to (development's guest, ops) declares
it; the per-service accounts of broker_accounts.py may not, and only check
it passively (`ensure`): in a deployment the topology is the broker's.

  lianxin.events  (topic)   domain events, routing key = event type
  lianxin.intake  (topic)   envelopes from other systems, routing key = event type;
                            unroutable ones go to its alternate exchange
  lianxin.intake.unrouted (fanout) -> intake.unrouted   (rejected by reporting)
  lianxin.retry   (direct)  -> <queue>.retry.<seconds>  TTL, then back to <queue>
  lianxin.dlx     (direct)  -> <queue>.dead             parked with a reason
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import amqp

from .catalog import CATALOG

log = logging.getLogger("lianxin.topology")

EVENTS_EXCHANGE = "lianxin.events"
INTAKE_EXCHANGE = "lianxin.intake"
UNROUTED_EXCHANGE = "lianxin.intake.unrouted"
UNROUTED_QUEUE = "intake.unrouted"
RETRY_EXCHANGE = "lianxin.retry"
DEAD_LETTER_EXCHANGE = "lianxin.dlx"

# Backoff tiers in seconds. A failing event waits in each tier in turn; the
# sum (~60 s) is the "about a minute" of DESIGN.md rule 7 before rejection.
RETRY_DELAYS = (1, 4, 15, 40)


@dataclass(frozen=True)
class Subscription:
    queue: str
    exchange: str
    routing_keys: tuple[str, ...]
    service: str
    intake: bool = False

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dead"

    def retry_queue(self, delay: int) -> str:
        return f"{self.queue}.retry.{delay}s"


@dataclass(frozen=True)
class Exchange:
    name: str
    type: str
    arguments: dict = field(default_factory=dict)


EXCHANGES = (
    Exchange(EVENTS_EXCHANGE, "topic"),
    Exchange(INTAKE_EXCHANGE, "topic", {"alternate-exchange": UNROUTED_EXCHANGE}),
    Exchange(UNROUTED_EXCHANGE, "fanout"),
    Exchange(RETRY_EXCHANGE, "direct"),
    Exchange(DEAD_LETTER_EXCHANGE, "direct"),
)


def _intake(service: str) -> Subscription:
    return Subscription(f"{service}.intake", INTAKE_EXCHANGE,
                        tuple(CATALOG.intake_owned_by(service)), service, intake=True)


def _events_of(owner: str) -> tuple[str, ...]:
    return tuple(sorted({name for (name, _), et in CATALOG.events.items() if et.owner == owner}))


# Which service consumes what. Reporting takes every domain event ("#").
SUBSCRIPTIONS: tuple[Subscription, ...] = (
    _intake("membership"),
    _intake("activities"),
    # activities keeps its own view of membership (who belongs where, when)
    Subscription("activities.events", EVENTS_EXCHANGE, _events_of("membership"), "activities"),
    _intake("inspections"),
    # inspections: the tree for scopes, and activities' evidence for assessments
    Subscription("inspections.events", EVENTS_EXCHANGE,
                 _events_of("membership") + ("activity_held", "obligation_missed"), "inspections"),
    _intake("honours"),
    # honours decides eligibility from its own read models (no synchronous calls)
    Subscription("honours.events", EVENTS_EXCHANGE,
                 _events_of("membership") + ("member_appraised", "rectification_planned", "rectification_verified",
                                             "finding_reopened"), "honours"),
    Subscription("reporting.events", EVENTS_EXCHANGE, ("#",), "reporting"),
    Subscription(UNROUTED_QUEUE, UNROUTED_EXCHANGE, ("",), "reporting", intake=True),
)


def subscription(queue: str) -> Subscription:
    for sub in SUBSCRIPTIONS:
        if sub.queue == queue:
            return sub
    raise KeyError(f"no subscription declares queue {queue!r}")


def queue_arguments(sub: Subscription) -> dict:
    # Broker-side dead letters (a reject, an expired message) land beside ours.
    return {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": sub.queue}


def declare(channel) -> None:
    """Declare everything on a py-amqp channel. Idempotent."""
    for ex in EXCHANGES:
        channel.exchange_declare(ex.name, ex.type, durable=True, auto_delete=False,
                                 arguments=ex.arguments or None)
    for sub in SUBSCRIPTIONS:
        channel.queue_declare(sub.queue, durable=True, auto_delete=False,
                              arguments=queue_arguments(sub))
        for key in sub.routing_keys:
            channel.queue_bind(sub.queue, sub.exchange, key)
        channel.queue_declare(sub.dead_letter_queue, durable=True, auto_delete=False)
        channel.queue_bind(sub.dead_letter_queue, DEAD_LETTER_EXCHANGE, sub.queue)
        for delay in RETRY_DELAYS:
            name = sub.retry_queue(delay)
            channel.queue_declare(name, durable=True, auto_delete=False, arguments={
                "x-message-ttl": delay * 1000,
                # Expired retries go back to the consumer's own queue.
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": sub.queue,
            })
            channel.queue_bind(name, RETRY_EXCHANGE, name)


class TopologyMissing(RuntimeError):
    """Part of the topology is absent and this account may not declare it."""


def missing(channel) -> list[str]:
    """Exchanges and queues of the topology that do not exist (passive
    declares, which need no permission). Uses its own channels: a missing
    one closes the channel it was asked on."""
    conn = channel.connection
    probe = conn.channel()
    absent = []
    names = [("exchange", ex.name) for ex in EXCHANGES]
    for sub in SUBSCRIPTIONS:
        names += [("queue", sub.queue), ("queue", sub.dead_letter_queue)]
        names += [("queue", sub.retry_queue(d)) for d in RETRY_DELAYS]
    for kind, name in names:
        try:
            if kind == "exchange":
                probe.exchange_declare(name, "topic", passive=True)
            else:
                probe.queue_declare(name, passive=True)
        except amqp.exceptions.NotFound:
            absent.append(name)
            probe = conn.channel()
    _close(probe)
    return absent


def _close(channel) -> None:
    try:
        channel.close()
    except Exception:  # noqa: BLE001 - closing a scratch channel
        pass


def ensure(channel, user: str | None) -> None:
    """Make sure the whole topology exists before anything is published.

    An account that may declare it (broker_accounts.may_declare_topology)
    declares it, idempotently, as `declare` does. A service's own account
    may not: it checks every exchange and queue passively and refuses to go
    on (TopologyMissing) when one is absent, rather than publish into a
    broker where events would be dropped (DESIGN.md rule 3).
    """
    from .broker_accounts import may_declare_topology

    if may_declare_topology(user):
        scratch = channel.connection.channel()
        try:
            declare(scratch)
        except amqp.exceptions.AccessRefused:  # the broker closed `scratch`
            log.info("broker user %r may not declare the topology; checking it instead", user)
        else:
            _close(scratch)
            return
    absent = missing(channel)
    if absent:
        raise TopologyMissing(
            f"the broker lacks {len(absent)} exchanges/queues of the topology (first: {absent[0]}) and user "
            f"{user!r} may not declare them: load deploy/rabbitmq/definitions.json "
            f"(rabbitmqctl import_definitions) or declare them as the ops account")


def backlog(channel) -> dict[str, int]:
    """Messages waiting in every consumer queue and dead-letter queue (passive: declares nothing)."""
    depths = {}
    for sub in SUBSCRIPTIONS:
        for name in (sub.queue, sub.dead_letter_queue):
            try:
                depths[name] = channel.queue_declare(name, passive=True).message_count
            except Exception:  # noqa: BLE001 - a missing queue closes the channel; report and go on
                depths[name] = None
                channel = channel.connection.channel()
    return depths


def definitions(vhost: str = "/") -> dict:
    """The topology as a RabbitMQ definitions document (deploy/rabbitmq)."""
    exchanges, queues, bindings = [], [], []
    for ex in EXCHANGES:
        exchanges.append({"name": ex.name, "vhost": vhost, "type": ex.type, "durable": True,
                          "auto_delete": False, "internal": False, "arguments": ex.arguments})
    for sub in SUBSCRIPTIONS:
        queues.append({"name": sub.queue, "vhost": vhost, "durable": True, "auto_delete": False,
                       "arguments": queue_arguments(sub)})
        bindings += [{"source": sub.exchange, "vhost": vhost, "destination": sub.queue,
                      "destination_type": "queue", "routing_key": key, "arguments": {}}
                     for key in sub.routing_keys]
        queues.append({"name": sub.dead_letter_queue, "vhost": vhost, "durable": True,
                       "auto_delete": False, "arguments": {}})
        bindings.append({"source": DEAD_LETTER_EXCHANGE, "vhost": vhost,
                         "destination": sub.dead_letter_queue, "destination_type": "queue",
                         "routing_key": sub.queue, "arguments": {}})
        for delay in RETRY_DELAYS:
            name = sub.retry_queue(delay)
            queues.append({"name": name, "vhost": vhost, "durable": True, "auto_delete": False,
                           "arguments": {"x-message-ttl": delay * 1000, "x-dead-letter-exchange": "",
                                         "x-dead-letter-routing-key": sub.queue}})
            bindings.append({"source": RETRY_EXCHANGE, "vhost": vhost, "destination": name,
                             "destination_type": "queue", "routing_key": name, "arguments": {}})
    return {"vhosts": [{"name": vhost}], "exchanges": exchanges, "queues": queues, "bindings": bindings}
