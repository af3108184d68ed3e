"""Publishing with pipelined publisher confirms and unroutable detection.

One confirm round trip per message caps a publisher at ~1,600/s on these
machines (DESIGN.md); here up to `window` messages are in flight and the
broker's (possibly multiple) acks settle them. Every message is published
`mandatory`, so a message no queue would take comes back as basic.return
and is reported as failed, never silently dropped (DESIGN.md rule 3).
"""
from __future__ import annotations

import logging
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import amqp
import kombu

from . import amqp_reads, amqp_writes, broker_ssl, topology  # noqa: F401 - amqp_reads: read-ahead, installed on import

log = logging.getLogger("lianxin.publisher")


@dataclass
class Outgoing:
    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    headers: dict = field(default_factory=dict)


@dataclass
class PublishResult:
    confirmed: list[str] = field(default_factory=list)       # message ids
    failed: dict[str, str] = field(default_factory=dict)     # message id -> reason


class PublishTimeout(Exception):
    pass


class ConfirmPublisher:
    POLL = 0.002  # seconds between looks for more messages while confirms are awaited
    COALESCE = 200  # messages written with one sendall (amqp_writes)

    def __init__(self, amqp_uri: str, window: int = 1000, confirm_timeout: float = 15.0,
                 declare_topology: bool = True, connect_retries: int | None = 3, ssl=None,
                 queue_type: str | None = None):
        self.amqp_uri = amqp_uri
        self.ssl = ssl  # kombu's ssl=; None: from AMQP_SSL (broker_ssl)
        self.queue_type = queue_type  # QUEUE_TYPE of the topology it declares; None: from the environment
        self.window = window
        self.confirm_timeout = confirm_timeout
        self.declare_topology = declare_topology
        self.connect_retries = connect_retries
        self._conn: kombu.Connection | None = None
        self._channel = None
        self._tags: dict[int, str] = {}
        self._next_tag = 1
        self._result: PublishResult | None = None
        self._returned: dict[str, str] = {}
        self._settled_at = 0.0  # last confirm (or start of the publish): the timeout counts from it

    # -- connection ---------------------------------------------------------
    def connect(self) -> None:
        """Connect now (and declare the topology) rather than on the first publish."""
        self._ensure()

    def _ensure(self):
        if self._channel is not None and self._conn is not None and self._conn.connected:
            return self._channel
        self.close()
        conn = broker_ssl.connection(self.amqp_uri, self.ssl, heartbeat=0)
        conn.ensure_connection(max_retries=self.connect_retries, interval_start=0.2,
                               interval_step=0.5, interval_max=2)
        channel = conn.channel()
        if self.declare_topology:
            topology.ensure(channel, conn.userid, self.queue_type)
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._conn, self._channel = conn, channel
        self._tags.clear()
        self._next_tag = 1  # delivery tags restart at 1 on a new channel
        return channel

    def close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    # -- broker callbacks -----------------------------------------------------
    def _settle(self, delivery_tag: int, multiple: bool, reason: str | None):
        self._settled_at = time.monotonic()
        if multiple:
            # _tags holds tags in the (increasing) order they were sent, so the
            # settled ones are a prefix: stop at the first later one.
            tags = []
            for tag in self._tags:
                if tag > delivery_tag:
                    break
                tags.append(tag)
        else:
            tags = [delivery_tag]
        for tag in tags:
            message_id = self._tags.pop(tag, None)
            if message_id is None or self._result is None:
                continue
            # A basic.return precedes the ack of the same message.
            returned = self._returned.pop(message_id, None)
            if reason or returned:
                self._result.failed[message_id] = reason or returned
            else:
                self._result.confirmed.append(message_id)

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, None)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, "nacked by the broker")

    def _on_return(self, exc, exchange, routing_key, message):
        message_id = message.properties.get("message_id")
        reason = f"unroutable: no queue bound for {exchange!r} / {routing_key!r}"
        log.error("publish returned: %s (message %s)", reason, message_id)
        if message_id:
            self._returned[message_id] = reason

    # -- publishing -------------------------------------------------------------
    def publish(self, messages: list[Outgoing],
                more: Callable[[], list[Outgoing]] | None = None) -> PublishResult:
        """Publish and wait for every confirm. Connection errors propagate;
        what was confirmed before them is lost to the caller, so callers treat
        an exception as "nothing confirmed" (republishing is safe: consumers
        are idempotent).

        `more`, if given, is asked for further messages whenever the window
        has room and nothing else is left to send: they go out while earlier
        confirms are still awaited (instead of after them) and are settled in
        the same result. It returns [] when it has nothing (more)."""
        result = PublishResult()
        if not messages:
            return result
        channel = self._ensure()
        self._result = result
        self._returned.clear()
        queue = deque(messages)
        try:
            self._settled_at = time.monotonic()
            while queue or self._tags:
                room = self.window - len(self._tags)
                if queue and room > 0:
                    self._send_some(channel, queue, min(room, self.COALESCE))
                elif not queue and more is not None and room > 0:
                    extra = more()
                    if extra:
                        queue.extend(extra)
                    else:
                        # The broker may hold confirms of persistent messages
                        # until its next disk sync (up to ~200 ms): look for
                        # new messages every few ms meanwhile.
                        self._drain(poll=self.POLL)
                else:
                    self._drain()
        except Exception:
            self.close()
            raise
        finally:
            self._result = None
        return result

    def _send_some(self, channel, queue: deque, most: int) -> None:
        """Up to `most` messages from the queue, written in one go."""
        with amqp_writes.coalesced(self._conn.connection):
            for _ in range(min(most, len(queue))):
                self._send(channel, queue.popleft())

    def _send(self, channel, msg: Outgoing) -> None:
        channel.basic_publish(
            amqp.Message(msg.body, delivery_mode=2, content_type="application/json",
                         content_encoding="utf-8", message_id=msg.message_id,
                         application_headers=msg.headers or None),
            exchange=msg.exchange, routing_key=msg.routing_key, mandatory=True,
        )
        self._tags[self._next_tag] = msg.message_id
        self._next_tag += 1

    def _drain(self, poll: float | None = None):
        """Handle what the broker sends (confirms, returns) for up to `poll`
        seconds, or until something arrives; PublishTimeout once no confirm
        has come for confirm_timeout."""
        waited = time.monotonic() - self._settled_at
        try:
            self._conn.drain_events(timeout=max(0.001, min(poll or self.confirm_timeout,
                                                          self.confirm_timeout - waited)))
        except socket.timeout:
            if time.monotonic() - self._settled_at >= self.confirm_timeout:
                raise PublishTimeout(f"no publisher confirm within {self.confirm_timeout}s "
                                     f"({len(self._tags)} outstanding)")
