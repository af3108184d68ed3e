"""Reporting service: the thin nameko adapter."""
from __future__ import annotations

import logging

from nameko.rpc import rpc
from nameko.timer import timer

from lianxin import clock
from lianxin.commands import load
from lianxin.nameko import OperationsRpc, StoreProvider, consume
from lianxin.replies import reply
from lianxin.topology import UNROUTED_QUEUE

from . import handlers
from .schemas import AsOfQuery, EventsQuery, PublishSnapshot, ReportQuery, SnapshotsQuery
from .store import ReportingStore

log = logging.getLogger("lianxin.reporting")
SUMMARY_QUERY = AsOfQuery()
REPORT_QUERY = ReportQuery()
SNAPSHOTS_QUERY = SnapshotsQuery()
PUBLISH_SNAPSHOT = PublishSnapshot()
EVENTS_QUERY = EventsQuery()


class ReportingService(OperationsRpc):
    name = "reporting"
    store = StoreProvider(ReportingStore)

    @consume("reporting.events")
    def apply_events(self, events):
        return handlers.apply_events(self.store, events)

    @consume(UNROUTED_QUEUE)
    def reject_unrouted(self, events):
        return handlers.reject_unrouted(events)

    @timer(interval=60, eager=True)
    def close_periods(self):
        """Snapshots of the months, quarters and years that have closed."""
        try:
            handlers.close_periods(self.store, clock.today())
        except Exception:  # noqa: BLE001 - the next tick tries again; say why
            log.exception("closing periods failed; will retry")

    @rpc
    def freshness(self) -> dict:
        return reply(lambda: {"status": 200, "body": handlers.freshness(self.store)})

    @rpc
    def summary(self, query: dict) -> dict:
        def run():
            q = load(SUMMARY_QUERY, query)
            return {"status": 200, "body": handlers.summary(self.store, q["org_unit_id"], q["from_"], q["to"],
                                                            q["as_of"])}
        return reply(run)

    @rpc
    def report(self, name: str, query: dict) -> dict:
        return reply(lambda: {"status": 200, "body": handlers.report(self.store, name, load(REPORT_QUERY, query),
                                                                     clock.today())})

    @rpc
    def snapshots(self, query: dict) -> dict:
        return reply(lambda: {"status": 200, "body": handlers.list_snapshots(self.store,
                                                                             load(SNAPSHOTS_QUERY, query))})

    @rpc
    def publish_snapshot(self, body: dict) -> dict:
        return reply(lambda: handlers.publish_snapshot(self.store, load(PUBLISH_SNAPSHOT, body), clock.today()))

    @rpc
    def events(self, query: dict) -> dict:
        return reply(lambda: {"status": 200, "body": handlers.find_events(self.store, load(EVENTS_QUERY, query))})
