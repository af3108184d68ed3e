"""A ledger of events under faults: what producers saw confirmed, against what
was applied.

Producers publish a deterministic mix of intake events (new members, deeds,
household links, activities held) to lianxin.intake with publisher confirms
and, like any at-least-once producer, publish again whatever was not
confirmed (after a broker outage, a force-closed connection) under the same
event id. The ledger holds every event id a producer saw confirmed.

Applied = what reached the end of the pipeline: reporting's event store
holds the domain event each intake event caused (a new member, deed, link or
activity, whose id is the intake event's id because the bodies carry none).
Lost: a confirmed id with no such event. Applied twice: an id with two or
more (a second effect makes a second domain event with another event id;
the same domain event delivered twice is stored once, by design).
"""
from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from lianxin.envelope import encode
from lianxin.publisher import ConfirmPublisher, Outgoing
from lianxin.topology import INTAKE_EXCHANGE

# intake event type -> (the domain event it causes, the field holding the new entity's id)
EFFECTS = {
    "member_registered": ("member_registered", "member_id"),
    "deed_recorded": ("deed_recorded", "deed_id"),
    "household_linked": ("household_linked", "link_id"),
    "activity_held": ("activity_held", "activity_id"),
}
UNITS = ("c1", "c2")
SEEDED_MEMBERS = 40
DAYS = 7 * 364            # the load's business days: 2018-01-01 to 2024-12-22 (a full member admitted
                          # later would still be on probation, which intake refuses)
DEED_CATEGORIES = ("elderly_care", "environment", "mediation", "help_in_need")


def seed_tree(system) -> None:
    """A street, a zone and two communities, over HTTP (before any fault)."""
    for body in ({"id": "wgz", "name": "王哥庄街道", "level": "street"},
                 {"id": "z1", "name": "第一管区", "level": "zone", "parent_id": "wgz"},
                 {"id": "c1", "name": "唐家庄社区", "level": "community", "parent_id": "z1"},
                 {"id": "c2", "name": "港东社区", "level": "community", "parent_id": "z1"}):
        for _ in range(20):     # a client retries a 503 (the gateway took the broker as down a moment)
            response = system.post("/org-units", body)
            if response.status_code != 503:
                break
            time.sleep(0.5)
        assert response.status_code == 201, response.text


def _envelope(rng: random.Random, event_type: str, data: dict, at: date) -> dict:
    return {"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "event_type": event_type,
            "schema_version": 1, "occurred_at": f"{at.isoformat()}T09:30:00+08:00", "source": "grid-app",
            "org_unit_id": data["org_unit_id"] if "org_unit_id" in data else None, "correlation_id": None,
            "data": data}


def seed_members(seed: int = 7) -> list[dict]:
    """Members the load's deeds, links and activities refer to: registered
    (and known everywhere) before the load starts."""
    rng = random.Random(seed)
    out = []
    for i in range(SEEDED_MEMBERS):
        data = {"id": f"sm{i:03d}", "name": f"党员{i}", "gender": "female" if i % 2 else "male",
                "birth_date": "1975-03-04", "org_unit_id": UNITS[i % 2], "stage": "full",
                "admitted_on": "2001-07-01"}
        out.append(_envelope(rng, "member_registered", data, date(2018, 1, 2)))
    return out


def mixed_load(count: int, seed: int = 11) -> list[dict]:
    """`count` intake envelopes of four kinds, the same for the same seed.
    Up to 16,000 deeds every deed has a member-week of its own (no weekly cap
    in play), so the reports do not depend on the order events are applied in."""
    return list(iter_load(count, seed))


def iter_load(count: int, seed: int = 11, offset: int = 0, step: int = 1):
    """mixed_load's envelopes number offset, offset + step, ... (a producer's share), one at a time."""
    rng = random.Random(f"{seed}:{offset}:{step}")
    start = date(2018, 1, 1)
    for i in range(offset, count, step):
        kind = i % 4
        member = f"sm{(i // 4) % SEEDED_MEMBERS:03d}"
        unit = UNITS[((i // 4) % SEEDED_MEMBERS) % 2]
        # a week further every 160 events, wrapping within 2018-2025 (a long soak would
        # otherwise reach dates in the future, which intake rightly refuses)
        day = start + timedelta(days=(7 * (i // (4 * SEEDED_MEMBERS)) + (i % 3)) % DAYS)
        if kind == 0:
            data = {"name": f"新党员{i}", "gender": "male" if i % 3 else "female", "birth_date": "1990-02-03",
                    "org_unit_id": UNITS[i % 2], "stage": rng.choice(("full", "probationary")),
                    "admitted_on": day.isoformat()}
            yield _envelope(rng, "member_registered", data, day)
        elif kind == 1:
            data = {"member_id": member, "done_on": day.isoformat(), "category": rng.choice(DEED_CATEGORIES),
                    "description": f"为群众办小事 #{i}"}
            yield _envelope(rng, "deed_recorded", data, day)
        elif kind == 2:
            data = {"member_id": member, "household_id": f"h{i:06d}", "address": f"港东路{i}号",
                    "linked_on": day.isoformat()}
            yield _envelope(rng, "household_linked", data, day)
        else:
            data = {"kind": rng.choice(("theme_day", "group_meeting", "party_lesson")), "title": f"活动{i}",
                    "org_unit_id": unit, "held_on": day.isoformat(), "attendee_ids": [member]}
            yield _envelope(rng, "activity_held", data, day)


@dataclass
class Ledger:
    confirmed: dict = field(default_factory=dict)        # event id -> event type
    published: int = 0                                   # publish attempts, resends included
    resent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, envelopes: list[dict], confirmed_ids) -> None:
        ids = set(confirmed_ids)
        with self._lock:
            for env in envelopes:
                if env["event_id"] in ids:
                    self.confirmed[env["event_id"]] = env["event_type"]

    @staticmethod
    def stored_envelopes(events_collection):
        """The creating domain events in reporting's event store (an in-process system)."""
        wanted = sorted(effect for effect, _ in EFFECTS.values())
        for doc in events_collection.find({"event_type": {"$in": wanted}}, {"body": 1, "envelope": 1}):
            yield json.loads(doc["body"]) if "body" in doc else doc["envelope"]

    def verdict(self, events_collection) -> "Verdict":
        return self.verdict_of(self.stored_envelopes(events_collection))

    def verdict_of(self, envelopes) -> "Verdict":
        """Against the creating domain events (envelopes, from wherever they were read)."""
        return self.verdict_of_counts(Counter(filter(None, map(created_entity, envelopes))))

    def verdict_of_counts(self, counts: Counter) -> "Verdict":
        """Against entity id -> how many domain events created it."""
        lost = sorted(i for i in self.confirmed if counts.get(i, 0) == 0)
        doubled = sorted(i for i in self.confirmed if counts.get(i, 0) > 1)
        return Verdict(len(self.confirmed), sum(1 for i in self.confirmed if counts.get(i)), lost, doubled,
                       self.published, self.resent)


def created_entity(envelope: dict) -> str | None:
    """The id of the entity a creating domain event created (None for other events)."""
    key = _CREATED_KEY.get(envelope["event_type"])
    return envelope["data"][key] if key else None


_CREATED_KEY = {effect: key for effect, key in EFFECTS.values()}


@dataclass
class Verdict:
    confirmed: int
    applied: int
    lost: list
    doubled: list
    published: int
    resent: int

    def __str__(self) -> str:
        return (f"confirmed {self.confirmed}, applied {self.applied}, lost {len(self.lost)}, "
                f"applied twice {len(self.doubled)} (publishes {self.published}, resent {self.resent})")


class Producer(threading.Thread):
    """Publishes its envelopes at `rate` per second in small batches; what is
    not confirmed (an error, a nack, a timeout) is published again, same ids,
    until it is, as long as `deadline` allows."""

    def __init__(self, uri: str, envelopes, ledger: Ledger, rate: float, name: str,
                 batch: int = 20, deadline: float = 300.0):
        super().__init__(name=name, daemon=True)
        self.uri, self.envelopes, self.ledger = uri, envelopes, ledger
        self.rate, self.batch, self.deadline = rate, batch, deadline
        self.errors = 0
        self.unconfirmed: list[dict] = []
        self.stopped = False

    def run(self) -> None:
        publisher = ConfirmPublisher(self.uri, connect_retries=1, confirm_timeout=5.0)
        started = time.monotonic()
        give_up = started + self.deadline
        source = iter(self.envelopes)
        sent = 0
        try:
            while not self.stopped:
                pending = list(itertools.islice(source, self.batch))
                if not pending:
                    break
                sent += len(pending)
                first = True
                while pending and time.monotonic() < give_up:
                    with self.ledger._lock:
                        self.ledger.published += len(pending)
                        self.ledger.resent += 0 if first else len(pending)
                    first = False
                    try:
                        result = publisher.publish([Outgoing(INTAKE_EXCHANGE, e["event_type"], encode(e), e["event_id"])
                                                    for e in pending])
                        self.ledger.record(pending, result.confirmed)
                        done = set(result.confirmed)
                        pending = [e for e in pending if e["event_id"] not in done]
                    except Exception:  # noqa: BLE001 - an at-least-once producer: publish again
                        self.errors += 1
                        publisher.close()
                    if pending:
                        time.sleep(0.5)
                self.unconfirmed.extend(pending)
                # keep to the rate: batch k is due at k * batch / rate
                due = started + sent / self.rate
                time.sleep(max(0.0, due - time.monotonic()))
        finally:
            publisher.close()


def run_producers(uri: str, envelopes, ledger: Ledger, producers: int = 3,
                  rate: float = 200.0, deadline: float = 300.0) -> list[Producer]:
    """Start `producers` threads, `rate` events/s in all: each takes every
    producers-th envelope of a list, or the k-th of a list of iterables."""
    shares = envelopes if not isinstance(envelopes[0], dict) else [envelopes[k::producers] for k in range(producers)]
    threads = [Producer(uri, share, ledger, rate / len(shares), name=f"producer-{k}", deadline=deadline)
               for k, share in enumerate(shares)]
    for t in threads:
        t.start()
    return threads
