"""Honours' schemas at the edges: the HTTP bodies and queries it accepts."""
from marshmallow import Schema, fields, pre_load

from lianxin.catalog.honours import CreateCategory, Decide, Nominate, RaiseObjection, RecordExternalHonour  # noqa: F401
from lianxin.fields import Id


class RegisterQuery(Schema):
    org_unit_id = Id(load_default=None)
    year = fields.Integer(load_default=None, validate=lambda y: 1921 <= y <= 2100)
    member_id = Id(load_default=None)

    @pre_load
    def _blank_is_unset(self, data, **_):
        return {k: v for k, v in data.items() if v not in ("", None)}


COMMANDS: dict[str, Schema] = {"create_category": CreateCategory(), "nominate": Nominate(), "decide": Decide(),
                               "object_to": RaiseObjection()}
QUERIES: dict[str, Schema] = {"register": RegisterQuery()}
