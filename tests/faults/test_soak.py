"""The soak: the deployed system under a steady load with a fault every minute.

Not part of `make test` (it runs for minutes): `make soak` runs it, by
default 10 minutes at 1,000 events/s (LIANXIN_SOAK_MINUTES, LIANXIN_SOAK_RATE).
Every service runs in its own process, as `make run` deploys them, on the
fault suite's own broker node. Each minute one fault, in turn:

  broker   rabbitmqctl stop_app for 20 s, then start_app
  close    every connection force-closed (rabbitmqctl close_all_connections)
  pause    reporting's process stopped (SIGSTOP) for 20 s: a backlog builds
  kill     a process SIGKILLed and started again: activities when MONGO_URI is
           set; on the embedded store (data lives in the process) the gateway
  pause    activities' process stopped for 20 s (its intake backs up)

The ledger: producers record every event id they saw confirmed; a tap queue
on lianxin.events (declared before the load) records every domain event the
services emitted. Lost = a confirmed intake event that caused none; applied
twice = an entity created by two different domain events. Reporting's
figures must equal the ledger's. Memory (RSS) of every process is sampled
every 5 s. The result goes to test-output/soak-<time>.md (and stdout).
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import amqp
import pytest
import requests

from lianxin import topology
from lianxin.config import auth_headers
from scripts import run
from tests.support.ledger import SEEDED_MEMBERS, Ledger, created_entity, iter_load, run_producers, seed_members
from tests.support.system import free_port

MINUTES = float(os.environ.get("LIANXIN_SOAK_MINUTES") or 0)
RATE = float(os.environ.get("LIANXIN_SOAK_RATE") or 1000)
PRODUCERS = 4
TAP_QUEUE = "soak.ledger"
OUT = Path(__file__).resolve().parents[2] / "test-output"

pytestmark = [pytest.mark.skipif(not MINUTES, reason="the soak runs with `make soak` (LIANXIN_SOAK_MINUTES)"),
              pytest.mark.timeout(int(MINUTES * 60) + 3600)]


class Deployment:
    """The six services as processes on `uri`, with what the faults need."""

    def __init__(self, uri: str, log_dir: Path):
        self.uri, self.log_dir = uri, log_dir
        self.port = free_port()
        self.env = dict(os.environ, AMQP_URI=uri, GATEWAY_PORT=str(self.port))
        self.procs: dict = {}
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, *names: str) -> None:
        for name in names or tuple(run.SERVICES):
            self.procs[name] = run.start(name, free_port(), self.log_dir, self.env)
        run.wait_ready(self.base, self.procs, self.log_dir)

    def signal(self, name: str, sig: int) -> None:
        os.killpg(self.procs[name].pid, sig)

    def kill_and_restart(self, name: str) -> None:
        self.signal(name, signal.SIGKILL)
        self.procs[name].wait(30)
        self.start(name)

    def stop(self) -> None:
        for proc in self.procs.values():     # a paused process would not hear SIGTERM
            try:
                os.killpg(proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        run.stop(self.procs)

    def rss_mib(self) -> dict[str, float]:
        out = {}
        for name, proc in self.procs.items():
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
                out[name] = kib / 1024
            except (OSError, StopIteration):
                out[name] = float("nan")
        return out

    def http(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.base}/api/v1{path}", headers=auth_headers(), timeout=30, **kwargs)


class Tap(threading.Thread):
    """Every domain event the services emit: entity id -> the ids of the domain events that created it."""

    def __init__(self, uri: str):
        super().__init__(name="ledger-tap", daemon=True)
        self.uri = uri
        self.created: dict[str, set] = defaultdict(set)
        self.seen = 0
        self.running = True
        self.lock = threading.Lock()

    def declare(self) -> None:
        with self._connect() as conn:
            channel = conn.channel()
            topology.declare(channel)
            channel.queue_declare(TAP_QUEUE, durable=True, auto_delete=False)
            channel.queue_bind(TAP_QUEUE, topology.EVENTS_EXCHANGE, "#")

    def _connect(self) -> amqp.Connection:
        rest = self.uri.split("@", 1)[1]
        host, vhost = rest.split("/", 1)
        conn = amqp.Connection(host=host, userid="guest", password="guest", virtual_host=vhost or "/",
                               heartbeat=0)
        conn.connect()
        return conn

    def run(self) -> None:
        while self.running:
            try:
                conn = self._connect()
                channel = conn.channel()
                channel.basic_qos(0, 2000, False)
                unacked = []

                def on_message(message):
                    envelope = json.loads(message.body)
                    entity = created_entity(envelope)
                    if entity:
                        with self.lock:
                            self.created[entity].add(envelope["event_id"])
                    self.seen += 1
                    unacked.append(message.delivery_tag)

                channel.basic_consume(TAP_QUEUE, callback=on_message)
                while self.running:
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
                    if unacked:
                        channel.basic_ack(unacked[-1], multiple=True)
                        unacked.clear()
            except Exception:  # noqa: BLE001 - the broker is stopped by the faults: reconnect
                time.sleep(1.0)

    def verdict(self, ledger: Ledger):
        with self.lock:
            counts = Counter({entity: len(ids) for entity, ids in self.created.items()})
        return ledger.verdict_of_counts(counts)


def faults(deployment: Deployment, broker) -> list:
    embedded = not os.environ.get("MONGO_URI")
    killed = "gateway" if embedded else "activities"

    def stop_broker():
        broker.stop_app()
        time.sleep(20)
        broker.start_app()

    def pause(name):
        def fault():
            deployment.signal(name, signal.SIGSTOP)
            time.sleep(20)
            deployment.signal(name, signal.SIGCONT)
        return fault

    return [("broker stop_app 20 s", stop_broker),
            ("connections force-closed", broker.close_connections),
            ("pause reporting 20 s", pause("reporting")),
            (f"SIGKILL {killed}, restart", lambda: deployment.kill_and_restart(killed)),
            ("pause activities 20 s", pause("activities"))]


@pytest.fixture
def uri(broker_node):
    with broker_node.vhost() as uri:
        yield uri


def test_soak(broker_node, uri):
    tap = Tap(uri)
    tap.declare()
    log_dir = OUT / "soak-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    deployment = Deployment(uri, log_dir)
    samples, timeline, depth_samples = [], [], []
    try:
        deployment.start()
        tap.start()
        for body in ({"id": "wgz", "name": "王哥庄街道", "level": "street"},
                     {"id": "z1", "name": "第一管区", "level": "zone", "parent_id": "wgz"},
                     {"id": "c1", "name": "唐家庄社区", "level": "community", "parent_id": "z1"},
                     {"id": "c2", "name": "港东社区", "level": "community", "parent_id": "z1"}):
            assert deployment.http("POST", "/org-units", json=body).status_code == 201
        seeding = Ledger()
        for p in run_producers(uri, seed_members(), seeding, producers=1, rate=200):
            p.join()
        wait_for(lambda: summary(deployment).get("members", {}).get("total") == SEEDED_MEMBERS, 120, "seeded members")
        time.sleep(2)           # the seeded members reach every service's view

        seconds = MINUTES * 60
        total = int(RATE * seconds)
        ledger = Ledger()
        shares = [iter_load(total, offset=k, step=PRODUCERS) for k in range(PRODUCERS)]
        started = time.monotonic()
        producers = run_producers(uri, shares, ledger, producers=PRODUCERS, rate=RATE, deadline=seconds + 600)
        plan = faults(deployment, broker_node)
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                t = time.monotonic() - started
                samples.append((t, deployment.rss_mib(), len(ledger.confirmed), tap.seen))
                try:
                    depths = broker_node.queue_depths(uri)
                    depth_samples.append((t, sum(v for k, v in depths.items()
                                                 if not k.endswith(".dead") and k != TAP_QUEUE)))
                except Exception:  # noqa: BLE001 - the broker is down during a fault
                    depth_samples.append((t, None))
                sampling.wait(5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        minute = 0
        while time.monotonic() - started < seconds - 30:
            due = started + 30 + 60 * minute
            time.sleep(max(0.0, due - time.monotonic()))
            if time.monotonic() - started >= seconds - 20:
                break
            name, fault = plan[minute % len(plan)]
            t0 = time.monotonic() - started
            fault()
            timeline.append((round(t0), name, round(time.monotonic() - started - t0, 1)))
            print(f"[{t0:6.0f}s] {name} ({len(ledger.confirmed)} confirmed, {tap.seen} domain events)", flush=True)
            minute += 1
        for p in producers:
            p.join(seconds + 600)
        produced_in = time.monotonic() - started
        drain_started = time.monotonic()
        wait_for(lambda: tap.verdict(ledger).applied == len(ledger.confirmed), 900,
                 "every confirmed event's domain event", interval=2)
        drained_in = time.monotonic() - drain_started
        expected = expected_figures(ledger)
        wait_for(lambda: figures(summary(deployment)) == expected, 600, f"reporting's figures = {expected}", interval=2)
        time.sleep(60)          # idle: memory after the load, once everything settled
        sampling.set()
        sampler.join()
        samples.append((time.monotonic() - started, deployment.rss_mib(), len(ledger.confirmed), tap.seen))
        verdict = tap.verdict(ledger)
        report = render(verdict, ledger, producers, timeline, samples, depth_samples, produced_in, drained_in,
                        expected, total)
        OUT.mkdir(exist_ok=True)
        path = OUT / f"soak-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.md"
        path.write_text(report)
        print(report)
        assert verdict.lost == [] and verdict.doubled == [], str(verdict)
        assert verdict.confirmed == total
    finally:
        tap.running = False
        deployment.stop()


def summary(deployment: Deployment) -> dict:
    try:
        response = deployment.http("GET", "/reports/summary", params={"org_unit_id": "wgz", "from": "2017-01-01",
                                                                      "to": "2030-12-31"})
        return response.json() if response.status_code == 200 else {}
    except requests.RequestException:
        return {}


def figures(s: dict) -> dict:
    if not s:
        return {}
    return {"members": s["members"]["total"], "household_links": s["household_links"],
            "deeds": s["deeds"].get("count", s["deeds"].get("total")),
            "activities": sum(s["activities"]["by_kind"].values())}


def expected_figures(ledger: Ledger) -> dict:
    by_type = defaultdict(int)
    for event_type in ledger.confirmed.values():
        by_type[event_type] += 1
    return {"members": SEEDED_MEMBERS + by_type["member_registered"], "household_links": by_type["household_linked"],
            "deeds": by_type["deed_recorded"], "activities": by_type["activity_held"]}


def wait_for(check, timeout: float, what: str, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s")
        time.sleep(interval)


def render(verdict, ledger, producers, timeline, samples, depth_samples, produced_in, drained_in, expected,
           total) -> str:
    lines = [f"# Soak {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {MINUTES:g} min at {RATE:g} events/s",
             "", f"- load: {total} intake events from {PRODUCERS} producers; all confirmed after {produced_in:.0f} s "
             f"({total / produced_in:.0f} events/s offered and confirmed on average)",
             f"- ledger: {verdict}",
             f"- publish errors seen by producers: {sum(p.errors for p in producers)}; events resent: {ledger.resent}",
             f"- drained (every confirmed event's domain event emitted) {drained_in:.0f} s after the last publish",
             f"- reporting's figures equal the ledger's: {expected}", "", "## Faults", "",
             "| at (s) | fault | took (s) |", "|---:|---|---:|"]
    lines += [f"| {t} | {name} | {took} |" for t, name, took in timeline]
    names = sorted(samples[0][1])
    lines += ["", "## Memory (RSS, MiB) and backlog", "",
              "| t (s) | confirmed | domain events | backlog | " + " | ".join(names) + " |",
              "|---:|---:|---:|---:|" + "---:|" * len(names)]
    depths = dict(depth_samples)
    for i, (t, rss, confirmed, seen) in enumerate(samples):
        if i % 12 and i != len(samples) - 1:        # one row a minute, and the last
            continue
        depth = min(depths.items(), key=lambda kv: abs(kv[0] - t))[1] if depths else None
        lines.append(f"| {t:.0f} | {confirmed} | {seen} | {depth if depth is not None else '-'} | "
                     + " | ".join(f"{rss[n]:.0f}" for n in names) + " |")
    return "\n".join(lines) + "\n"
