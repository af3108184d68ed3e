"""Nothing lost, nothing applied twice, under faults (issue 10).

Each test runs the whole system in-process on a fresh vhost of the fault
suite's own broker node, seeds a tree and 40 members, then lets three
producers publish the same mixed load (800 intake events at 160/s) while
one fault happens. After it the ledger must show every confirmed event
applied exactly once and the reports must equal those of the fault-free run
of the very same events. The soak (`make soak`) does the same for longer,
with a fault every minute.
"""
from __future__ import annotations

import time

import pytest

from tests.support.faults import batch_consumer, kill_mid_batch, store_faults
from tests.support.ledger import Ledger, mixed_load, run_producers, seed_members, seed_tree
from tests.support.reports import report_bodies
from tests.support.system import System, eventually

LOAD = 800
RATE = 160.0

# the baseline run is set up inside the first test: room for it and a fault
pytestmark = pytest.mark.timeout(400)


def start_system(uri: str) -> System:
    system = System(uri).start()
    seed_tree(system)
    system.publish_intake(seed_members())
    # the seeded members are known to every service before the load refers to them
    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == 40, timeout=60,
               message="seeded members in reporting")
    eventually(lambda: all(system.store(n).view.member("sm039") is not None for n in ("activities", "honours")),
               timeout=30, message="seeded members in activities and honours")
    return system


def settle(system: System, ledger: Ledger, producers, timeout: float = 150.0) -> None:
    for p in producers:
        p.join(timeout)
        assert not p.is_alive(), f"{p.name} still publishing after {timeout}s"
        assert not p.unconfirmed, f"{p.name} never got {len(p.unconfirmed)} events confirmed"
    events = system.store("reporting").db["events"]
    eventually(lambda: ledger.verdict(events).applied == len(ledger.confirmed), timeout=timeout, interval=0.5,
               message=f"all {len(ledger.confirmed)} confirmed events applied")


def check(system: System, ledger: Ledger, baseline: dict) -> None:
    verdict = ledger.verdict(system.store("reporting").db["events"])
    print(f"ledger: {verdict}")
    assert verdict.confirmed == LOAD
    assert verdict.lost == [] and verdict.doubled == [], str(verdict)
    # the owners hold one entity per event as well
    ids = {t: {i for i, et in ledger.confirmed.items() if et == t} for t in set(ledger.confirmed.values())}
    members = system.store("membership").db["members"]
    assert members.count_documents({"_id": {"$in": sorted(ids["member_registered"])}}) == len(ids["member_registered"])
    deeds = system.store("activities").db["deeds"]
    assert deeds.count_documents({}) == len(ids["deed_recorded"])
    # the reports (as the gateway serves them) equal the fault-free run's
    eventually(lambda: report_bodies(system) == baseline, timeout=30, interval=0.5,
               message="reports equal to the fault-free run")


@pytest.fixture(scope="module")
def load():
    return mixed_load(LOAD)


@pytest.fixture(scope="module")
def baseline(broker_node, load):
    """The reports of a fault-free run of the same events."""
    with broker_node.vhost() as uri:
        system = start_system(uri)
        try:
            ledger = Ledger()
            settle(system, ledger, run_producers(uri, load, ledger, rate=RATE))
            verdict = ledger.verdict(system.store("reporting").db["events"])
            assert verdict.lost == [] and verdict.doubled == [], str(verdict)
            return report_bodies(system)
        finally:
            system.stop_all()


@pytest.fixture
def system(broker_node):
    with broker_node.vhost() as uri:
        system = start_system(uri)
        yield system
        if not broker_node.is_up():
            broker_node.start_app()
        system.stop_all()


def test_broker_stopped_longer_than_nameko_publish_retries(broker_node, system, load, baseline):
    ledger = Ledger()
    producers = run_producers(system.config["AMQP_URI"], load, ledger, rate=RATE)
    time.sleep(1.5)
    broker_node.stop_app()
    # nameko's own publish retries give up after ~12 s (3 retries, 2 s interval step)
    time.sleep(20)
    broker_node.start_app()
    settle(system, ledger, producers)
    assert ledger.resent > 0, "the outage did not touch the producers"
    check(system, ledger, baseline)


def test_connections_force_closed(broker_node, system, load, baseline):
    ledger = Ledger()
    consumers = [ext.consumer for c in system.containers.values() for ext in c.entrypoints if hasattr(ext, "consumer")]
    before = sum(c.connection_losses for c in consumers)
    producers = run_producers(system.config["AMQP_URI"], load, ledger, rate=RATE)
    for _ in range(3):
        time.sleep(1.0)
        broker_node.close_connections()
    settle(system, ledger, producers)
    assert sum(c.connection_losses for c in consumers) - before >= len(consumers), "the fault was not injected"
    check(system, ledger, baseline)


@pytest.mark.parametrize("service, queue", [("activities", "activities.intake"), ("reporting", "reporting.events")])
def test_service_killed_mid_batch_and_restarted(system, load, baseline, service, queue):
    ledger = Ledger()
    producers = run_producers(system.config["AMQP_URI"], load, ledger, rate=RATE)
    time.sleep(1.0)
    caught = kill_mid_batch(system, service, queue)
    assert caught > 0
    settle(system, ledger, producers)
    check(system, ledger, baseline)


def test_store_raises_transient_errors(system, load, baseline):
    ledger = Ledger()
    with store_faults(probability=0.05) as faults:
        producers = run_producers(system.config["AMQP_URI"], load, ledger, rate=RATE)
        time.sleep(0.5)
        faults.active = True
        time.sleep(3.0)
        faults.active = False
        settle(system, ledger, producers)
    assert faults.raised_before > 0 and faults.raised_after > 0, "no fault was injected"
    check(system, ledger, baseline)


def test_consumer_stopped_while_a_backlog_builds(broker_node, system, load, baseline):
    ledger = Ledger()
    uri = system.config["AMQP_URI"]
    producers = run_producers(uri, load, ledger, rate=RATE)
    time.sleep(0.5)
    system.stop("reporting")
    # rabbitmqctl reports a quorum queue's depth a few seconds late: poll for it
    eventually(lambda: broker_node.queue_depths(uri)["reporting.events"] > 100, timeout=15, interval=1.0,
               message="a backlog of reporting.events")
    system.start("reporting")
    assert batch_consumer(system.containers["reporting"], "reporting.events").ready
    settle(system, ledger, producers)
    check(system, ledger, baseline)
