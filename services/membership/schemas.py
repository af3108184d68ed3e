"""Membership's schemas at the edges: the HTTP bodies it accepts.

The commands are the catalog's published language (the intake ones arrive
on lianxin.intake too); this module only names them for the service."""
from marshmallow import Schema

from lianxin.catalog.membership import (  # noqa: F401
    ChangeStage, ChangeStatus, CreateOrgUnit, CreatePartyOrg, ExtendProbation, IssueTransfer, LinkHousehold,
    MoveOrgUnit, ReceiveTransfer, RegisterMember, RenameOrgUnit, UnlinkHousehold,
)


class StageChangeBody(ChangeStage):
    """Over HTTP the member comes from the path."""
    class Meta:
        exclude = ("member_id",)


COMMANDS: dict[str, Schema] = {
    "create_org_unit": CreateOrgUnit(), "move_org_unit": MoveOrgUnit(), "rename_org_unit": RenameOrgUnit(),
    "create_party_org": CreatePartyOrg(), "register_member": RegisterMember(),
    "change_stage": StageChangeBody(), "extend_probation": ExtendProbation(), "change_status": ChangeStatus(),
    "issue_transfer": IssueTransfer(), "receive_transfer": ReceiveTransfer(),
    "link_household": LinkHousehold(), "unlink_household": UnlinkHousehold(),
}
