"""API keys (hashes only, revocable, expiring) and the append-only audit log."""
from datetime import datetime, timedelta, timezone

import mongomock
import pytest

from lianxin import access
from lianxin.access import Unauthenticated
from services.gateway import security
from services.gateway.store import GatewayStore


@pytest.fixture
def store():
    client = mongomock.MongoClient()
    return GatewayStore(client["t_gateway"], client["t_audit"], retention_days=180)


ADMIN = access.BOOTSTRAP.as_record()


def test_a_key_is_stored_as_a_hash_and_its_token_finds_it(store):
    doc, token = store.issue_key("唐家庄书记", access.SECRETARY, "ca", ADMIN)
    stored = store.keys.find_one({"_id": doc["_id"]})
    assert token not in repr(stored) and access.parse_token(token)[1] not in repr(stored)
    principal = store.principal_for(token)
    assert (principal.key_id, principal.role, principal.scope) == (doc["_id"], "secretary", "ca")
    assert "token" not in security.key_view(stored) and "secret_hash" not in security.key_view(stored)


def test_wrong_revoked_and_expired_tokens_find_nothing(store):
    doc, token = store.issue_key("巡诊组", access.INSPECTOR, None, ADMIN)
    key_id, secret = access.parse_token(token)
    forged = f"lx_{key_id}_{'A' * 43}"
    assert store.principal_for(forged) is None
    assert store.principal_for("not-a-token") is None
    expired, old_token = store.issue_key("old", access.VIEWER, None, ADMIN,
                                         expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    assert store.principal_for(old_token) is None
    store.revoke_key(doc["_id"])
    assert store.principal_for(token) is None
    first = store.get_key(doc["_id"])["revoked_at"]
    assert store.revoke_key(doc["_id"])["revoked_at"] == first       # revoking again changes nothing


def test_authentication_names_what_is_wrong(store):
    with pytest.raises(Unauthenticated, match="Bearer"):
        security.authenticate(None, store, "boot")
    with pytest.raises(Unauthenticated, match="Bearer"):
        security.authenticate("Basic dXNlcjpwYXNz", store, "boot")
    with pytest.raises(Unauthenticated, match="unknown, revoked or expired"):
        security.authenticate("Bearer nope", store, "boot")
    assert security.authenticate("Bearer boot", store, "boot") is access.BOOTSTRAP
    # no bootstrap token configured: it is not "" that opens the door
    with pytest.raises(Unauthenticated):
        security.authenticate("Bearer ", store, None)


def test_the_audit_log_appends_and_reads_but_offers_no_way_to_change_an_entry(store):
    store.append_audit({"who": ADMIN, "action": "write", "path": "/api/v1/members"})
    store.append_audit({"who": {"key_id": "k1"}, "action": "unmasked_read", "path": "/api/v1/members/m1"})
    assert [e["action"] for e in store.audit_entries()] == ["unmasked_read", "write"]
    assert [e["path"] for e in store.audit_entries(key_id="k1")] == ["/api/v1/members/m1"]
    assert [e["action"] for e in store.audit_entries(action="write")] == ["write"]
    public = {name for name in dir(GatewayStore) if not name.startswith("_")}
    assert not {n for n in public if "audit" in n} - {"append_audit", "audit_entries"}


def test_audit_entries_expire_after_the_retention_period(store):
    index = store.audit.index_information()["retention"]
    assert index["expireAfterSeconds"] == 180 * 86400
    old = datetime.now(timezone.utc) - timedelta(days=181)
    store.audit.insert_one({"_id": "old", "at": old, "action": "write"})
    store.append_audit({"action": "write"})
    assert [e["_id"] for e in store.audit_entries()] != [] and "old" not in {e["_id"] for e in store.audit_entries()}


def test_a_changed_retention_period_changes_the_index(store):
    again = GatewayStore(store.keys.database, store.audit.database, retention_days=365)
    assert again.audit.index_information()["retention"]["expireAfterSeconds"] == 365 * 86400


def test_an_audit_entry_masks_personal_data_in_the_body():
    class Request:
        method, path, remote_addr = "POST", "/api/v1/members", "10.0.0.9"
        headers = {"X-Forwarded-For": "1.2.3.4", "User-Agent": "curl"}
    entry = security.audit_entry(access.BOOTSTRAP, "write", Request(), "/api/v1/members", 201, {},
                                 {"name": "张三", "id_number": "11010519491231002X", "phone": "13812345678"})
    assert entry["body"]["id_number"] == "110***********002X" and entry["body"]["phone"] == "138****5678"
    assert entry["from"] == {"address": "10.0.0.9", "forwarded_for": "1.2.3.4", "user_agent": "curl"}
    assert entry["who"]["role"] == "admin"


def test_a_gateway_that_may_not_make_indexes_checks_the_retention_the_deployment_made(caplog, monkeypatch):
    # In compose the gateway's MongoDB user may only find and insert in the audit
    # database (deploy/mongo/create-users.js makes the indexes as root).
    from pymongo.errors import OperationFailure

    client = mongomock.MongoClient()
    client["t_audit"]["entries"].create_index("at", name="retention", expireAfterSeconds=180 * 86400)

    def refused(self, *args, **kwargs):
        raise OperationFailure("not authorized on t_audit to execute command createIndexes", code=13)

    monkeypatch.setattr(mongomock.collection.Collection, "create_index", refused)
    GatewayStore(client["t_gateway"], client["t_audit"], retention_days=180)
    assert "retention" not in caplog.text
    GatewayStore(client["t_gateway"], client["t_audit"], retention_days=365)
    assert "retention index is 180 days, not 365 days" in caplog.text
