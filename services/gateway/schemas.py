"""The gateway's own bodies and queries: API keys and the audit log."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from lianxin.access import ROLES, key_problem
from lianxin.fields import Id, OneOf, Text

AUDIT_ACTIONS = ("write", "unmasked_read", "denied", "intake")


class IssueKey(Schema):
    name = Text(100, required=True, metadata={"description": "who or what holds the key (a person, a system)"})
    role = OneOf(ROLES, required=True)
    scope_unit_id = Id(load_default=None, allow_none=True,
                       metadata={"description": "the org unit whose subtree the key may reach; unset: the whole tree"})
    expires_on = fields.Date(load_default=None, allow_none=True,
                             metadata={"description": "the key stops working at the start of this day (UTC)"})

    @validates_schema
    def _scope(self, data, **_):
        problem = key_problem(data.get("role"), data.get("scope_unit_id"))
        if problem and data.get("role") in ROLES:
            raise ValidationError(problem, "scope_unit_id")


class AuditQuery(Schema):
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None, metadata={"description": "up to the end of this day"})
    key_id = Text(64, load_default=None)
    action = OneOf(AUDIT_ACTIONS, load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))

    @pre_load
    def _blank_is_unset(self, data, **_):
        return {k: v for k, v in data.items() if v not in ("", None)}
