"""The outbox relay: publishes recorded events with confirms, then clears them.

A write notifies the relay with what it recorded, so events go out at once;
a periodic sweep of the outbox catches whatever a crash, a broker outage or
an unroutable publish left behind. Publishing twice is harmless (consumers
are idempotent); clearing before the confirm would be loss, so it never does.

Events go to lianxin.events by event type, unless their outbox collection is
given another exchange (`exchanges`, from a store's OUTBOX_EXCHANGES: the
gateway's queued HTTP writes go to lianxin.intake as intake envelopes).

The backlog gauges are a true count of the outbox entries (ServiceDb.
outbox_backlog), taken after every sweep (every `sweep_interval` while
healthy) and every `retry_interval` while the broker is unreachable, so they
grow during an outage and fall back to 0 once it is drained.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from datetime import datetime, timezone

from . import metrics, topology
from .envelope import encode
from .publisher import ConfirmPublisher, Outgoing, PublishTimeout
from .store import ServiceDb

log = logging.getLogger("lianxin.relay")


class OutboxRelay:
    def __init__(self, service: str, db: ServiceDb, publisher: ConfirmPublisher, *,
                 sweep_interval: float = 30.0, retry_interval: float = 1.0, batch_size: int = 1000,
                 pipeline: int = 5000, exchanges: dict[str, str] | None = None):
        self.service = service
        self.db = db
        self.publisher = publisher
        # outbox collection -> the exchange its events go to (default: lianxin.events)
        self.exchanges = dict(exchanges or {})
        # While healthy, writes notify the relay and the sweep is only a safety
        # net (it scans the outbox collections); after a failure it runs every
        # retry_interval until the backlog is gone.
        self.sweep_interval = sweep_interval
        self.retry_interval = retry_interval
        self.batch_size = batch_size
        # Most events one publish call takes (the first batch plus what comes
        # while confirms are awaited); their outbox entries are cleared after it.
        self.pipeline = max(pipeline, batch_size)
        self._hints: deque = deque()
        # threading.Event is green under eventlet's monkey patching (nameko).
        self._wakeup = threading.Event()
        self._running = False
        self._healthy = True
        self.last_error: str | None = None

    def notify(self, collection: str, doc_ids: list, events: list[dict]) -> None:
        """Called after a committed write: publish these soon."""
        # Map each event to its document so its outbox entry can be cleared.
        if len(doc_ids) == 1:
            self._hints.extend((collection, doc_ids[0], e) for e in events)
        else:
            self._hints.append(("__sweep__", None, None))
        self._wakeup.set()

    def stop(self) -> None:
        self._running = False
        self._wakeup.set()

    def run(self) -> None:
        """Publish until stop(): on every notify, and by sweeping the outbox."""
        self._running = True
        last_sweep = 0.0
        while self._running:
            sweep = time.monotonic() - last_sweep >= self.sweep_interval or not self._healthy
            was_healthy = self._healthy
            try:
                # Connected before the first write, which would otherwise wait
                # for the connection and the topology's declaration.
                self.publisher.connect()
                # Healthy from here unless a publish fails (_publish says so):
                # then the next round sweeps after retry_interval, not sweep_interval.
                self._healthy = True
                if sweep:
                    last_sweep = time.monotonic()
                    self._hints.clear()  # the sweep sees them all
                    self.publish_pending()
                while self._hints and self._running:
                    self.publish_hints()
            except Exception as exc:  # noqa: BLE001 - the relay must survive outages
                self._healthy = False
                error = f"{type(exc).__name__}: {exc}"
                # said once per failure, not at every retry of a long outage
                (log.debug if not was_healthy and error == self.last_error else log.warning)(
                    "%s relay: %s; events stay in the outbox", self.service, error)
                self.last_error = error
                self._hints.clear()
                self.publisher.close()
            if self._healthy and not was_healthy:
                log.info("%s relay: publishing again (was: %s)", self.service, self.last_error)
            if sweep or not self._healthy or not was_healthy:
                # cheap while healthy (once per sweep); every retry while not,
                # so the backlog is seen growing and, once drained, back at 0
                self.observe_backlog()
            self._wakeup.wait(self.sweep_interval if self._healthy else self.retry_interval)
            self._wakeup.clear()

    # -- publishing -------------------------------------------------------------
    def publish_hints(self) -> int:
        items = []
        while self._hints and len(items) < self.batch_size:
            item = self._hints.popleft()
            if item[0] == "__sweep__":
                self._hints.clear()
                return self.publish_pending()
            items.append(item)
        return self._publish(items, more=self._later_hints(items))

    def _later_hints(self, items: list):
        """Hints that arrive while confirms are awaited join the same publish
        (up to `pipeline` events), so waiting for the broker never stops
        publishing; a sweep request is left for the next round."""
        def more() -> list[Outgoing]:
            taken = []
            while self._hints and len(items) < self.pipeline and self._running:
                if self._hints[0][0] == "__sweep__":
                    break
                item = self._hints.popleft()
                items.append(item)
                taken.append(self._outgoing(item[0], item[2]))
            return taken
        return more

    def publish_pending(self) -> int:
        total = 0
        while True:
            items = self.db.pending_events(self.batch_size)
            if not items:
                return total
            published = self._publish(items)
            total += published
            if published < len(items) or len(items) < self.batch_size:
                return total

    def _publish(self, items: list[tuple], more=None) -> int:
        """items: (collection, doc id, envelope, ...) tuples; `more` may add to them."""
        if not items:
            return 0
        result = self.publisher.publish([self._outgoing(item[0], item[2]) for item in items], more)
        items = [item[:3] for item in items]
        confirmed = set(result.confirmed)
        self.db.mark_published([(c, doc_id, env["event_id"]) for c, doc_id, env in items
                                if env["event_id"] in confirmed])
        counts = Counter((env["event_type"], "confirmed" if env["event_id"] in confirmed else "failed")
                         for _, _, env in items)
        for (event_type, outcome), n in counts.items():     # one metric update per kind, not per event
            metrics.PUBLISHED.labels(self.service, event_type, outcome).inc(n)
        for event_id, reason in result.failed.items():
            log.error("%s relay: event %s not published: %s (kept in the outbox)", self.service, event_id, reason)
        if result.failed:
            self._healthy = False
        return len(confirmed)

    def observe_backlog(self) -> None:
        """The backlog gauges from a count of every pending outbox entry."""
        try:
            count, oldest = self.db.outbox_backlog()
        except Exception as exc:  # noqa: BLE001 - a store outage: the gauges keep their last value
            log.debug("%s relay: backlog not counted: %s", self.service, exc)
            return
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        age = 0.0 if oldest is None else max(0.0, (datetime.now(timezone.utc) - oldest).total_seconds())
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(age)

    def _outgoing(self, collection: str, envelope: dict) -> Outgoing:
        return _outgoing(envelope, self.exchanges.get(collection, topology.EVENTS_EXCHANGE))


def _outgoing(envelope: dict, exchange: str = topology.EVENTS_EXCHANGE) -> Outgoing:
    return Outgoing(exchange, envelope["event_type"], encode(envelope), envelope["event_id"])


__all__ = ["OutboxRelay", "PublishTimeout"]
