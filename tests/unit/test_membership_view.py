"""The membership projection shared by reporting and activities: its public API."""
import random
from datetime import date
from itertools import permutations

import pytest

from lianxin.catalog import CATALOG
from lianxin.errors import InvalidInput, NotFound
from lianxin.membership_view import MembershipView
from tests.unit.test_reporting_domain import (
    D, birthday_due, deleted, event, linked, member, moved, not_admitted, party_org, realistic_history,
    renamed, stage_changed, status_changed, transfer_completed, transfer_issued, unit, unlinked, zones,
)


def view_of(events) -> MembershipView:
    view = MembershipView()
    view.apply(list(events))
    return view


def test_event_types_are_every_event_membership_publishes():
    owned = {e.name for e in CATALOG.events.values() if e.owner == "membership"}
    assert set(MembershipView.EVENT_TYPES) == owned
    assert len(MembershipView.EVENT_TYPES) == len(owned)
    assert all(callable(getattr(MembershipView, f"_on_{t}", None)) for t in MembershipView.EVENT_TYPES)


def test_other_event_types_are_ignored():
    plain = view_of(zones() + [member("m", "ca")])
    other = event("org_unit_created", {"org_unit_id": "x", "name": "x", "level": "grid", "parent_id": "ca"}, "x")
    # An event of a type membership does not publish (same data, another name): nothing happens.
    foreign = type(other)({**other.envelope, "event_type": "activity_recorded"}, other.data)
    assert view_of(zones() + [member("m", "ca"), foreign]).subtree("ca") == plain.subtree("ca") == ["ca"]
    assert plain.apply([foreign]) is None
    assert plain.subtree("ca") == ["ca"]


def test_members_on_follows_transfers_and_leaving_on_their_days():
    history = [member("m", "ca"), member("stays", "ca"), member("late", "cb", admitted_on=D("2018-05-01")),
               transfer_issued("t1", "m", "ca", "cb", "2018-03-01", "2018-05-30"),
               transfer_completed("t1", "m", "ca", "cb", "2018-04-10"),
               status_changed("stays", "ca", "active", "deceased", "2018-06-15")]
    for order in permutations(history):
        view = view_of(zones() + list(order))
        assert view.members_on(["ca"], D("2018-04-09")) == ["m", "stays"]
        assert view.members_on(["cb"], D("2018-04-09")) == []
        assert view.members_on(["ca"], D("2018-04-10")) == ["stays"]
        assert view.members_on(["cb"], D("2018-04-10")) == ["m"]
        assert view.members_on(["cb"], D("2018-05-01")) == ["late", "m"]
        assert view.members_on(["ca"], D("2018-06-14")) == ["stays"]
        assert view.members_on(["ca"], D("2018-06-15")) == []
        assert view.members_on(view.subtree("wgz"), D("2018-06-15")) == ["late", "m"]
        assert view.members_on(["ca", "cb", "ca"], D("2018-04-10")) == ["m", "stays"]   # repeats count once


def test_member_facts_answer_unit_stage_and_membership_on_a_day():
    view = view_of(zones() + [not_admitted("p", "ca", "candidate", "2016-03-01"),
                              stage_changed("p", "ca", "candidate", "probationary", "2017-05-01",
                                            admitted_on="2017-05-01"),
                              transfer_completed("t", "p", "ca", "cb", "2018-01-10"),
                              status_changed("p", "cb", "active", "expelled", "2018-09-01")])
    facts = view.member("p")
    assert facts.name == "p"
    assert [facts.unit_on(D(d)) for d in ("2016-01-01", "2018-01-09", "2018-01-10")] == ["ca", "ca", "cb"]
    assert [facts.stage_on(D(d)) for d in ("2016-03-01", "2017-05-01")] == ["candidate", "probationary"]
    assert [facts.counted_on(D(d)) for d in ("2016-02-29", "2016-03-01", "2018-08-31", "2018-09-01")] \
        == [False, True, True, False]
    assert view.member("nobody") is None


def test_facts_before_the_registration_count_nowhere():
    view = view_of(zones() + [transfer_completed("t", "m", "ca", "cb", "2018-01-10")])
    facts = view.member("m")
    assert facts.name is None and not facts.counted_on(D("2018-12-31"))
    assert view.members_on(["ca", "cb"], D("2018-12-31")) == []
    view.apply([member("m", "ca")])
    assert view.members_on(["ca", "cb"], D("2018-12-31")) == ["m"]


def test_ancestors_use_the_current_tree_after_a_move():
    assert view_of(zones()).ancestors("g") == ["laoshan", "wgz", "za", "ca2"]
    # the move, and the creations of the units it concerns, in every order
    tree = zones()
    concerned = [e for e in tree if e.data["org_unit_id"] in ("ca2", "g", "za", "zb")]
    rest = [e for e in tree if e.data["org_unit_id"] not in ("ca2", "g", "za", "zb")]
    for order in permutations(concerned + [moved("ca2", "za", "zb", "2018-07-01")]):
        view = view_of(rest + list(order))
        assert view.ancestors("g") == ["laoshan", "wgz", "zb", "ca2"]
        assert view.ancestors("ca2") == ["laoshan", "wgz", "zb"]
        assert view.ancestors("laoshan") == []
        assert set(view.subtree("zb")) == {"zb", "cb", "ca2", "g"}
        assert view.root() == "laoshan"


def test_ancestors_include_a_unit_known_only_as_a_parent():
    view = view_of([unit("c1", "community", "wgz"), unit("g1", "grid", "c1")])
    assert view.ancestors("g1") == ["wgz", "c1"]
    assert view.is_known("wgz")
    assert view.unit_name("wgz") is None and view.unit_level("wgz") is None


def test_is_known_and_unknown_units():
    view = view_of(zones() + [unit("zc", "zone", "wgz"), deleted("zc")])
    assert all(view.is_known(u) for u in ("laoshan", "wgz", "za", "g"))
    assert not view.is_known("nowhere")
    assert not view.is_known("zc")                      # deleted
    for query in (view.subtree, view.ancestors):
        with pytest.raises(NotFound):
            query("nowhere")
        with pytest.raises(NotFound):
            query("zc")
    assert "zc" in view.subtree("wgz")                  # its history still counts in its parent


def test_root_needs_exactly_one_top_unit():
    with pytest.raises(InvalidInput):
        MembershipView().root()
    with pytest.raises(InvalidInput):
        view_of(zones() + [unit("other", "district")]).root()


def test_unit_name_and_level():
    renames = [renamed("ca", "ca", "青山社区", "2015-01-01"), renamed("ca", "青山社区", "青山新社区", "2018-01-01")]
    for order in permutations(renames + [unit("ca", "community", "za")]):
        view = view_of(order)
        assert (view.unit_name("ca"), view.unit_level("ca")) == ("青山新社区", "community")
    assert view_of(zones()).unit_name("nowhere") is None


def test_party_orgs_of_a_unit():
    history = [party_org("p-wgz", "working_committee", "wgz"),
               party_org("p-ca", "branch", "ca", parent_id="p-wgz"),
               party_org("p-ca-2", "group", "ca", parent_id="p-ca")]
    for order in permutations(history):
        view = view_of(zones() + list(order))
        assert [o.id for o in view.party_orgs_of("ca")] == ["p-ca", "p-ca-2"]
        assert [(o.kind, o.parent_id) for o in view.party_orgs_of("wgz")] == [("working_committee", None)]
        assert view.party_orgs_of("cb") == [] and view.party_orgs_of("nowhere") == []


def test_a_later_version_of_a_party_org_moves_it_to_its_unit():
    first = party_org("p", "branch", "ca")
    later = event("party_org_created", {**first.envelope["data"], "org_unit_id": "cb"}, "cb",
                  occurred_at=first.occurred_at.replace(hour=23))
    for order in permutations([first, later]):
        view = view_of(zones() + list(order))
        assert view.party_orgs_of("ca") == []
        assert [o.org_unit_id for o in view.party_orgs_of("cb")] == ["cb"]


def test_counts_match_the_reporting_summary_figures():
    view = view_of(zones() + [member("m1", "ca"), member("m2", "g", stage="probationary",
                                                         admitted_on=D("2018-02-01")),
                              linked("l1", "m1", "h1", "ca", "2018-03-01"),
                              unlinked("l1", "m1", "h1", "ca", "2018-09-01"),
                              birthday_due("m1", "ca", "2000-07-01", "2018-07-01")])
    counts = view.count_members(view.subtree("za"), D("2018-06-30"))
    assert counts == {"applicant": 0, "activist": 0, "candidate": 0, "probationary": 1, "full": 1}
    assert view.count_members(["cb"], D("2018-06-30")) == dict.fromkeys(counts, 0)
    assert [view.count_links(view.subtree("wgz"), D(d)) for d in ("2018-02-28", "2018-03-01", "2018-09-01")] \
        == [0, 1, 0]


def test_answers_do_not_depend_on_the_event_order():
    events = realistic_history()
    days = [D(d) for d in ("2016-12-31", "2018-03-15", "2018-12-31")]

    def answers(view):
        return ({(u, d): view.members_on(view.subtree(u), d) for u in ("wgz", "za", "zb", "other") for d in days},
                {u: view.ancestors(u) for u in ("g", "ca2", "cb", "co")},
                {u: [o.id for o in view.party_orgs_of(u)] for u in ("wgz", "ca")})

    expected = answers(view_of(events))
    rng = random.Random(7)
    for _ in range(10):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert answers(view_of(shuffled)) == expected


def test_a_broken_event_leaves_nothing_half_applied():
    view = view_of(zones())
    good = member("m", "ca")
    broken = type(good)(good.envelope, {k: v for k, v in good.data.items() if k != "stage"})
    with pytest.raises(KeyError):
        view.apply([good, broken])
    assert view.members_on(["ca"], date(2018, 12, 31)) == ["m"]
    view.apply([member("m2", "ca")])
    assert view.members_on(["ca"], date(2018, 12, 31)) == ["m", "m2"]
