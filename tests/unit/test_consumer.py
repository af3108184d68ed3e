"""BatchConsumer.process without a broker: outcomes, isolation, retry tiers, dead letters."""
import json
import socket

import pytest
from pymongo.errors import ConnectionFailure

from lianxin import topology
from lianxin.catalog import CATALOG
from lianxin.consumer import BatchConsumer, Delivery, Result
from lianxin.envelope import encode
from lianxin.errors import Conflict, InvalidInput, NotFound, TransientError
from lianxin.publisher import PublishResult


class FakePublisher:
    def __init__(self, fail=False):
        self.published = []
        self.fail = fail

    def publish(self, outgoing):
        self.published.extend(outgoing)
        if self.fail:
            return PublishResult(failed={m.message_id: "unroutable" for m in outgoing})
        return PublishResult(confirmed=[m.message_id for m in outgoing])


class Handler:
    """Records each call; answers via `answer(events)`."""

    def __init__(self, answer=None):
        self.calls = []
        self.answer = answer or (lambda events: [Result.ok()] * len(events))

    def __call__(self, events):
        self.calls.append([e.event_id for e in events])
        return self.answer(events)


def consumer_for(handler, queue="reporting.events", publisher=None):
    rejections, sleeps = [], []
    consumer = BatchConsumer("amqp://unused", topology.subscription(queue), handler,
                             record_rejections=rejections.extend, sleep=sleeps.append)
    consumer.publisher = publisher or FakePublisher()
    return consumer, rejections, sleeps


def envelope(unit_id="u1"):
    return CATALOG.new_event("org_unit_created", {"org_unit_id": unit_id, "name": unit_id, "level": "street",
                                                  "parent_id": None}, source="membership", org_unit_id=unit_id)


def delivery(tag, body=None, headers=None):
    body = body if body is not None else encode(envelope(f"u{tag}"))
    return Delivery(tag=tag, body=body, headers=headers or {}, routing_key="org_unit_created",
                    redelivered=False)


def outcomes(batch):
    return [d.result.outcome for d in batch]


def test_all_ok_publishes_nothing_and_rejects_nothing():
    handler = Handler()
    consumer, rejections, _ = consumer_for(handler)
    batch = [delivery(i) for i in range(3)]
    consumer.process(batch)
    assert outcomes(batch) == ["ok", "ok", "ok"]
    assert len(handler.calls) == 1 and len(handler.calls[0]) == 3
    assert consumer.publisher.published == []
    assert rejections == []


def test_duplicates_are_acked_silently():
    consumer, rejections, _ = consumer_for(Handler(lambda events: [Result.duplicate()] * len(events)))
    batch = [delivery(1)]
    consumer.process(batch)
    assert outcomes(batch) == ["duplicate"]
    assert consumer.publisher.published == [] and rejections == []


def test_invalid_envelope_is_dead_lettered_with_its_reason():
    handler = Handler()
    consumer, rejections, _ = consumer_for(handler)
    bad = envelope()
    bad["occurred_at"] = "2018-06-12T09:30:00"
    batch = [delivery(1, encode(bad)), delivery(2)]
    consumer.process(batch)

    assert outcomes(batch) == ["reject", "ok"]
    assert len(handler.calls[0]) == 1  # only the valid one reached the handler
    [out] = consumer.publisher.published
    assert (out.exchange, out.routing_key) == ("lianxin.dlx", "reporting.events")
    assert out.body == batch[0].body
    assert out.headers["x-lianxin-reason"] == "the envelope is invalid"
    assert out.headers["x-lianxin-queue"] == "reporting.events"
    assert out.headers["x-lianxin-routing-key"] == "org_unit_created"
    [rejection] = rejections
    assert rejection["reason"] == "the envelope is invalid"
    assert list(rejection["errors"]) == ["occurred_at"]
    assert rejection["event_id"] == bad["event_id"]
    assert rejection["event_type"] == "org_unit_created"
    assert rejection["_id"].startswith(f"reporting.events:{bad['event_id']}:")     # and the body's hash
    assert rejection["attempts"] == 1
    assert json.loads(rejection["body"]) == bad


def test_body_that_is_not_json_is_dead_lettered():
    consumer, rejections, _ = consumer_for(Handler())
    batch = [delivery(1, b"\xff\xfe garbage")]
    consumer.process(batch)
    assert outcomes(batch) == ["reject"]
    assert list(rejections[0]["errors"]) == ["_body"]
    assert rejections[0]["event_id"] is None
    assert rejections[0]["event_type"] == "org_unit_created"  # from the routing key
    assert consumer.publisher.published[0].exchange == "lianxin.dlx"


def test_deeply_nested_json_is_dead_lettered_not_raised():
    consumer, rejections, _ = consumer_for(Handler())
    batch = [delivery(1, b"[" * 5000 + b"]" * 5000), delivery(2)]
    consumer.process(batch)
    assert outcomes(batch) == ["reject", "ok"]
    assert list(rejections[0]["errors"]) == ["_body"]


def test_intake_queue_validates_intake_commands():
    consumer, rejections, _ = consumer_for(Handler(), queue="membership.intake")
    batch = [delivery(1)]  # a domain event, not an intake command
    consumer.process(batch)
    assert outcomes(batch) == ["reject"]
    assert list(rejections[0]["errors"]) == ["event_type"]
    assert consumer.publisher.published[0].routing_key == "membership.intake"


def test_a_poison_event_is_isolated_from_its_batch():
    batch = [delivery(i) for i in range(5)]
    poison = json.loads(batch[2].body)["event_id"]

    def answer(events):
        if any(e.event_id == poison for e in events):
            raise ValueError("cannot project this one")
        return [Result.ok()] * len(events)

    handler = Handler(answer)
    consumer, rejections, sleeps = consumer_for(handler)
    consumer.process(batch)

    assert outcomes(batch) == ["ok", "ok", "reject", "ok", "ok"]
    assert [len(c) for c in handler.calls] == [5, 1, 1, 1, 1, 1]
    [out] = consumer.publisher.published
    assert (out.exchange, out.routing_key, out.message_id) == ("lianxin.dlx", "reporting.events", poison)
    assert out.headers["x-lianxin-reason"] == "ValueError: cannot project this one"
    assert [r["event_id"] for r in rejections] == [poison]
    assert sleeps == []


def test_transient_failure_is_retried_in_place_then_sent_to_the_first_tier():
    handler = Handler(lambda events: (_ for _ in ()).throw(TransientError("store is down")))
    consumer, rejections, sleeps = consumer_for(handler)
    batch = [delivery(i) for i in range(3)]
    consumer.process(batch)

    assert len(handler.calls) == 3  # transient_attempts, whole batch each time
    assert sleeps == [0.1, 0.4]
    assert outcomes(batch) == ["retry"] * 3
    published = consumer.publisher.published
    assert [(m.exchange, m.routing_key) for m in published] == [("lianxin.retry", "reporting.events.retry.1s")] * 3
    assert [m.headers["x-lianxin-attempt"] for m in published] == [1, 1, 1]
    assert [m.body for m in published] == [d.body for d in batch]
    assert rejections == []


@pytest.mark.parametrize("attempt, tier", [(1, "4s"), (2, "15s"), (3, "40s")])
def test_retry_moves_to_the_next_backoff_tier(attempt, tier):
    consumer, _, _ = consumer_for(Handler(lambda events: [Result.retry("not yet")] * len(events)))
    consumer.process([delivery(1, headers={"x-lianxin-attempt": attempt})])
    [out] = consumer.publisher.published
    assert out.routing_key == f"reporting.events.retry.{tier}"
    assert out.headers["x-lianxin-attempt"] == attempt + 1


def test_retry_after_the_last_tier_is_dead_lettered():
    consumer, rejections, _ = consumer_for(Handler(lambda events: [Result.retry("org unit unknown")] * len(events)))
    batch = [delivery(1, headers={"x-lianxin-attempt": 4})]
    consumer.process(batch)
    assert outcomes(batch) == ["reject"]
    assert batch[0].result.reason == "gave up after 5 attempts: org unit unknown"
    [out] = consumer.publisher.published
    assert (out.exchange, out.routing_key) == ("lianxin.dlx", "reporting.events")
    assert out.headers["x-lianxin-reason"].startswith("gave up after")
    assert out.headers["x-lianxin-attempt"] == 4
    assert rejections[0]["attempts"] == 5


def test_wrong_number_of_results_is_a_failure_and_isolated():
    handler = Handler(lambda events: [Result.ok()])  # one result whatever the batch
    consumer, rejections, _ = consumer_for(handler)
    batch = [delivery(i) for i in range(3)]
    consumer.process(batch)
    assert [len(c) for c in handler.calls] == [3, 1, 1, 1]
    assert outcomes(batch) == ["ok", "ok", "ok"]
    assert rejections == []


def test_no_results_for_a_single_event_is_dead_lettered():
    consumer, rejections, _ = consumer_for(Handler(lambda events: []))
    batch = [delivery(1)]
    consumer.process(batch)
    assert outcomes(batch) == ["reject"]
    assert rejections[0]["reason"] == "RuntimeError: handler returned 0 results for 1 events"


def test_handler_reject_records_its_errors():
    consumer, rejections, _ = consumer_for(Handler(
        lambda events: [Result.reject("bad dates", {"admitted_on": ["is in the future"]})] * len(events)))
    consumer.process([delivery(1)])
    assert rejections[0]["errors"] == {"admitted_on": ["is in the future"]}
    assert rejections[0]["reason"] == "bad dates"


def test_unconfirmed_dead_letter_raises_and_records_nothing():
    consumer, rejections, _ = consumer_for(Handler(), publisher=FakePublisher(fail=True))
    with pytest.raises(ConnectionError):
        consumer.process([delivery(1, b"not json")])
    assert rejections == []


# -- Result.from_error ----------------------------------------------------------------------

@pytest.mark.parametrize("exc", [TransientError("down"), ConnectionFailure("no primary"),
                                 ConnectionResetError("reset"), socket.timeout("slow")])
def test_transient_errors_become_retries(exc):
    result = Result.from_error(exc)
    assert result.outcome == "retry"
    assert result.errors is None


def test_lianxin_errors_become_rejections_with_their_field_errors():
    result = Result.from_error(InvalidInput("invalid fields: name", {"name": ["required"]}))
    assert result == Result("reject", "invalid fields: name", {"name": ["required"]})
    assert Result.from_error(Conflict("taken")).reason == "taken"
    assert Result.from_error(NotFound("no such unit")).outcome == "reject"


def test_other_exceptions_become_rejections_naming_their_type():
    assert Result.from_error(KeyError("x")) == Result("reject", "KeyError: 'x'", None)


def test_ok_and_duplicate_are_shared_constants():
    assert Result.ok() is Result.ok() and Result.ok().outcome == "ok"
    assert Result.duplicate().outcome == "duplicate"
    assert Result.retry("r") == Result("retry", "r")


def test_delivery_attempt_defaults_to_zero_for_missing_or_garbled_header():
    assert delivery(1).attempt == 0
    assert delivery(1, headers={"x-lianxin-attempt": "junk"}).attempt == 0
    assert delivery(1, headers={"x-lianxin-attempt": 2}).attempt == 2


# -- deliveries a quorum queue counted (x-delivery-count) ---------------------------------------

LIMIT = topology.DELIVERY_LIMIT
SUSPECT = LIMIT // 2        # even (LIMIT is 20)


def counted(tag, count):
    return delivery(tag, headers={"x-delivery-count": count})


def tags(parts):
    return [[d.tag for d in part] for part in parts]


def test_delivery_count_defaults_to_zero_for_missing_or_garbled_header():
    assert delivery(1).delivery_count == 0 and not delivery(1).suspect
    assert delivery(1, headers={"x-delivery-count": "junk"}).delivery_count == 0
    assert counted(1, SUSPECT - 1).delivery_count == SUSPECT - 1 and not counted(1, SUSPECT - 1).suspect
    assert counted(1, SUSPECT).suspect and not counted(1, LIMIT - 1).over_limit
    assert counted(1, LIMIT).over_limit and counted(1, LIMIT + 3).over_limit


def test_suspect_deliveries_are_processed_alone_after_the_rest():
    batch = [delivery(1), counted(2, SUSPECT), counted(3, 1), counted(4, SUSPECT)]
    assert tags(BatchConsumer.parts(batch)) == [[1, 3], [2], [4]]
    ordinary = [counted(5, 3), delivery(6)]
    assert BatchConsumer.parts(ordinary) == [ordinary]
    assert tags(BatchConsumer.parts([counted(7, LIMIT)])) == [[7]]


def test_the_order_of_suspects_flips_with_each_redelivery():
    # a poison message (tag 2) died with 1 and 3 in every batch so far
    assert tags(BatchConsumer.parts([counted(t, SUSPECT) for t in (1, 2, 3)])) == [[1], [2], [3]]
    # 1 was settled, 2 killed the consumer again: now 3 goes before it
    assert tags(BatchConsumer.parts([counted(t, SUSPECT + 1) for t in (2, 3)])) == [[3], [2]]
    # a fresher suspect does not decide the order: the highest count does
    assert tags(BatchConsumer.parts([counted(4, SUSPECT), counted(5, SUSPECT + 1)])) == [[5], [4]]


def test_a_delivery_at_the_limit_is_rejected_with_its_reason_without_reaching_the_handler():
    handler = Handler()
    consumer, rejections, _ = consumer_for(handler)
    batch = [counted(1, LIMIT), counted(2, LIMIT - 1)]
    consumer.process(batch)     # (its parts would never hold both: process takes what it is given)

    assert outcomes(batch) == ["reject", "ok"]
    assert handler.calls == [[json.loads(batch[1].body)["event_id"]]]
    reason = f"delivered {LIMIT} times without being settled (a consumer died handling it each time)"
    [out] = consumer.publisher.published
    assert (out.exchange, out.routing_key) == ("lianxin.dlx", "reporting.events")
    assert out.headers["x-lianxin-reason"] == reason
    assert "x-delivery-count" not in out.headers     # the broker's count, meaningless once it left the queue
    [rejection] = rejections
    assert rejection["reason"] == reason
    assert rejection["event_id"] == json.loads(batch[0].body)["event_id"]
    assert rejection["event_type"] == "org_unit_created"


def test_a_retried_delivery_does_not_carry_its_delivery_count_to_the_retry_tier():
    consumer, _, _ = consumer_for(Handler(lambda events: [Result.retry("not yet")] * len(events)))
    consumer.process([counted(1, 5)])
    [out] = consumer.publisher.published
    assert out.routing_key == "reporting.events.retry.1s" and "x-delivery-count" not in out.headers


class FakeMessage:
    def __init__(self, d):
        self.delivery_tag, self.body = d.tag, d.body
        self.properties = {"application_headers": d.headers}
        self.delivery_info = {"routing_key": d.routing_key, "redelivered": True}


class FakeConnection:
    """Hands the consumer one batch of deliveries, then stops it."""

    def __init__(self, consumer, deliveries):
        self.consumer, self.deliveries = consumer, deliveries

    def heartbeat_check(self):
        pass

    def drain_events(self, timeout):
        if self.deliveries:
            for d in self.deliveries:
                self.consumer._on_message(FakeMessage(d))
            self.deliveries = []
            return
        self.consumer.stop()
        raise socket.timeout()


class FakeChannel:
    def __init__(self, handler):
        self.handler, self.acks = handler, []

    def basic_ack(self, tag, multiple=False):
        # what the handler had seen when the ack was sent
        self.acks.append((tag, multiple, len(self.handler.calls)))


def test_the_rest_of_a_batch_is_acked_before_a_suspect_delivery_is_handled():
    handler = Handler()
    consumer, rejections, _ = consumer_for(handler)
    consumer._conn = FakeConnection(consumer, [delivery(1), counted(2, SUSPECT), delivery(3), counted(4, LIMIT)])
    consumer._channel = FakeChannel(handler)
    consumer._running = True
    consumer._loop()

    assert [len(c) for c in handler.calls] == [2, 1]          # tags 1 and 3 together, then tag 2 alone
    # 1 and 3 acked one by one before tag 2 reached the handler; 4 rejected unhandled
    assert consumer._channel.acks == [(1, False, 1), (3, False, 1), (2, False, 2), (4, False, 2)]
    assert [r["reason"].split(" (")[0] for r in rejections] == [f"delivered {LIMIT} times without being settled"]


def test_a_poison_message_kills_only_itself_once_it_is_suspect():
    """Simulated redeliveries: the consumer dies whenever the handler sees the
    poison event; every unacked delivery comes back counted once more."""
    batch = [delivery(i) for i in range(4)]
    poison = json.loads(batch[2].body)["event_id"]
    applied = []

    class Died(Exception):
        pass

    def answer(events):
        if any(e.event_id == poison for e in events):
            raise Died()
        applied.extend(e.event_id for e in events)
        return [Result.ok()] * len(events)

    consumer, rejections, _ = consumer_for(Handler(answer))
    consumer._handle = lambda events: answer(events)       # no isolation by exception: the process just dies
    pending, deaths = list(batch), 0
    while pending:
        acked = set()
        try:
            for part in consumer.parts(pending):
                consumer.process(part)
                acked.update(d.tag for d in part)
        except Died:
            deaths += 1
        pending = [Delivery(d.tag, d.body, {"x-delivery-count": d.delivery_count + 1}, d.routing_key, True)
                   for d in pending if d.tag not in acked]
    assert deaths == LIMIT                                  # it died once per delivery of the poison event
    assert sorted(applied) == sorted(json.loads(d.body)["event_id"] for i, d in enumerate(batch) if i != 2)
    assert [r["event_id"] for r in rejections] == [poison]


def test_an_ordinary_batch_is_still_acked_at_once():
    handler = Handler()
    consumer, _, _ = consumer_for(handler)
    consumer._conn = FakeConnection(consumer, [delivery(1), counted(2, 3), delivery(3)])
    consumer._channel = FakeChannel(handler)
    consumer._running = True
    consumer._loop()
    assert [len(c) for c in handler.calls] == [3]
    assert consumer._channel.acks == [(3, True, 1)]
