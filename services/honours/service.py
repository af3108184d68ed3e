"""Honours service: the thin nameko adapter (validate, call handlers, reply)."""
from __future__ import annotations

from nameko.rpc import rpc

from lianxin import clock
from lianxin.commands import load
from lianxin.nameko import OperationsRpc, StoreProvider, consume
from lianxin.replies import reply

from . import handlers
from .schemas import COMMANDS, QUERIES
from .store import HonoursStore


class HonoursService(OperationsRpc):
    name = "honours"
    store = StoreProvider(HonoursStore)

    @rpc
    def create_category(self, body: dict) -> dict:
        return reply(lambda: handlers.create_category(self.store, load(COMMANDS["create_category"], body)))

    @rpc
    def get_category(self, category_id: str) -> dict:
        return reply(lambda: handlers.get_category(self.store, category_id))

    @rpc
    def nominate(self, body: dict) -> dict:
        return reply(lambda: handlers.nominate(self.store, load(COMMANDS["nominate"], body), clock.today()))

    @rpc
    def decide(self, nomination_id: str, body: dict) -> dict:
        return reply(lambda: handlers.decide(self.store, nomination_id, load(COMMANDS["decide"], body),
                                             clock.today()))

    @rpc
    def object_to(self, nomination_id: str, body: dict) -> dict:
        return reply(lambda: handlers.object_to(self.store, nomination_id, load(COMMANDS["object_to"], body),
                                                clock.today()))

    @rpc
    def get_nomination(self, nomination_id: str) -> dict:
        return reply(lambda: handlers.get_nomination(self.store, nomination_id))

    @rpc
    def register(self, query: dict) -> dict:
        def run():
            q = load(QUERIES["register"], query)
            return handlers.register(self.store, q["org_unit_id"], q["year"], q["member_id"])
        return reply(run)

    @consume("honours.events")
    def events(self, events):
        return handlers.apply_events(self.store, events)

    @consume("honours.intake")
    def intake(self, events):
        return handlers.intake(self.store, events)
