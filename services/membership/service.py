"""Membership service: the thin nameko adapter (decode, call handlers, reply)."""
from __future__ import annotations

from nameko.rpc import rpc

from lianxin import clock
from lianxin.commands import load
from lianxin.nameko import StoreProvider, consume
from lianxin.replies import reply

from . import handlers
from .schemas import CreateOrgUnit, RegisterMember
from .store import MembershipStore

CREATE_ORG_UNIT, REGISTER_MEMBER = CreateOrgUnit(), RegisterMember()


class MembershipService:
    name = "membership"
    store = StoreProvider(MembershipStore)

    @rpc
    def create_org_unit(self, command: dict) -> dict:
        return reply(lambda: handlers.create_org_unit(self.store, load(CREATE_ORG_UNIT, command)))

    @rpc
    def register_member(self, command: dict) -> dict:
        return reply(lambda: handlers.register_member(self.store, load(REGISTER_MEMBER, command), clock.today()))

    @rpc
    def get_org_unit(self, unit_id: str) -> dict:
        return reply(lambda: {"status": 200, "body": handlers.get_org_unit(self.store, unit_id)})

    @rpc
    def org_unit_children(self, unit_id: str) -> dict:
        return reply(lambda: {"status": 200, "body": handlers.org_unit_children(self.store, unit_id)})

    @rpc
    def get_member(self, member_id: str, unmasked: bool = False) -> dict:
        return reply(lambda: {"status": 200, "body": handlers.get_member(self.store, member_id, unmasked)})

    @rpc
    def rejections(self, limit: int = 100) -> list[dict]:
        return self.store.db.rejections(limit)

    @rpc
    def health(self) -> dict:
        return self.store.db.health()

    @consume("membership.intake")
    def intake(self, events):
        return handlers.intake(self.store, events, clock.today())
