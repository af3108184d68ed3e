"""The reporting model's honours part: collective and individual honours, and
by category, counted by `awarded_on` in the period and the subtree, unless
revoked by the period's end; in any event order."""
import random

from lianxin.catalog import CATALOG
from tests.unit.test_reporting_activities import tree
from tests.unit.test_reporting_domain import D, OCCURRED, YEAR_2018, model_of, moved, twin

# tree(): wgz street (zone za: communities ca, ca2 with grid g; zone zb: community cb); street other: co;
# members m1 (ca), m2 (g), m3 (cb), mo (co).
SHANGHE = "上合组织青岛峰会服务保障工作先进集体"
CATEGORY_IDS = {"先进个人": "xj-gr", "先进集体": "xj-jt", SHANGHE: "external-shanghe"}
NONE = {"collective": 0, "individual": 0, "by_category": {}}


def honours_event(event_type, data, occurred_at=OCCURRED):
    return CATALOG.validate(CATALOG.new_event(event_type, data, source="honours",
                                              org_unit_id=data["org_unit_id"], occurred_at=occurred_at))


def awarded(honour_id, kind, nominee_id, org_unit_id, on, category="先进个人", body="王哥庄街道党工委",
            external=None):
    data = {"honour_id": honour_id, "category_id": CATEGORY_IDS[category], "category_name": category,
            "nominee_kind": kind, "nominee_id": nominee_id, "org_unit_id": org_unit_id, "year": D(on).year,
            "awarded_on": D(on), "awarding_body": body}
    if external is not None:    # None: an event from before the field existed
        data["external"] = external
    return honours_event("honour_awarded", data)


def individual(honour_id, member_id, org_unit_id, on, category="先进个人"):
    return awarded(honour_id, "individual", member_id, org_unit_id, on, category)


def collective(honour_id, org_unit_id, on, category="先进集体", body="王哥庄街道党工委", external=None):
    return awarded(honour_id, "collective", org_unit_id, org_unit_id, on, category, body, external)


def revoked(honour_id, nominee_id, org_unit_id, on, category="先进个人"):
    return honours_event("honour_revoked", {
        "honour_id": honour_id, "category_id": CATEGORY_IDS[category], "nominee_id": nominee_id,
        "org_unit_id": org_unit_id, "revoked_on": D(on), "reason": "违纪"})


def honours(events, unit_id="wgz", period=YEAR_2018, higher=False):
    figures = model_of(events).summary(unit_id, *period)["honours"]
    if not higher:      # most tests have none; the article's test looks at them
        assert figures.pop("from_higher_bodies") == []
    return figures


def history():
    return tree() + [
        individual("h1", "m1", "ca", "2018-03-01"), individual("h2", "m2", "g", "2018-06-01"),
        collective("h3", "cb", "2018-07-01"), collective("h4", "ca2", "2018-12-31"),
        individual("h5", "m1", "ca", "2017-12-31"), collective("h6", "cb", "2019-01-01"),
        individual("h7", "mo", "co", "2018-05-01"), collective("h8", "co", "2018-05-01"),
        collective("h9", "za", "2018-07-20", category=SHANGHE, body="青岛市委、市政府"),
    ]


def test_no_honours_gives_zeros():
    assert honours(tree()) == NONE


def test_honours_counted_by_awarded_on_in_the_period_and_the_subtree_only():
    events = history()
    assert honours(events) == {"collective": 3, "individual": 2,
                               "by_category": {SHANGHE: 1, "先进个人": 2, "先进集体": 2}}
    assert honours(events, "za") == {"collective": 2, "individual": 2,
                                     "by_category": {SHANGHE: 1, "先进个人": 2, "先进集体": 1}}
    assert honours(events, "ca") == {"collective": 0, "individual": 1, "by_category": {"先进个人": 1}}
    assert honours(events, "g") == {"collective": 0, "individual": 1, "by_category": {"先进个人": 1}}
    assert honours(events, "zb") == {"collective": 1, "individual": 0, "by_category": {"先进集体": 1}}
    assert honours(events, "other") == {"collective": 1, "individual": 1, "by_category": {"先进个人": 1, "先进集体": 1}}
    assert honours(events, "laoshan")["collective"] == 4 and honours(events, "laoshan")["individual"] == 3
    assert honours(events, "wgz", (D("2018-01-01"), D("2018-06-30"))) == {
        "collective": 0, "individual": 2, "by_category": {"先进个人": 2}}
    assert honours(events, "wgz", (D("2017-01-01"), D("2017-12-31"))) == {
        "collective": 0, "individual": 1, "by_category": {"先进个人": 1}}
    assert honours(events, "wgz", (D("2019-01-01"), D("2019-12-31"))) == {
        "collective": 1, "individual": 0, "by_category": {"先进集体": 1}}
    # the bounds are inclusive
    assert honours(events, "wgz", (D("2018-07-01"), D("2018-07-01")))["collective"] == 1


def test_a_repeated_award_counts_once():
    events = history()
    again = events + [events[-1], twin(events[-3])]
    assert honours(again) == honours(events)


def test_a_revocation_by_the_periods_end_removes_the_honour():
    events = history() + [revoked("h2", "m2", "g", "2018-09-01")]
    assert honours(events)["individual"] == 1
    assert honours(events)["by_category"]["先进个人"] == 1
    # not yet revoked on the end of an earlier period
    assert honours(events, "wgz", (D("2018-01-01"), D("2018-08-31")))["individual"] == 2
    assert honours(events, "wgz", (D("2018-01-01"), D("2018-09-01")))["individual"] == 1
    # revoked in a later year: the year it was awarded keeps it
    later = history() + [revoked("h3", "cb", "cb", "2019-03-01", category="先进集体")]
    assert honours(later)["collective"] == 3
    assert honours(later, "wgz", (D("2018-01-01"), D("2019-12-31")))["collective"] == 3   # h3 gone, h6 counts
    # a category all of whose honours are revoked is not listed
    only = tree() + [individual("x", "m1", "ca", "2018-03-01"), revoked("x", "m1", "ca", "2018-04-01")]
    assert honours(only) == NONE


def test_honours_follow_the_current_tree():
    events = history() + [moved("ca", "za", "zb", "2018-10-01")]
    assert honours(events, "zb") == {"collective": 1, "individual": 1, "by_category": {"先进个人": 1, "先进集体": 1}}
    assert honours(events, "za")["individual"] == 1


def test_shuffled_event_orders_give_identical_figures():
    events = history() + [revoked("h2", "m2", "g", "2018-09-01"),
                          revoked("h8", "co", "co", "2018-06-01", category="先进集体")]
    periods = [YEAR_2018, (D("2018-01-01"), D("2018-08-31")), (D("2017-01-01"), D("2019-12-31"))]
    units = ("laoshan", "wgz", "za", "zb", "g", "other")
    expected = {(u, p): honours(events, u, p) for u in units for p in periods}
    assert expected[("other", YEAR_2018)] == {"collective": 0, "individual": 1, "by_category": {"先进个人": 1}}
    rng = random.Random(2018)
    for _ in range(30):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert {(u, p): honours(shuffled, u, p) for u in units for p in periods} == expected
    # the revocation before the award it revokes
    assert honours([events[-1]] + events[:-1], "other") == expected[("other", YEAR_2018)]


def test_the_articles_figures():
    """32 先进集体 and 43 先进个人 of the street, and one 上合组织青岛峰会服务保障工作先进集体 from Qingdao."""
    communities = ("ca", "ca2", "g", "cb")
    members = (("m1", "ca"), ("m2", "g"), ("m3", "cb"))
    events = tree() + [
        collective(f"jt{i}", communities[i % 4], f"2018-06-{1 + i % 28:02d}") for i in range(32)
    ] + [
        individual(f"gr{i}", *members[i % 3], f"2018-06-{1 + i % 28:02d}") for i in range(43)
    ] + [collective("shanghe", "wgz", "2018-07-20", category=SHANGHE, body="青岛市委、市政府", external=True)]
    random.Random(618).shuffle(events)
    # The street's own 32 and 43 (the article's 涌现出了32个先进集体、43个先进个人),
    # and the honour from the higher body apart.
    assert honours(events, higher=True) == {
        "collective": 32, "individual": 43, "by_category": {SHANGHE: 1, "先进个人": 43, "先进集体": 32},
        "from_higher_bodies": [{"title": SHANGHE, "awarding_body": "青岛市委、市政府", "nominee_kind": "collective",
                                "count": 1}]}
    assert honours(events, "laoshan", higher=True) == honours(events, higher=True)
