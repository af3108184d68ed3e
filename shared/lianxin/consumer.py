"""Batch consumption with failure classification (DESIGN.md rules 4 and 5).

The loop takes up to `batch_size` deliveries (or what arrived until a lull
of `batch_wait` seconds, or within `batch_max_delay`), validates each envelope, hands the valid ones to the
handler in ONE call, and settles every delivery by its outcome:

  ok / duplicate  -> acked
  retry           -> republished to the next backoff tier (<queue>.retry.Ns,
                     which returns it to <queue> after the TTL); after the last
                     tier -> dead-lettered
  reject          -> published to lianxin.dlx (<queue>.dead) with the reason
                     in its headers, recorded as a rejection, then acked

A handler exception is classified too: transient ones (TransientError, the
store or broker unreachable) are retried in place with backoff, then per
event through the tiers; any other exception is isolated by handling the
events one by one, so only the poison event is dead-lettered and the rest
of the batch still applies. Nothing is acked before its effect or its
dead letter is durable, so a crash means redelivery, never loss; handlers
are idempotent, so redelivery means no second effect.

A message that kills its consumer (the process dies, or its connection, in
the handler) is never settled at all. A quorum queue counts such deliveries
(`x-delivery-count`) and dead-letters the message at its limit
(topology.DELIVERY_LIMIT), without a reason of ours. So a message redelivered
that often is suspect: from half the limit on it is handled alone, after the
rest of its batch is settled, and at the limit it is rejected here, with its
reason recorded, before the broker would park it silently (see `parts`).
"""
from __future__ import annotations

import hashlib
import logging
import socket
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import amqp
import kombu
import kombu.exceptions
from pymongo.errors import ConnectionFailure, OperationFailure

from . import amqp_reads, broker_ssl, metrics, topology  # noqa: F401 - amqp_reads: read-ahead, installed on import
from .catalog import CATALOG, InvalidEvent
from .envelope import Event
from .errors import LianxinError, TransientError
from .fields import storable
from .personal_data import redact_json_text
from .publisher import ConfirmPublisher, Outgoing

log = logging.getLogger("lianxin.consumer")

OK, DUPLICATE, RETRY, REJECT = "ok", "duplicate", "retry", "reject"
ATTEMPT_HEADER = "x-lianxin-attempt"
DELIVERY_COUNT_HEADER = "x-delivery-count"  # set by quorum queues: earlier deliveries never settled
TRANSIENT = (TransientError, ConnectionFailure, socket.timeout, ConnectionError)
BROKER_ERRORS = (OSError, ConnectionError, amqp.exceptions.AMQPError, socket.timeout,
                 kombu.exceptions.OperationalError)


@dataclass(frozen=True)
class Result:
    outcome: str
    reason: str | None = None
    errors: dict | None = None

    @classmethod
    def ok(cls):
        return _OK

    @classmethod
    def duplicate(cls):
        return _DUPLICATE

    @classmethod
    def retry(cls, reason: str):
        return cls(RETRY, reason)

    @classmethod
    def reject(cls, reason: str, errors: dict | None = None):
        return cls(REJECT, reason, errors)

    @classmethod
    def from_error(cls, exc: Exception) -> "Result":
        if isinstance(exc, TRANSIENT):
            return cls.retry(_describe(exc))
        errors = exc.errors if isinstance(exc, LianxinError) else None
        return cls.reject(_describe(exc), errors)


_OK = Result(OK)
_DUPLICATE = Result(DUPLICATE)

Handler = Callable[[list[Event]], list[Result]]


def _describe(exc: Exception) -> str:
    if isinstance(exc, LianxinError):
        return exc.detail
    return f"{type(exc).__name__}: {exc}"


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, OperationFailure):
        return exc.has_error_label("TransientTransactionError") or exc.code in (11600, 11602, 91, 189)
    return isinstance(exc, TRANSIENT)


@dataclass
class Delivery:
    tag: int
    body: bytes
    headers: dict
    routing_key: str
    redelivered: bool
    event: Event | None = None
    result: Result | None = None

    @property
    def attempt(self) -> int:
        try:
            return int(self.headers.get(ATTEMPT_HEADER, 0))
        except (TypeError, ValueError):
            return 0

    @property
    def delivery_count(self) -> int:
        """Earlier deliveries of this message that were never settled (0 on a classic queue)."""
        try:
            return int(self.headers.get(DELIVERY_COUNT_HEADER, 0))
        except (TypeError, ValueError):
            return 0

    @property
    def suspect(self) -> bool:
        """Unsettled so often (far more than a few lost connections) that it may be what kills its consumer."""
        return self.delivery_count >= topology.DELIVERY_LIMIT // 2

    @property
    def over_limit(self) -> bool:
        return self.delivery_count >= topology.DELIVERY_LIMIT


def validator_for(subscription: topology.Subscription) -> Callable[[bytes], Event]:
    return CATALOG.validate_intake if subscription.intake else CATALOG.validate


class BatchConsumer:
    def __init__(self, amqp_uri: str, subscription: topology.Subscription, handler: Handler, *,
                 record_rejections: Callable[[list[dict]], None],
                 batch_size: int = 500, batch_wait: float = 0.0005, batch_max_delay: float = 0.004,
                 prefetch: int | None = None,
                 transient_attempts: int = 3, sleep: Callable[[float], None] = time.sleep,
                 validate: Callable[[bytes], Event] | None = None, ssl=None, queue_type: str | None = None):
        self.amqp_uri = amqp_uri
        self.ssl = ssl  # kombu's ssl=; None: from AMQP_SSL (broker_ssl)
        self.queue_type = queue_type  # QUEUE_TYPE (topology.declare); None: from the environment
        self.sub = subscription
        self.handler = handler
        self.record_rejections = record_rejections
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.batch_max_delay = batch_max_delay
        self.prefetch = prefetch or batch_size * 2
        self.transient_attempts = transient_attempts
        self.sleep = sleep
        self.validate = validate or validator_for(subscription)
        self.publisher = ConfirmPublisher(amqp_uri, declare_topology=False, ssl=ssl)
        self._running = False
        self._conn = None
        self._channel = None
        self._buffer: list[Delivery] = []
        self.ready = False  # consuming (for readiness probes and tests)
        self.connection_losses = 0

    # -- lifecycle --------------------------------------------------------------
    def stop(self) -> None:
        self._running = False

    def run(self) -> None:
        """Consume until stop(); reconnect with backoff on broker failures."""
        self._running = True
        backoff = 0.2
        while self._running:
            try:
                self._connect()
                backoff = 0.2
                self._loop()
            except BROKER_ERRORS as exc:
                if not self._running:
                    break
                self.connection_losses += 1
                log.warning("%s: broker connection lost (%s); reconnecting in %.1fs",
                            self.sub.queue, _describe(exc), backoff)
                self.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:  # noqa: BLE001 - a bug here must not stop the service
                # Unacked deliveries return to the queue; back off so a
                # persistent fault does not spin.
                log.exception("%s: consumer failed; reconnecting in %.1fs", self.sub.queue, backoff)
                self.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                self._disconnect()
        self.ready = False

    HEARTBEAT = 30  # seconds; detects a broker that vanished without closing the socket

    def _connect(self) -> None:
        conn = broker_ssl.connection(self.amqp_uri, self.ssl, heartbeat=self.HEARTBEAT)
        conn.ensure_connection(max_retries=1)
        channel = conn.channel()
        topology.ensure(channel, conn.userid, self.queue_type)
        channel.basic_qos(0, self.prefetch, False)
        channel.basic_consume(self.sub.queue, callback=self._on_message)
        self._conn, self._channel = conn, channel
        self._buffer = []
        self.ready = True
        log.info("consuming %s (batch %d, prefetch %d)", self.sub.queue, self.batch_size, self.prefetch)

    def _disconnect(self) -> None:
        self.ready = False
        conn, self._conn, self._channel = self._conn, None, None
        self._buffer = []  # unacked: the broker redelivers them
        self.publisher.close()
        if conn is not None:
            try:
                conn.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def _on_message(self, message: amqp.Message) -> None:
        body = message.body
        if isinstance(body, str):  # py-amqp decodes bodies that declare an encoding
            body = body.encode("utf-8")
        self._buffer.append(Delivery(
            tag=message.delivery_tag, body=body,
            headers=dict(message.properties.get("application_headers") or {}),
            routing_key=message.delivery_info.get("routing_key", ""),
            redelivered=bool(message.delivery_info.get("redelivered")),
        ))

    def _loop(self) -> None:
        while self._running:
            # Sends our heartbeat when due and raises if the broker's are missing.
            self._conn.heartbeat_check()
            try:
                self._conn.drain_events(timeout=0.2)
            except socket.timeout:
                continue
            # Gather a batch: take what keeps arriving until the batch is full,
            # nothing comes for batch_wait (a lull, not a fixed delay), or the
            # first delivery has waited batch_max_delay (a busy process always
            # finds more in the socket, and would otherwise gather for long).
            gather_until = time.monotonic() + self.batch_max_delay
            while len(self._buffer) < self.batch_size and time.monotonic() < gather_until:
                try:
                    self._conn.drain_events(timeout=self.batch_wait)
                except socket.timeout:
                    break
            batch, self._buffer = self._buffer, []
            parts = self.parts(batch) if batch else []
            for part in parts:
                self.process(part)
                if len(parts) == 1:
                    self._channel.basic_ack(max(d.tag for d in part), multiple=True)
                else:  # rare: tags of the parts interleave
                    for d in part:
                        self._channel.basic_ack(d.tag)

    @staticmethod
    def parts(batch: list[Delivery]) -> list[list[Delivery]]:
        """The batch as it is processed and acked: in one part, except that a
        suspect delivery goes alone, after the others are settled, so a message
        that kills its consumer takes no other message down with it again.

        The good messages that died with a poison one in every batch so far are
        suspects too, redelivered with it in the same order. Each is acked as
        soon as it is handled, so those before the poison one are settled when
        it kills the consumer again; the order flips at every redelivery (by the
        highest count, the poison one's), so next time those that came after it
        go first. Only the poison one reaches the limit."""
        alone = [d for d in batch if d.suspect]
        if not alone:
            return [batch]
        if max(d.delivery_count for d in alone) % 2:
            alone.reverse()
        rest = [d for d in batch if not d.suspect]
        return ([rest] if rest else []) + [[d] for d in alone]

    # -- one batch --------------------------------------------------------------
    def process(self, batch: list[Delivery]) -> None:
        """Decide every delivery's outcome and make the non-ack ones durable."""
        valid = []
        for d in batch:
            try:
                d.event = self.validate(d.body)
                if d.over_limit:
                    d.result = Result.reject(f"delivered {d.delivery_count} times without being settled "
                                             f"(a consumer died handling it each time)")
                else:
                    valid.append(d)
            except InvalidEvent as exc:
                d.result = Result.reject(exc.detail, exc.errors)
            except Exception as exc:  # noqa: BLE001 - nothing off the wire may stall the queue
                d.result = Result.reject(f"unreadable message: {_describe(exc)}")
        if valid:
            started = time.perf_counter()
            for d, result in zip(valid, self._handle([d.event for d in valid])):
                d.result = result
            metrics.HANDLER_SECONDS.labels(self.sub.service, self.sub.queue).observe(
                time.perf_counter() - started)
            metrics.BATCH_SIZE.labels(self.sub.service, self.sub.queue).observe(len(valid))
        self._settle(batch)

    def _handle(self, events: list[Event]) -> list[Result]:
        delay = 0.1
        for attempt in range(self.transient_attempts):
            try:
                results = self.handler(events)
                if len(results) != len(events):
                    raise RuntimeError(f"handler returned {len(results)} results for {len(events)} events")
                return results
            except Exception as exc:  # noqa: BLE001 - classified below
                if is_transient(exc):
                    log.warning("%s: transient failure (%s), retry %d", self.sub.queue, _describe(exc), attempt + 1)
                    if attempt + 1 < self.transient_attempts:
                        self.sleep(delay)
                        delay *= 4
                        continue
                    return [Result.retry(_describe(exc))] * len(events)
                if len(events) == 1:
                    log.exception("%s: event %s failed", self.sub.queue, events[0].event_id)
                    return [Result.from_error(exc)]
                log.warning("%s: batch of %d failed (%s); isolating", self.sub.queue, len(events), _describe(exc))
                return [self._handle([e])[0] for e in events]
        raise AssertionError("unreachable")

    def _settle(self, batch: list[Delivery]) -> None:
        outgoing, rejections = [], []
        counts: Counter = Counter()     # (event type, outcome) -> events: one metric update per kind
        for d in batch:
            result = d.result
            if result.outcome == RETRY:
                if d.attempt < len(topology.RETRY_DELAYS):
                    delay = topology.RETRY_DELAYS[d.attempt]
                    outgoing.append(self._republish(d, topology.RETRY_EXCHANGE, self.sub.retry_queue(delay),
                                                    {ATTEMPT_HEADER: d.attempt + 1}))
                    counts[_kind(d), "retried"] += 1
                    continue
                result = d.result = Result.reject(
                    f"gave up after {d.attempt + 1} attempts: {result.reason}", result.errors)
            if result.outcome == REJECT:
                rejection = self._rejection(d)
                rejections.append(rejection)
                outgoing.append(self._republish(d, topology.DEAD_LETTER_EXCHANGE, self.sub.queue, {
                    "x-lianxin-reason": result.reason[:1000],
                    "x-lianxin-queue": self.sub.queue,
                    "x-lianxin-rejected-at": rejection["rejected_at"],
                }))
                counts[_kind(d), "dead_lettered"] += 1
            else:
                counts[_kind(d), result.outcome] += 1
        for (event_type, outcome), n in counts.items():
            metrics.EVENTS.labels(self.sub.service, self.sub.queue, event_type, outcome).inc(n)
        if outgoing:
            published = self.publisher.publish(outgoing)
            if published.failed:
                raise ConnectionError(f"could not park {len(published.failed)} events: "
                                      f"{next(iter(published.failed.values()))}")
        if rejections:
            self.record_rejections(rejections)
            for r in rejections:
                log.warning("%s: rejected %s %s: %s", self.sub.queue, r["event_type"], r["event_id"], r["reason"])

    def _republish(self, d: Delivery, exchange: str, routing_key: str, extra: dict) -> Outgoing:
        headers = dict(d.headers)
        # The queue that delivered it counted its deliveries; elsewhere the count means nothing.
        headers.pop(DELIVERY_COUNT_HEADER, None)
        headers.update(extra)
        headers.setdefault("x-lianxin-routing-key", d.routing_key)
        return Outgoing(exchange, routing_key, d.body, self._message_id(d), headers)

    @staticmethod
    def _message_id(d: Delivery) -> str:
        return d.event.event_id if d.event else hashlib.sha256(d.body).hexdigest()[:32]

    def _rejection(self, d: Delivery) -> dict:
        envelope = d.event.envelope if d.event else None
        event_id = envelope["event_id"] if envelope else _peek(d.body, "event_id")
        event_type = envelope["event_type"] if envelope else (_peek(d.body, "event_type") or d.routing_key)
        # Keyed by the body too: a redelivery of the same message is one rejection,
        # but another message under the same event_id (a producer's retry with other
        # data, or a made-up id on a body that is no envelope) is listed as well,
        # not hidden behind the first one's record.
        body_hash = hashlib.sha256(d.body).hexdigest()
        # What the body said, as far as it can be stored: a lone surrogate
        # ("\\ud800" in the JSON) in any of it made the record unwritable, so the
        # delivery was never settled and came back for ever (found by fuzzing).
        return storable({
            "_id": f"{self.sub.queue}:{event_id}:{body_hash[:16]}" if event_id else f"{self.sub.queue}:{body_hash[:32]}",
            "queue": self.sub.queue,
            "service": self.sub.service,
            "event_id": event_id,
            "event_type": event_type,
            "source": envelope["source"] if envelope else _peek(d.body, "source"),
            "reason": d.result.reason,
            "errors": d.result.errors or {},
            "attempts": d.attempt + 1,
            "rejected_at": datetime.now(timezone.utc).isoformat(),
            # Intake bodies may carry ID numbers and phones: never kept in clear.
            "body": redact_json_text(d.body[:65536].decode("utf-8", "replace")),
        })



def _kind(d: Delivery) -> str:
    return d.event.event_type if d.event else "invalid"


def _peek(body: bytes, key: str):
    """A field of an envelope that failed validation, if it can be read at all."""
    import json
    try:
        value = json.loads(body).get(key)
        return value if isinstance(value, str) else None
    except Exception:  # noqa: BLE001 - best effort for the rejection record
        return None
