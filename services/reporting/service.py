"""Reporting service: the thin nameko adapter."""
from __future__ import annotations

from nameko.rpc import rpc

from lianxin.commands import load
from lianxin.nameko import OperationsRpc, StoreProvider, consume
from lianxin.replies import reply
from lianxin.topology import UNROUTED_QUEUE

from . import handlers
from .schemas import SummaryQuery
from .store import ReportingStore

SUMMARY_QUERY = SummaryQuery()


class ReportingService(OperationsRpc):
    name = "reporting"
    store = StoreProvider(ReportingStore)

    @consume("reporting.events")
    def apply_events(self, events):
        return handlers.apply_events(self.store, events)

    @consume(UNROUTED_QUEUE)
    def reject_unrouted(self, events):
        return handlers.reject_unrouted(events)

    @rpc
    def freshness(self) -> dict:
        return reply(lambda: {"status": 200, "body": handlers.freshness(self.store)})

    @rpc
    def summary(self, query: dict) -> dict:
        def run():
            q = load(SUMMARY_QUERY, query)
            return {"status": 200, "body": handlers.summary(self.store, q["org_unit_id"], q["from_"], q["to"])}
        return reply(run)

