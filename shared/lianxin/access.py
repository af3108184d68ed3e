"""Who may do what, where: roles, principals, API keys and org-unit scope.

Pure rules (no nameko, no pymongo), used by the gateway, which is the one
door from HTTP into the services. Everything here fails closed: an unknown
role grants nothing, an unknown family grants nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from .errors import LianxinError

ADMIN = "admin"            # 街道党工委: everything under its street (or the whole tree)
SECRETARY = "secretary"    # 社区党组织书记: its own community subtree, nothing else
INSPECTOR = "inspector"    # 党建巡诊: inspections everywhere in scope, read-only elsewhere
PUBLISHER = "publisher"    # another system: the writes that intake also takes, nothing else
VIEWER = "viewer"          # downstream consumers: reports only, personal data masked
ROLES = (ADMIN, SECRETARY, INSPECTOR, PUBLISHER, VIEWER)

# Endpoint families (services/gateway/guard.py puts every endpoint in one).
MEMBERSHIP, ACTIVITIES, INSPECTIONS, HONOURS = "membership", "activities", "inspections", "honours"
REPORTS = "reports"        # figures: summary and its renderings, table reports, snapshots, freshness
EVENTS = "events"          # the event store (names and facts, no personal data)
OPERATIONS = "operations"  # rejections, metrics, API keys, the audit log
DOCUMENTATION = "documentation"   # the OpenAPI document

READ, WRITE = "read", "write"

# role -> family -> what it may do there. Single endpoints beyond these are
# granted in the gateway's table (a secretary plans its findings' rectification).
GRANTS: dict[str, dict[str, frozenset]] = {
    ADMIN: {f: frozenset({READ, WRITE}) for f in (MEMBERSHIP, ACTIVITIES, INSPECTIONS, HONOURS, REPORTS,
                                                  EVENTS, OPERATIONS, DOCUMENTATION)},
    SECRETARY: {MEMBERSHIP: frozenset({READ, WRITE}), ACTIVITIES: frozenset({READ, WRITE}),
                INSPECTIONS: frozenset({READ}), HONOURS: frozenset({READ}), REPORTS: frozenset({READ}),
                EVENTS: frozenset({READ}), DOCUMENTATION: frozenset({READ})},
    INSPECTOR: {MEMBERSHIP: frozenset({READ}), ACTIVITIES: frozenset({READ}),
                INSPECTIONS: frozenset({READ, WRITE}), HONOURS: frozenset({READ}), REPORTS: frozenset({READ}),
                EVENTS: frozenset({READ}), DOCUMENTATION: frozenset({READ})},
    PUBLISHER: {DOCUMENTATION: frozenset({READ})},
    VIEWER: {REPORTS: frozenset({READ}), DOCUMENTATION: frozenset({READ})},
}

# Roles whose work needs members' ID numbers and phones unmasked (PIPL: only
# the data the work needs); every such read is audited.
SEES_PERSONAL_DATA = frozenset({ADMIN, SECRETARY})
# Roles that must be tied to an org unit (a secretary without a community is a mistake).
NEEDS_SCOPE = frozenset({SECRETARY})


class Unauthenticated(LianxinError):
    status = 401
    title = "Unauthenticated"


class Forbidden(LianxinError):
    status = 403
    title = "Forbidden"


@dataclass(frozen=True)
class Principal:
    """The caller behind a token: a key's id and name, its role and its scope
    (an org unit id; None: the whole tree)."""
    key_id: str
    name: str
    role: str
    scope: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def sees_personal_data(self) -> bool:
        return self.role in SEES_PERSONAL_DATA

    @property
    def everywhere(self) -> bool:
        return self.scope is None

    def may(self, family: str, action: str) -> bool:
        return action in GRANTS.get(self.role, {}).get(family, ())

    def covers(self, unit_path) -> bool:
        """Is the unit with this path (its ancestors, then itself) in scope?"""
        return self.scope is None or (unit_path is not None and self.scope in unit_path)

    def as_record(self) -> dict:
        return {"key_id": self.key_id, "name": self.name, "role": self.role, "scope": self.scope}


# -- API keys -------------------------------------------------------------------------------
# A token is "lx_<key id>_<secret>": the id finds the stored key, the secret
# proves it. Only sha256(secret) is stored; the secret is 256 random bits, so a
# fast hash is as strong as a slow one here (no dictionary to guess from).
_TOKEN = re.compile(r"^lx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def new_token() -> tuple[str, str]:
    """(key id, token) for a new key; the token is shown once and never stored."""
    key_id = secrets.token_hex(8)
    return key_id, f"lx_{key_id}_{secrets.token_urlsafe(32)}"


def parse_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    match = _TOKEN.match(token or "")
    return (match.group(1), match.group(2)) if match else None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def same_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash or "")


def bearer(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or 401 naming what is wrong."""
    if not header:
        raise Unauthenticated("send an API key as 'Authorization: Bearer <token>'")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def is_bootstrap(token: str, bootstrap_token: str | None) -> bool:
    return bool(bootstrap_token) and hmac.compare_digest(token.encode("utf-8"), bootstrap_token.encode("utf-8"))


BOOTSTRAP = Principal(key_id="bootstrap", name="bootstrap admin (LIANXIN_ADMIN_TOKEN)", role=ADMIN, scope=None)


def key_problem(role: str, scope: str | None) -> str | None:
    if role not in ROLES:
        return f"must be one of {', '.join(ROLES)}"
    if role in NEEDS_SCOPE and not scope:
        return f"a {role} key needs scope_unit_id (its community)"
    return None
