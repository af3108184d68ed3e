"""nameko extensions: the service's store and relay, batch consumers, metrics."""
from __future__ import annotations

import logging

from eventlet.event import Event as GreenEvent
from nameko.extensions import DependencyProvider, Entrypoint, SharedExtension

from .. import audit, broker_ssl, heap, metrics, topology
from ..config import from_nameko_config
from ..consumer import BatchConsumer
from ..log_redaction import install_log_redaction
from ..publisher import ConfirmPublisher
from ..relay import OutboxRelay
from ..store import ServiceDb, client_for, insert_many_new, ping

log = logging.getLogger("lianxin.nameko")


class ServiceResources(SharedExtension):
    """One per service container: its database (with outbox), relay and metrics."""

    def setup(self):
        # Idempotent: dependents call it from their own setup, whose order
        # nameko does not guarantee relative to this one.
        if getattr(self, "settings", None) is not None:
            return
        install_log_redaction()     # no personal data in this process's logs (idempotent)
        self.settings = from_nameko_config(self.container.config)
        self.service = self.container.service_name
        prefix = self.container.config.get("DB_PREFIX") or "lianxin"
        self.client = client_for(self.settings.mongo_uri)
        self.database = self.client[f"{prefix}_{self.service}"]
        self.audit_log = self.client[audit.database_name(prefix)][audit.COLLECTION]
        self.outbox_collections: list[str] = []
        self.indexes: dict[str, list] = {}
        self.outbox_exchanges: dict[str, str] = {}    # collection -> exchange (default lianxin.events)
        self.relay: OutboxRelay | None = None
        self._db: ServiceDb | None = None
        self._relay_thread = None

    def register(self, outbox_collections, indexes, outbox_exchanges=None) -> None:
        self.outbox_collections.extend(c for c in outbox_collections if c not in self.outbox_collections)
        self.outbox_exchanges.update(outbox_exchanges or {})
        for name, specs in indexes.items():
            self.indexes.setdefault(name, []).extend(specs)

    @property
    def db(self) -> ServiceDb:
        if self._db is None:
            notify = (lambda *args: self.relay.notify(*args)) if self.outbox_collections else None
            self._db = ServiceDb(self.database, self.outbox_collections, notify)
        return self._db

    def start(self):
        heap.keep_long_lived_objects_out_of_collections()
        metrics.serve(self.settings.metrics_port)
        self.db.ensure_indexes(self.indexes)
        self.db["rejections"].create_index("rejected_at")
        if self.outbox_collections:
            publisher = ConfirmPublisher(self.settings.amqp_uri, connect_retries=1,
                                         ssl=broker_ssl.options(self.container.config, uri=self.settings.amqp_uri),
                                         queue_type=self.settings.queue_type)
            self.relay = OutboxRelay(self.service, self.db, publisher, exchanges=self.outbox_exchanges)
            self._relay_thread = self.container.spawn_managed_thread(self.relay.run)

    def stop(self):
        if self.relay is not None:
            self.relay.stop()
            if self._relay_thread is not None:
                self._relay_thread.wait()
            self.relay.publisher.close()

    def kill(self):
        if self.relay is not None:
            self.relay.stop()

    def record_intake(self, queue: str, events: list, results: list) -> None:
        """The audit log's entries for a batch of intake writes. A failure is
        logged and counted, never raised: the writes themselves are done."""
        try:
            entries = audit.intake_entries(queue, events, results)
            if entries:
                self.audit_log.insert_many(entries, ordered=False)
                metrics.AUDIT_WRITES.labels("intake").inc(len(entries))
        except Exception:  # noqa: BLE001 - see above
            metrics.AUDIT_FAILURES.inc()
            log.exception("audit entries of %d intake events from %s not written", len(events), queue)

    def record_rejections(self, rejections: list[dict]) -> None:
        insert_many_new(self.db["rejections"], rejections)

    def healthy(self) -> dict:
        return {"store": ping(self.client),
                "relay": self.relay is None or self.relay.last_error is None or self.relay._healthy}


class MetricsEndpoint(DependencyProvider):
    """Serves /metrics on METRICS_PORT for a service that has no store."""

    def setup(self):
        install_log_redaction()     # the gateway has no ServiceResources: same guarantee

    def start(self):
        metrics.serve(from_nameko_config(self.container.config).metrics_port)

    def get_dependency(self, worker_ctx):
        return metrics


class StoreProvider(DependencyProvider):
    """Hands each worker the service's domain-language store.

    `store_cls` is a plain class in the service's store.py, built as
    `store_cls.from_config(db, config)` if it has that, else `store_cls(db)`;
    its OUTBOX_COLLECTIONS, OUTBOX_EXCHANGES (collection -> exchange its
    events go to; default lianxin.events) and INDEXES say what to prepare at start.
    """
    resources = ServiceResources()

    def __init__(self, store_cls):
        self.store_cls = store_cls

    def setup(self):
        self.resources.setup()
        self.resources.register(getattr(self.store_cls, "OUTBOX_COLLECTIONS", ()),
                                getattr(self.store_cls, "INDEXES", {}),
                                getattr(self.store_cls, "OUTBOX_EXCHANGES", {}))

    def start(self):
        factory = getattr(self.store_cls, "from_config", None)
        db = self.resources.db
        self._store = factory(db, self.container.config) if factory else self.store_cls(db)
        # Scale-out: a store with an in-memory read model follows what other
        # instances stored (lianxin.follow), every FOLLOW_INTERVAL seconds.
        self._following = getattr(self._store, "FOLLOW_INTERVAL", None) and hasattr(self._store, "follow_once")
        self._follow_stop = GreenEvent()
        self._follow_thread = self.container.spawn_managed_thread(self._follow) if self._following else None

    def _follow(self):
        interval = wait = float(self._store.FOLLOW_INTERVAL)
        while not self._follow_stop.ready():
            try:
                self._store.follow_once()
                wait = interval
            except Exception:  # noqa: BLE001 - polls go on (the store may be down a while): backed off
                log.exception("%s: following other instances' events failed; retrying in %.1fs",
                              self.container.service_name, wait)
                wait = min(wait * 2, 5.0)
            self._follow_stop.wait(wait)

    def stop(self):
        if getattr(self, "_follow_thread", None) is not None:
            self._follow_stop.send(True)
            self._follow_thread.wait()
            self._follow_thread = None

    def kill(self):
        if getattr(self, "_follow_thread", None) is not None:
            self._follow_stop.send(True)
            self._follow_thread = None

    def get_dependency(self, worker_ctx):
        return self._store


class BatchConsume(Entrypoint):
    """Entrypoint: the decorated method receives a batch of validated Events
    and returns one consumer.Result per event (see lianxin.consumer)."""
    resources = ServiceResources()

    def __init__(self, queue: str, batch_size: int = 500, batch_wait: float = 0.0005, **kwargs):
        self.queue = queue
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self._thread = None
        super().__init__(**kwargs)

    def setup(self):
        self.resources.setup()
        sub = topology.subscription(self.queue)
        self.consumer = BatchConsumer(
            self.resources.settings.amqp_uri, sub, self._handle,
            record_rejections=self.resources.record_rejections,
            batch_size=int(self.container.config.get("BATCH_SIZE") or self.batch_size),
            batch_wait=self.batch_wait,
            ssl=broker_ssl.options(self.container.config, uri=self.resources.settings.amqp_uri),
            queue_type=self.resources.settings.queue_type,
        )

    def start(self):
        self._thread = self.container.spawn_managed_thread(self.consumer.run)

    def stop(self):
        self.consumer.stop()
        if self._thread is not None:
            self._thread.wait()

    def kill(self):
        self.consumer.stop()

    def _handle(self, events):
        done = GreenEvent()

        def handle_result(worker_ctx, result, exc_info):
            done.send((result, exc_info))
            return result, exc_info

        self.container.spawn_worker(self, (events,), {}, handle_result=handle_result)
        result, exc_info = done.wait()
        if exc_info is not None:
            raise exc_info[1]
        if self.consumer.sub.intake:
            self.resources.record_intake(self.queue, events, result)
        return result


consume = BatchConsume.decorator
