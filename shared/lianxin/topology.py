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

Queues are quorum queues where the broker supports them (QUEUE_TYPE=auto:
RabbitMQ >= 3.10), with a delivery limit on consumer queues, so a message
that kills its consumer every time ends in <queue>.dead instead of looping;
classic queues otherwise (QUEUE_TYPE=classic, or an older broker). A queue
that already exists as the other type is used as it is, with a warning.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

import amqp

from .catalog import CATALOG
from .config import queue_type as config_queue_type

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


# -- queue types ------------------------------------------------------------------
# Quorum queues (replicated, and they count deliveries) where the broker has
# what the topology needs of them: message TTL (the retry tiers) and
# at-least-once dead-lettering came to quorum queues in RabbitMQ 3.10.
# Classic queues elsewhere, with the arguments they always had.
QUORUM, CLASSIC, AUTO = "quorum", "classic", "auto"
QUORUM_SINCE = (3, 10)

# Deliveries of one message that no consumer settled (it was requeued, or its
# channel or connection closed first) before the broker dead-letters it into
# <queue>.dead. A connection loss returns every unacked delivery of that
# consumer at once (up to its prefetch), so a handful of broker restarts or
# network cuts must stay far below it; a poison message that kills its
# consumer each time must still stop looping. 20 does both (and is RabbitMQ
# 4's own default). lianxin.consumer isolates and then rejects a message
# nearing it, so the reason is recorded (see BatchConsumer.parts).
DELIVERY_LIMIT = 20

_warned: set[str] = set()   # queues already reported as kept with another type (one warning each)


def broker_version(channel) -> tuple[int, ...] | None:
    """The broker's version from its connection.start properties, e.g. (3, 10, 8)."""
    props = getattr(channel.connection, "server_properties", None) or {}
    raw = props.get("version")
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", str(raw or ""))
    return tuple(int(g) for g in match.groups() if g is not None) if match else None


def queue_type_for(setting: str | None, version: tuple[int, ...] | None) -> str:
    """QUEUE_TYPE (auto | quorum | classic) against the broker's version; an
    unknown version is taken as too old (classic always works)."""
    setting = config_queue_type(setting)
    if setting != AUTO:
        return setting
    return QUORUM if version is not None and version[:2] >= QUORUM_SINCE else CLASSIC


def resolve_queue_type(channel, setting: str | None = None) -> str:
    """The queue type to declare on this channel's broker; `setting` None: QUEUE_TYPE from the environment."""
    if setting is None:
        setting = os.environ.get("QUEUE_TYPE")
    return queue_type_for(setting, broker_version(channel))


@dataclass(frozen=True)
class Queue:
    name: str
    arguments: dict
    bindings: tuple[tuple[str, str], ...]   # (exchange, routing key)


def queues(queue_type: str = QUORUM) -> list[Queue]:
    """Every queue of the topology with its arguments for `queue_type` and its bindings."""
    quorum = queue_type == QUORUM
    kind = {"x-queue-type": QUORUM} if quorum else {}
    # Dead-lettering from a quorum queue is at-most-once unless asked otherwise;
    # at-least-once (which needs reject-publish overflow) keeps the message in
    # its queue until the target queue has it, so neither an expired retry nor
    # a message over the delivery limit can be lost on the way.
    safe_dead_letters = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"} if quorum else {}
    found = []
    for sub in SUBSCRIPTIONS:
        found.append(Queue(sub.queue, {
            **kind,
            **({"x-delivery-limit": DELIVERY_LIMIT} if quorum else {}),
            # Broker-side dead letters (a reject, an expired message, the delivery limit) land beside ours.
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": sub.queue,
            **safe_dead_letters,
        }, tuple((sub.exchange, key) for key in sub.routing_keys)))
        found.append(Queue(sub.dead_letter_queue, dict(kind), ((DEAD_LETTER_EXCHANGE, sub.queue),)))
        for delay in RETRY_DELAYS:
            name = sub.retry_queue(delay)
            found.append(Queue(name, {
                **kind, "x-message-ttl": delay * 1000,
                # Expired retries go back to the consumer's own queue.
                "x-dead-letter-exchange": "", "x-dead-letter-routing-key": sub.queue,
                **safe_dead_letters,
            }, ((RETRY_EXCHANGE, name),)))
    return found


def declare(channel, queue_type: str | None = None) -> list[str]:
    """Declare everything on a py-amqp channel. Idempotent.

    `queue_type`: auto | quorum | classic (None: QUEUE_TYPE, else auto). A
    queue that exists with other arguments (the other type, another delivery
    limit) is kept as it is, with a warning: the broker cannot change a
    queue's type in place, and a service that stopped here would be worse
    than one consuming its old classic queue. Returns the queues kept so.
    Such a refusal closes `channel`: pass a scratch one (as `ensure` does).
    """
    kind = resolve_queue_type(channel, queue_type)
    other = CLASSIC if kind == QUORUM else QUORUM
    conn, opened = channel.connection, []

    def fresh():  # the broker closes a channel on a refused declare
        opened.append(conn.channel())
        return opened[-1]

    for ex in EXCHANGES:
        channel.exchange_declare(ex.name, ex.type, durable=True, auto_delete=False,
                                 arguments=ex.arguments or None)
    kept, said = {}, None
    as_other = {q.name: q.arguments for q in queues(other)}
    for queue in queues(kind):
        try:
            channel.queue_declare(queue.name, durable=True, auto_delete=False, arguments=queue.arguments)
        except amqp.exceptions.PreconditionFailed as exc:
            said, channel = said or str(exc), fresh()
            try:  # the broker names only the first argument that differs: is it simply the other type?
                channel.queue_declare(queue.name, durable=True, auto_delete=False, arguments=as_other[queue.name])
                kept[queue.name] = f"a {other} queue"
            except amqp.exceptions.PreconditionFailed:
                channel = fresh()
                kept[queue.name] = "other arguments"
        for exchange, key in queue.bindings:
            channel.queue_bind(queue.name, exchange, key)
    for scratch in opened:
        _close(scratch)
    _warn_kept(kept, kind, said)
    return list(kept)


def _warn_kept(kept: dict[str, str], kind: str, said: str | None) -> None:
    new = {name: found for name, found in kept.items() if name not in _warned}
    if not new:
        return
    _warned.update(new)
    found = " and ".join(sorted(set(new.values())))
    log.warning(
        "%d queue(s) of the topology exist as %s, not as the %s queues this process declares, and are "
        "used as they are: %s (the broker: %s). To migrate: stop the services, let these queues drain "
        "(or move their messages away), delete them and start again; or deploy on a new vhost. See "
        "docs/operations.md", len(new), found, kind, ", ".join(new), said)


class TopologyMissing(RuntimeError):
    """Part of the topology is absent and this account may not declare it."""


def missing(channel) -> list[str]:
    """Exchanges and queues of the topology that do not exist (passive
    declares, which need no permission). Uses its own channels: a missing
    one closes the channel it was asked on."""
    conn = channel.connection
    probe = conn.channel()
    absent = []
    names = [("exchange", ex.name) for ex in EXCHANGES] + [("queue", q.name) for q in queues()]
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


def ensure(channel, user: str | None, queue_type: str | None = None) -> None:
    """Make sure the whole topology exists before anything is published.

    An account that may declare it (broker_accounts.may_declare_topology)
    declares it, idempotently, as `declare` does (with `queue_type`). A service's own account
    may not: it checks every exchange and queue passively and refuses to go
    on (TopologyMissing) when one is absent, rather than publish into a
    broker where events would be dropped (DESIGN.md rule 3).
    """
    from .broker_accounts import may_declare_topology

    if may_declare_topology(user):
        scratch = channel.connection.channel()
        try:
            declare(scratch, queue_type)
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


def definitions(vhost: str = "/", queue_type: str = QUORUM) -> dict:
    """The topology as a RabbitMQ definitions document (deploy/rabbitmq). Quorum
    queues by default: the broker that loads it (docker-compose's) has them."""
    exchanges = [{"name": ex.name, "vhost": vhost, "type": ex.type, "durable": True,
                  "auto_delete": False, "internal": False, "arguments": ex.arguments} for ex in EXCHANGES]
    found = queues(CLASSIC if queue_type == CLASSIC else QUORUM)
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": exchanges,
        "queues": [{"name": q.name, "vhost": vhost, "durable": True, "auto_delete": False,
                    "arguments": q.arguments} for q in found],
        "bindings": [{"source": exchange, "vhost": vhost, "destination": q.name, "destination_type": "queue",
                      "routing_key": key, "arguments": {}} for q in found for exchange, key in q.bindings],
    }
