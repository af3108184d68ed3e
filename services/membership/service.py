"""Membership service: the thin nameko adapter (validate, call handlers, reply)."""
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
from .store import MembershipStore

log = logging.getLogger("lianxin.membership")


class MembershipService(OperationsRpc):
    name = "membership"
    store = StoreProvider(MembershipStore)

    # -- org units and Party organisations -------------------------------------------
    @rpc
    def create_org_unit(self, body: dict) -> dict:
        return reply(lambda: handlers.create_org_unit(self.store, load(COMMANDS["create_org_unit"], body)))

    @rpc
    def move_org_unit(self, unit_id: str, body: dict) -> dict:
        return reply(lambda: handlers.move_org_unit(self.store, unit_id, load(COMMANDS["move_org_unit"], body),
                                                    clock.today()))

    @rpc
    def rename_org_unit(self, unit_id: str, body: dict) -> dict:
        return reply(lambda: handlers.rename_org_unit(self.store, unit_id, load(COMMANDS["rename_org_unit"], body),
                                                      clock.today()))

    @rpc
    def delete_org_unit(self, unit_id: str) -> dict:
        return reply(lambda: handlers.delete_org_unit(self.store, unit_id, clock.today()))

    @rpc
    def get_org_unit(self, unit_id: str) -> dict:
        return reply(lambda: handlers.get_org_unit(self.store, unit_id))

    @rpc
    def scope_facts(self, unit_ids: list, member_ids: list, link_ids: list) -> dict:
        """Where units, members and household links sit in the tree (the gateway's scope checks)."""
        return reply(lambda: handlers.scope_facts(self.store, unit_ids, member_ids, link_ids))

    @rpc
    def org_unit_children(self, unit_id: str) -> dict:
        return reply(lambda: handlers.org_unit_children(self.store, unit_id))

    @rpc
    def household_chart(self, unit_id: str) -> dict:
        return reply(lambda: handlers.household_chart(self.store, unit_id))

    @rpc
    def create_party_org(self, body: dict) -> dict:
        return reply(lambda: handlers.create_party_org(self.store, load(COMMANDS["create_party_org"], body)))

    @rpc
    def get_party_org(self, org_id: str) -> dict:
        return reply(lambda: handlers.get_party_org(self.store, org_id))

    # -- members -------------------------------------------------------------------------
    @rpc
    def register_member(self, body: dict) -> dict:
        return reply(lambda: handlers.register_member(self.store, load(COMMANDS["register_member"], body),
                                                      clock.today()))

    @rpc
    def get_member(self, member_id: str, unmasked: bool = False) -> dict:
        return reply(lambda: handlers.get_member(self.store, member_id, unmasked))

    @rpc
    def change_stage(self, member_id: str, body: dict) -> dict:
        return reply(lambda: handlers.change_stage(self.store, member_id, load(COMMANDS["change_stage"], body),
                                                   clock.today()))

    @rpc
    def extend_probation(self, member_id: str, body: dict) -> dict:
        return reply(lambda: handlers.extend_probation(self.store, member_id,
                                                       load(COMMANDS["extend_probation"], body), clock.today()))

    @rpc
    def change_status(self, member_id: str, body: dict) -> dict:
        return reply(lambda: handlers.change_status(self.store, member_id, load(COMMANDS["change_status"], body),
                                                    clock.today()))

    @rpc
    def issue_transfer(self, member_id: str, body: dict) -> dict:
        return reply(lambda: handlers.issue_transfer(self.store, member_id, load(COMMANDS["issue_transfer"], body),
                                                     clock.today()))

    @rpc
    def receive_transfer(self, transfer_id: str, body: dict) -> dict:
        return reply(lambda: handlers.receive_transfer(self.store, transfer_id,
                                                       load(COMMANDS["receive_transfer"], body), clock.today()))

    @rpc
    def get_transfer(self, transfer_id: str) -> dict:
        return reply(lambda: handlers.get_transfer(self.store, transfer_id))

    # -- household links --------------------------------------------------------------------
    @rpc
    def link_household(self, body: dict) -> dict:
        return reply(lambda: handlers.link_household(self.store, load(COMMANDS["link_household"], body),
                                                     clock.today()))

    @rpc
    def unlink_household(self, link_id: str, body: dict) -> dict:
        return reply(lambda: handlers.unlink_household(self.store, link_id, load(COMMANDS["unlink_household"], body),
                                                       clock.today()))

    # -- operations ---------------------------------------------------------------------------
    @timer(interval=3600, eager=True)
    def daily(self):
        """Hourly is enough for a daily rule, and it catches up after downtime."""
        counts = handlers.daily(self.store, clock.today())
        if any(counts.values()):
            log.info("daily job: %s", counts)

    @consume("membership.intake")
    def intake(self, events):
        return handlers.intake(self.store, events, clock.today())
