"""Audit entries of writes that come by intake: one per publisher and batch."""
from lianxin.audit import intake_entries
from lianxin.consumer import Result


class Event:
    def __init__(self, event_id, source, event_type="deed_recorded"):
        self.envelope = {"event_id": event_id, "source": source, "event_type": event_type, "org_unit_id": "ca"}


def test_one_entry_per_publisher_with_every_event_and_its_outcome():
    events = [Event("e1", "grid-app"), Event("e2", "hotline-12345"), Event("e3", "grid-app")]
    results = [Result.ok(), Result.reject("unknown member 'm9'"), Result.duplicate()]
    entries = {e["who"]["name"]: e for e in intake_entries("activities.intake", events, results)}
    assert set(entries) == {"grid-app", "hotline-12345"}
    assert [(i["event_id"], i["outcome"]) for i in entries["grid-app"]["events"]] == [("e1", "ok"), ("e3", "duplicate")]
    assert entries["hotline-12345"]["events"][0]["reason"] == "unknown member 'm9'"
    assert all(e["action"] == "intake" and e["from"]["queue"] == "activities.intake" and e["at"]
               for e in entries.values())
    assert intake_entries("activities.intake", [], []) == []
