"""Membership's schemas at the edges: the HTTP bodies it accepts.

The commands are the catalog's published language (intake uses them too)."""
from lianxin.catalog.membership import CreateOrgUnit, RegisterMember  # noqa: F401
