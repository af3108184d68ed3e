"""Inspections service: the thin nameko adapter (validate, call handlers, reply)."""
from __future__ import annotations

import logging

from nameko.rpc import rpc
from nameko.timer import timer

from lianxin import clock
from lianxin.commands import load
from lianxin.nameko import OperationsRpc, StoreProvider, consume
from lianxin.replies import reply

from . import handlers
from .schemas import COMMANDS
from .store import InspectionsStore

log = logging.getLogger("lianxin.inspections")


class InspectionsService(OperationsRpc):
    name = "inspections"
    store = StoreProvider(InspectionsStore)

    # -- checklists and rounds ---------------------------------------------------------
    @rpc
    def create_checklist(self, body: dict) -> dict:
        return reply(lambda: handlers.create_checklist(self.store, load(COMMANDS["create_checklist"], body)))

    @rpc
    def revise_checklist(self, checklist_id: str, body: dict) -> dict:
        return reply(lambda: handlers.revise_checklist(self.store, checklist_id,
                                                       load(COMMANDS["revise_checklist"], body)))

    @rpc
    def open_round(self, body: dict) -> dict:
        return reply(lambda: handlers.open_round(self.store, load(COMMANDS["open_round"], body)))

    @rpc
    def close_round(self, round_id: str, body: dict) -> dict:
        return reply(lambda: handlers.close_round(self.store, round_id, load(COMMANDS["close_round"], body)))

    @rpc
    def record_assessment(self, round_id: str, body: dict) -> dict:
        return reply(lambda: handlers.record_assessment(self.store, round_id,
                                                        load(COMMANDS["record_assessment"], body), clock.today()))

    # -- findings and rectification -------------------------------------------------------
    @rpc
    def raise_finding(self, body: dict) -> dict:
        return reply(lambda: handlers.raise_finding(self.store, load(COMMANDS["raise_finding"], body), clock.today()))

    @rpc
    def decide_finding(self, finding_id: str, body: dict) -> dict:
        return reply(lambda: handlers.decide_finding(self.store, finding_id, load(COMMANDS["decide_finding"], body),
                                             clock.today()))

    @rpc
    def plan_rectification(self, finding_id: str, body: dict) -> dict:
        return reply(lambda: handlers.plan_rectification(self.store, finding_id, load(COMMANDS["plan_rectification"], body),
                                             clock.today()))

    @rpc
    def start_rectification(self, finding_id: str, body: dict) -> dict:
        return reply(lambda: handlers.start_rectification(self.store, finding_id, load(COMMANDS["start_rectification"], body),
                                             clock.today()))

    @rpc
    def submit_rectification(self, finding_id: str, body: dict) -> dict:
        return reply(lambda: handlers.submit_rectification(self.store, finding_id, load(COMMANDS["submit_rectification"], body),
                                             clock.today()))

    @rpc
    def verify_rectification(self, finding_id: str, body: dict) -> dict:
        return reply(lambda: handlers.verify_rectification(self.store, finding_id, load(COMMANDS["verify_rectification"], body),
                                             clock.today()))

    @rpc
    def follow_up(self, finding_id: str, body: dict) -> dict:
        return reply(lambda: handlers.follow_up(self.store, finding_id, load(COMMANDS["follow_up"], body),
                                             clock.today()))

    # -- queries ------------------------------------------------------------------------------
    @rpc
    def get_checklist(self, checklist_id: str) -> dict:
        return reply(lambda: handlers.get_checklist(self.store, checklist_id))

    @rpc
    def get_round(self, round_id: str) -> dict:
        return reply(lambda: handlers.get_round(self.store, round_id, clock.today()))

    @rpc
    def round_ranking(self, round_id: str) -> dict:
        return reply(lambda: handlers.round_ranking(self.store, round_id))

    @rpc
    def round_unit(self, round_id: str, unit_id: str) -> dict:
        return reply(lambda: handlers.round_unit(self.store, round_id, unit_id, clock.today()))

    @rpc
    def get_finding(self, finding_id: str) -> dict:
        return reply(lambda: handlers.get_finding(self.store, finding_id, clock.today()))

    @consume("inspections.events")
    def events(self, events):
        return handlers.apply_events(self.store, events)

    @consume("inspections.intake")
    def intake(self, events):
        return handlers.intake(self.store, events, clock.today())

    @timer(interval=3600, eager=False)
    def daily(self):
        """Rectification warnings (20 and 10 days before, and overdue), each once."""
        sent = handlers.daily(self.store, clock.today())
        if sent:
            log.info("daily job: %d rectification warnings", sent)
