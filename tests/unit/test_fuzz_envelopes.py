"""Property-based fuzzing of the intake path, no broker: what a delivery's body
becomes in BatchConsumer.process (validation, then the owning service's
intake handler over a real store on the embedded database).

Inputs: random bytes (non-UTF-8 included), random JSON, deep nesting, and
valid envelopes of every intake command of the catalog mutated: fields
dropped, values of the wrong type, huge and odd unicode strings, wrong
schema_version, bad dates, other event types. The properties:

- every delivery is settled: ok or duplicate (applied), retry, or rejected
  with a reason; a rejection names what is wrong (errors by field) unless
  the handler refused it by a rule (then the reason says which);
- never an unclassified exception: nothing reaches the consumer's catch-all
  ("unreadable message: TypeError ..."), nothing escapes `process`;
- a rejected or retried delivery leaves the store exactly as it was.
"""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from lianxin import topology
from lianxin.catalog import CATALOG
from lianxin.commands import load, no_wait
from lianxin.consumer import DUPLICATE, OK, REJECT, RETRY, BatchConsumer, Delivery
from lianxin.store import ServiceDb, insert_many_new
from services.activities import handlers as activities
from services.activities.schemas import COMMANDS as ACTIVITIES
from services.honours import handlers as honours
from services.honours.store import HonoursStore
from services.inspections import handlers as inspections
from services.inspections.schemas import COMMANDS as INSPECTIONS
from services.inspections.store import InspectionsStore
from services.membership import handlers as membership
from tests.conftest import budget
from tests.support.fakes import fresh_database, membership_store
from tests.support.fingerprint import database_fingerprint
from tests.unit.test_activities_handlers import new_store as activities_store
from tests.unit.test_activities_rules import world as activities_world
from tests.unit.test_consumer import FakePublisher
from tests.unit.test_honours_rules import world as honours_world
from tests.unit.test_reporting_domain import zones

TODAY = date(2018, 12, 31)
UNEXPECTED = re.compile(r"^(?:gave up after \d+ attempts: )?[A-Z]\w*(?:Error|Exception|Failure)\b")
CHECKLIST = [{"item": "三会一课", "max_score": 30}, {"item": "主题党日", "max_score": 20}]

# One valid body per intake command, against the stores below (their units and members).
SAMPLES = {
    "member_registered": {"name": "张三", "gender": "male", "birth_date": "1970-01-02", "org_unit_id": "ca",
                          "stage": "full", "admitted_on": "1995-07-01", "id_number": "11010519491231002X",
                          "phone": "13812345678"},
    "household_linked": {"member_id": "m0", "household_id": "h1", "address": "唐家庄村1号", "linked_on": "2018-06-01"},
    "member_stage_changed": {"member_id": "a0", "stage": "activist", "effective_on": "2018-06-01"},
    "deed_recorded": {"member_id": "f1", "done_on": "2018-06-01", "category": "帮扶", "description": "帮独居老人买菜"},
    "activity_held": {"kind": "theme_day", "title": "主题党日", "org_unit_id": "ca", "scheduled_for": "2018-06-01",
                      "held_on": "2018-06-01", "attendee_ids": ["f1", "f2"],
                      "absentees": [{"member_id": "f3", "reason": "外出"}],
                      "speakers": [{"member_id": "f1", "name": "书记", "role": "party_secretary"}]},
    "case_opened": {"kind": "dispute", "org_unit_id": "ca", "opened_on": "2018-06-01", "summary": "邻里纠纷"},
    "case_resolved": {"case_id": "k1", "resolved_on": "2018-06-10", "outcome": "调解成功"},
    "assessment_recorded": {"round_id": "r1", "org_unit_id": "cb", "inspected_on": "2018-06-02",
                            "scores": {"三会一课": 25, "主题党日": 18},
                            "findings": [{"item": "三会一课", "severity": "low", "description": "记录不全"}]},
    "rectification_submitted": {"finding_id": "fd1", "submitted_on": "2018-06-20", "evidence": "已补记录"},
    "honour_awarded": {"title": "优秀共产党员", "nominee_kind": "individual", "nominee_id": "f1",
                       "awarding_body": "青岛市委", "awarded_on": "2018-07-01"},
}


def test_every_intake_command_has_a_sample():
    assert set(SAMPLES) == set(CATALOG.intake)


# -- the stores, each with a little world, and a consumer per intake queue --------------------

def _membership():
    store = membership_store()
    for unit in ({"id": "wgz", "name": "王哥庄街道", "level": "street"},
                 {"id": "ca", "name": "唐家庄社区", "level": "community", "parent_id": "wgz"}):
        membership.create_org_unit(store, _command("create_org_unit", unit))
    for member_id, stage in (("m0", "full"), ("a0", "applicant")):
        body = {"id": member_id, "name": member_id, "gender": "female", "birth_date": "1980-01-01",
                "org_unit_id": "ca", "stage": stage, "stage_since": "2017-01-01"}
        if stage == "full":
            body["admitted_on"] = "2000-07-01"
        membership.register_member(store, _command("register_member", body), TODAY)
    return store, store.db, lambda events: membership.intake(store, events, TODAY)


def _command(name: str, body: dict) -> dict:
    from services.membership.schemas import COMMANDS
    return load(COMMANDS[name], body)


def _activities():
    store = activities_store(None)
    store.apply_membership_events(activities_world())
    activities.open_case(store, load(ACTIVITIES["open_case"], {
        "id": "k1", "kind": "dispute", "org_unit_id": "ca", "opened_on": "2018-06-01", "summary": "纠纷"}),
        TODAY, settle=no_wait)
    return store, store.db, lambda events: activities.intake(store, events, TODAY)


def _inspections():
    store = InspectionsStore(ServiceDb(fresh_database(), InspectionsStore.OUTBOX_COLLECTIONS))
    store.apply_events(zones())
    inspections.open_round(store, load(INSPECTIONS["open_round"], {
        "id": "r1", "name": "第一轮", "scope_org_unit_ids": ["wgz"], "checklist": CHECKLIST,
        "starts_on": "2018-05-01", "ends_on": "2018-12-31", "inspectors": ["insp"]}), settle=no_wait)
    inspections.record_assessment(store, "r1", load(INSPECTIONS["record_assessment"], {
        "org_unit_id": "ca", "inspected_on": "2018-06-01", "scores": {"三会一课": 20, "主题党日": 10},
        "findings": [{"id": "fd1", "item": "三会一课", "severity": "high", "description": "未按时开会"}]}), TODAY)
    inspections.plan_rectification(store, "fd1", load(INSPECTIONS["plan_rectification"], {
        "owner": "唐家庄党支部", "due_on": "2018-07-01", "plan": "补开会议"}), TODAY)
    return store, store.db, lambda events: inspections.intake(store, events, TODAY)


def _honours():
    store = HonoursStore(ServiceDb(fresh_database(), HonoursStore.OUTBOX_COLLECTIONS))
    store.apply_events(honours_world())
    return store, store.db, lambda events: honours.intake(store, events)


class Intake:
    """One BatchConsumer per intake queue, as deployed, over a fake publisher."""

    def __init__(self):
        self.rejections: list[dict] = []
        self.services = {}
        for owner, build in (("membership", _membership), ("activities", _activities),
                             ("inspections", _inspections), ("honours", _honours)):
            _, service_db, handle = build()
            consumer = BatchConsumer("amqp://unused", topology.subscription(f"{owner}.intake"), handle,
                                     record_rejections=self._recorder(service_db), sleep=lambda _: None)
            consumer.publisher = FakePublisher()
            self.services[owner] = (consumer, service_db)

    def _recorder(self, service_db):
        def record(rejections):
            insert_many_new(service_db["rejections"], rejections)     # stored as the service stores them
            self.rejections.extend(rejections)
        return record

    def deliver(self, body: bytes, routing_key: str) -> Delivery:
        """One delivery on the queue the routing key goes to (an unknown key: membership's)."""
        owner = CATALOG.intake[routing_key].owner if routing_key in CATALOG.intake else "membership"
        consumer, service_db = self.services[owner]
        before = database_fingerprint(service_db.db, counted_only=("rejections",))
        before.pop("rejections", None)      # the record of a rejection is its point, not an effect
        delivery = Delivery(tag=1, body=body, headers={}, routing_key=routing_key, redelivered=False)
        consumer.process([delivery])            # must not raise, whatever the body
        after = database_fingerprint(service_db.db, counted_only=("rejections",))
        after.pop("rejections", None)
        result = delivery.result
        assert result is not None and result.outcome in (OK, DUPLICATE, RETRY, REJECT), result
        if result.outcome in (RETRY, REJECT):
            assert isinstance(result.reason, str) and result.reason.strip(), result
            # Not the consumer's catch-all, nor a handler's unexpected exception ("TypeError: ...").
            assert not result.reason.startswith("unreadable message"), (result.reason, body[:300])
            assert not UNEXPECTED.match(result.reason), (result.reason, body[:300])
            assert before == after, ("a refused delivery changed the store", result.reason, body[:300])
        if result.outcome == REJECT:
            assert consumer.publisher.published[-1].routing_key == consumer.sub.queue   # dead-lettered
            assert self.rejections[-1]["reason"] == result.reason
            if delivery.event is None:          # refused by validation: every bad field named
                assert result.errors and all(isinstance(k, str) and v and all(isinstance(m, str) for m in v)
                                             for k, v in result.errors.items()), result
        return delivery


@pytest.fixture(scope="module")
def intake():
    return Intake()


def test_the_samples_are_applied(intake):
    for event_type, data in SAMPLES.items():
        body = envelope(event_type, data)
        result = intake.deliver(json.dumps(body, ensure_ascii=False).encode(), event_type).result
        assert result.outcome in (OK, DUPLICATE), (event_type, result)


# -- the strategies ---------------------------------------------------------------------------

def envelope(event_type: str, data: dict, event_id: str | None = None) -> dict:
    from uuid import uuid4
    return {"event_id": event_id or str(uuid4()), "event_type": event_type, "schema_version": 1,
            "occurred_at": "2018-06-12T09:30:00+08:00", "source": "grid-app",
            "org_unit_id": data.get("org_unit_id", "ca"), "correlation_id": None, "data": dict(data)}


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                max_size=4), max_leaves=12)
ODD_TEXT = st.sampled_from(["", " ", "\x00", "\u202e反转", "𠀀𪚥", "\ud800" "x", "a" * 100_000, "<script>", "'; --",
                            "null", "1e999", "\n\t", "ｆｕｌｌ", "１２３"])
BAD_DATES = st.sampled_from(["2018-02-30", "2018-13-01", "0000-01-01", "9999-12-31", "2018-1-1", "18-01-01",
                             "2018-06-01T00:00:00", "", "today", "２０１８-０６-０１", 20180601, None, [], {}])
BAD_TIMES = st.sampled_from(["2018-06-12T09:30:00", "2018-06-12", "2018-06-12T25:00:00+08:00", "", 0,
                             "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00", "2018-06-12T09:30:00+99:00"])
WRONG = st.one_of(JSON, ODD_TEXT, BAD_DATES, st.integers(min_value=-2**70, max_value=2**70),
                  st.floats(allow_nan=True, allow_infinity=True).map(lambda f: f if f == f else 0.0))
FIELD_VALUES = {"schema_version": st.sampled_from([0, -1, 2, 99, "1", 1.0, 1.5, True, None, 2**63]),
                "occurred_at": BAD_TIMES, "event_id": st.sampled_from(["", "x", "0" * 36, 1, None]),
                "event_type": st.sampled_from(sorted(CATALOG.intake) + ["", "Deed", "deed-recorded",
                                                                         "org_unit_created", "x" * 300]),
                "data": st.one_of(JSON, st.just([]), st.just("data"))}


@st.composite
def mutated(draw) -> tuple[bytes, str]:
    """A valid envelope of some intake type with a few things broken."""
    event_type = draw(st.sampled_from(sorted(SAMPLES)))
    env = envelope(event_type, SAMPLES[event_type], str(draw(st.uuids())))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        where = draw(st.sampled_from(["envelope", "data", "data", "data"]))
        target = env if where == "envelope" or not isinstance(env.get("data"), dict) else env["data"]
        keys = sorted(target) or ["x"]
        key = draw(st.sampled_from(keys + ["unexpected"]))
        action = draw(st.sampled_from(["drop", "wrong", "wrong", "date", "text"]))
        if action == "drop":
            target.pop(key, None)
        elif where == "envelope" and key in FIELD_VALUES and draw(st.booleans()):
            target[key] = draw(FIELD_VALUES[key])
        elif action == "date":
            target[key] = draw(BAD_DATES)
        elif action == "text":
            target[key] = draw(ODD_TEXT)
        else:
            target[key] = draw(WRONG)
    text = json.dumps(env, ensure_ascii=draw(st.booleans()), allow_nan=True)
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1"]))
    try:
        body = text.encode(encoding)
    except UnicodeEncodeError:
        body = text.encode("utf-8", "surrogatepass")
    key = event_type if draw(st.integers(0, 4)) else draw(st.sampled_from(sorted(SAMPLES)))
    return body, key


RAW = st.one_of(
    st.binary(max_size=300),                                                  # not JSON, not UTF-8
    JSON.map(lambda v: json.dumps(v).encode()),                               # JSON, not an envelope
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),  # lone surrogates too
    st.integers(min_value=1, max_value=100_000).map(lambda n: b"[" * n + b"]" * n),   # deep nesting
    st.integers(min_value=1, max_value=100_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from([b"", b"null", b"{}", b"[]", b'"x"', b"1e99999", b"NaN", b"\xef\xbb\xbf{}", b"{" * 3]),
)

SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture]


@settings(max_examples=budget(300), suppress_health_check=SUPPRESS)
@given(raw=RAW, key=st.sampled_from(sorted(CATALOG.intake) + ["deed_recorded", "nope"]))
def test_any_bytes_are_settled_with_a_reason(intake, raw, key):
    delivery = intake.deliver(raw, key)
    assert delivery.result.outcome == REJECT


@settings(max_examples=budget(500), suppress_health_check=SUPPRESS)
@given(case=mutated())
def test_mutated_envelopes_are_applied_or_refused_with_a_reason(intake, case):
    body, key = case
    intake.deliver(body, key)


@settings(max_examples=budget(100), suppress_health_check=SUPPRESS)
@given(event_type=st.sampled_from(sorted(SAMPLES)), text=st.text(min_size=1, max_size=300),
       field=st.sampled_from(["title", "summary", "description", "name", "outcome", "category", "evidence",
                              "address", "household_id", "member_id", "org_unit_id"]))
def test_any_unicode_in_a_text_field_is_applied_or_refused(intake, event_type, text, field):
    data = dict(SAMPLES[event_type])
    assume(field in data)
    data[field] = text
    intake.deliver(json.dumps(envelope(event_type, data), ensure_ascii=False).encode("utf-8", "surrogatepass"),
                   event_type)


# -- regressions found by the fuzzing -----------------------------------------------------

def test_other_messages_under_one_event_id_are_each_listed_as_rejected():
    """Two different bodies under the same (made-up) event_id were one rejection
    record: the second message's reason could not be read back (found by
    tests/integration/test_fuzz_intake.py: some dead letters missing from
    GET /rejections). A redelivery of the same body is still one record."""
    from tests.unit.test_consumer import consumer_for

    consumer, rejections, _ = consumer_for(lambda events: [], queue="membership.intake")
    first, second = (json.dumps({"event_id": "x", "event_type": "member_registered", "data": n}).encode()
                     for n in (1, 2))
    consumer.process([Delivery(1, first, {}, "member_registered", False),
                      Delivery(2, second, {}, "member_registered", False),
                      Delivery(3, first, {}, "member_registered", True)])
    assert [r["event_id"] for r in rejections] == ["x", "x", "x"]
    assert len({r["_id"] for r in rejections}) == 2
    assert rejections[0]["_id"] == rejections[2]["_id"]


def test_a_lone_surrogate_is_refused_naming_the_field_and_its_rejection_is_stored(intake):
    """A "\\ud800" escape in a text field: Python decodes it into a lone surrogate,
    which no store can encode. It was a handler's UnicodeEncodeError (HTTP 500),
    and on intake a rejection record that could not be written, so the delivery
    was never settled and came back for ever, holding up its queue."""
    for text in ("\ud800", "a\udfffb"):
        data = {**SAMPLES["case_opened"], "summary": text}
        body = json.dumps(envelope("case_opened", data)).encode()       # ensure_ascii: the escape
        result = intake.deliver(body, "case_opened").result
        assert result.outcome == REJECT and list(result.errors) == ["data.summary"], result
    body = json.dumps({"event_id": "\ud800", "event_type": "\udfff", "data": {"\ud800": 1}}).encode()
    result = intake.deliver(body, "case_opened").result
    assert result.outcome == REJECT
    assert intake.rejections[-1]["event_id"] == "\\ud800"             # stored as its escape
    # An emoji (a surrogate pair in the escape) is a character: applied.
    body = json.dumps(envelope("case_opened", {**SAMPLES["case_opened"], "summary": "调解 \U0001f600"})).encode()
    assert intake.deliver(body, "case_opened").result.outcome == OK


def test_commands_refuse_a_lone_surrogate_at_the_edge():
    from lianxin.errors import InvalidInput
    from services.membership.schemas import COMMANDS

    with pytest.raises(InvalidInput) as info:
        load(COMMANDS["create_org_unit"], {"name": "\ud800", "level": "street", "tags": {"\udfff": ["x"]}})
    assert set(info.value.errors) == {"name", "tags.\\udfff"}
    assert load(COMMANDS["create_org_unit"], {"name": "街道 \U0001f600", "level": "street"})["name"] == "街道 \U0001f600"
