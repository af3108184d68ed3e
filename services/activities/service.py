"""Activities service: the thin nameko adapter (validate, call handlers, reply)."""
from __future__ import annotations

import logging

from nameko.rpc import rpc
from nameko.timer import timer

from lianxin import clock
from lianxin.commands import load
from lianxin.nameko import OperationsRpc, StoreProvider, consume
from lianxin.replies import reply

from . import handlers
from .schemas import COMMANDS, QUERIES
from .store import ActivitiesStore

log = logging.getLogger("lianxin.activities")


class ActivitiesService(OperationsRpc):
    name = "activities"
    store = StoreProvider(ActivitiesStore)

    # -- activities ----------------------------------------------------------------------
    @rpc
    def schedule_activity(self, body: dict) -> dict:
        return reply(lambda: handlers.schedule_activity(self.store, load(COMMANDS["schedule_activity"], body)))

    @rpc
    def record_activity(self, activity_id: str, body: dict) -> dict:
        return reply(lambda: handlers.record_activity(self.store, activity_id,
                                                      load(COMMANDS["record_activity"], body), clock.today()))

    @rpc
    def cancel_activity(self, activity_id: str, body: dict) -> dict:
        return reply(lambda: handlers.cancel_activity(self.store, activity_id,
                                                      load(COMMANDS["cancel_activity"], body), clock.today()))

    @rpc
    def get_activity(self, activity_id: str) -> dict:
        return reply(lambda: handlers.get_activity(self.store, activity_id))

    # -- obligations and appraisals --------------------------------------------------------------
    @rpc
    def set_obligation(self, body: dict) -> dict:
        return reply(lambda: handlers.set_obligation(self.store, load(COMMANDS["set_obligation"], body)))

    @rpc
    def compliance(self, query: dict) -> dict:
        def run():
            q = load(QUERIES["period"], query)
            return handlers.compliance(self.store, q["org_unit_id"], q["from_"], q["to"], clock.today())
        return reply(run)

    @rpc
    def grade_member(self, body: dict) -> dict:
        return reply(lambda: handlers.grade_member(self.store, load(COMMANDS["grade_member"], body), clock.today()))

    @rpc
    def appraisal_sheet(self, unit_id: str, query: dict) -> dict:
        return reply(lambda: handlers.appraisal_sheet(self.store, unit_id, load(QUERIES["year"], query)["year"]))

    # -- deeds -------------------------------------------------------------------------------------
    @rpc
    def record_deed(self, body: dict) -> dict:
        return reply(lambda: handlers.record_deed(self.store, load(COMMANDS["record_deed"], body), clock.today()))

    @rpc
    def decide_deed(self, deed_id: str, body: dict) -> dict:
        return reply(lambda: handlers.decide_deed(self.store, deed_id, load(COMMANDS["decide_deed"], body),
                                                  clock.today()))

    @rpc
    def get_deed(self, deed_id: str) -> dict:
        return reply(lambda: handlers.get_deed(self.store, deed_id))

    @rpc
    def weekly_deeds(self, unit_id: str, query: dict) -> dict:
        return reply(lambda: handlers.weekly_deeds(self.store, unit_id, load(QUERIES["week"], query)["week"]))

    # -- cases ---------------------------------------------------------------------------------------
    @rpc
    def open_case(self, body: dict) -> dict:
        return reply(lambda: handlers.open_case(self.store, load(COMMANDS["open_case"], body), clock.today()))

    @rpc
    def start_case(self, case_id: str, body: dict) -> dict:
        return reply(lambda: handlers.start_case(self.store, case_id, load(COMMANDS["start_case"], body),
                                                 clock.today()))

    @rpc
    def resolve_case(self, case_id: str, body: dict) -> dict:
        return reply(lambda: handlers.resolve_case(self.store, case_id, load(COMMANDS["resolve_case"], body),
                                                   clock.today()))

    @rpc
    def close_case(self, case_id: str, body: dict) -> dict:
        return reply(lambda: handlers.close_case(self.store, case_id, load(COMMANDS["close_case"], body),
                                                 clock.today()))

    @rpc
    def get_case(self, case_id: str) -> dict:
        return reply(lambda: handlers.get_case(self.store, case_id))

    # -- events in, and the daily job ---------------------------------------------------------------
    @consume("activities.events")
    def membership_events(self, events):
        return handlers.apply_membership_events(self.store, events)

    @consume("activities.intake")
    def intake(self, events):
        return handlers.intake(self.store, events, clock.today())

    @timer(interval=3600, eager=False)
    def daily(self):
        """Announce obligations missed in periods that have closed (hourly catches up)."""
        announced = handlers.announce_missed(self.store, clock.today())
        if announced:
            log.info("daily job: %d missed obligations announced", announced)
