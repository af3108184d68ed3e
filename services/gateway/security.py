"""Authentication and audit records of the gateway (plain functions, no nameko)."""
from __future__ import annotations

from lianxin import access
from lianxin.personal_data import redact

AUDIT_BODY_LIMIT = 4096   # characters of a request body kept in its audit entry


def authenticate(authorization: str | None, store, bootstrap_token: str | None) -> access.Principal:
    """The principal behind an Authorization header, or 401 naming what is wrong."""
    token = access.bearer(authorization)
    if access.is_bootstrap(token, bootstrap_token):
        return access.BOOTSTRAP
    principal = store.principal_for(token)
    if principal is None:
        raise access.Unauthenticated("the API key is unknown, revoked or expired")
    return principal


def audit_entry(principal: access.Principal, action: str, request, route: str, status: int,
                target: dict, body: dict | None = None, result_id: str | None = None) -> dict:
    """Who, what, when (added by the store), from where. ID numbers and phones
    in the body are masked: the log records that they were written, not what."""
    entry = {
        "who": principal.as_record(), "action": action, "method": request.method, "path": request.path,
        "route": route, "target": target, "status": status,
        "from": {"address": request.remote_addr, "forwarded_for": request.headers.get("X-Forwarded-For"),
                 "user_agent": (request.headers.get("User-Agent") or "")[:200]},
    }
    if body is not None:
        masked = redact(body)
        text = repr(masked)
        entry["body"] = masked if len(text) <= AUDIT_BODY_LIMIT else {"_truncated": text[:AUDIT_BODY_LIMIT]}
    if result_id is not None:
        entry["result_id"] = result_id
    return entry


def key_view(doc: dict, token: str | None = None) -> dict:
    """An API key as shown to admins: never its hash; the token only when issued."""
    view = {"id": doc["_id"], "name": doc["name"], "role": doc["role"], "scope_unit_id": doc.get("scope"),
            "created_at": _iso(doc.get("created_at")), "created_by": (doc.get("created_by") or {}).get("name"),
            "expires_at": _iso(doc.get("expires_at")), "revoked_at": _iso(doc.get("revoked_at"))}
    if token is not None:
        view["token"] = token
    return view


def audit_view(doc: dict) -> dict:
    view = {k: v for k, v in doc.items() if k not in ("_id",)}
    view["id"] = str(doc["_id"])
    view["at"] = _iso(doc.get("at"))
    return view


def _iso(value):
    if value is None:
        return None
    from datetime import timezone
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
