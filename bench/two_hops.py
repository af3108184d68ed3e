"""Two hops: intake envelope -> owning service validates and applies -> domain
event -> reporting. `python -m bench --only two-hops` (or `--two-hops N`).

Three processes and the broker, as deployed:

* **activities** (`bench/service.py activities`): the real service in its own
  nameko container; it consumes `activities.intake`, records each deed
  (points for the week, its own store and outbox) and its relay publishes
  `deed_recorded`;
* **reporting** in this process (as in the one-hop phase);
* **another system** (`bench/intake.py`) publishing N `deed_recorded` intake
  envelopes to `lianxin.intake` with confirms.

First the street, its 34 communities and M members are published as
membership's events (activities needs to know a member before it records
their deed) and consumed by both services. Then the clock runs from the first
intake publish until reporting has applied all N deeds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import eventlet

from bench.lianxin_path import IDLE_TIMEOUT_S, _find, _stop_container, _wait_until, community_id
from bench.raw_broker import BenchError

COMMUNITIES = 34
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Child:
    def __init__(self, args: list[str]):
        from eventlet.green import subprocess as green_subprocess
        self.proc = green_subprocess.Popen([sys.executable, "-m", *args], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT)
        self.lines: list[dict] = []
        eventlet.spawn(self._read)

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                pass

    def wait_for(self, key: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while not any(m.get(key) for m in self.lines):
            if self.proc.poll() is not None:
                raise BenchError(f"{self.proc.args[2]} exited ({self.proc.returncode}) before {key!r}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.proc.args[2]}: no {key!r} within {timeout:.0f}s")
            eventlet.sleep(0.05)
        return next(m for m in self.lines if m.get(key))

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def stop(self) -> None:
        self.close_stdin()
        try:
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - a stuck child is killed
            self.proc.kill()


def measure(amqp_uri: str, count: int, *, members: int = 2000, progress=print) -> dict:
    from nameko.containers import ServiceContainer

    from lianxin.catalog import CATALOG
    from lianxin.nameko.extensions import StoreProvider
    from lianxin.publisher import ConfirmPublisher, Outgoing
    from lianxin.store import client_for
    from lianxin.topology import EVENTS_EXCHANGE
    from lianxin.envelope import encode
    from services.reporting.service import ReportingService

    run = uuid.uuid4().hex[:8]
    street = f"bench-street-{run}"
    prefix = f"bench{run}"
    activities = intake = container = None
    try:
        progress(f"two hops: activities in its own process, reporting here; {count:,} deed intakes "
                 f"for {members:,} members")
        activities = _Child(["bench.service", "activities", "--uri", amqp_uri, "--prefix", prefix])
        container = ServiceContainer(ReportingService, {"AMQP_URI": amqp_uri, "DB_PREFIX": prefix,
                                                        "max_workers": 10, "serializer": "json"})
        with eventlet.Timeout(60):
            container.start()
        store = next(_find(container.dependencies, StoreProvider))._store
        activities.wait_for("ready", 60)

        # Membership's facts, as membership's relay would publish them.
        envelopes = [CATALOG.new_event("org_unit_created", {"org_unit_id": street, "name": "王哥庄街道 (bench)",
                                                            "level": "street", "parent_id": None},
                                       source="membership", org_unit_id=street)]
        for k in range(COMMUNITIES):
            unit = community_id(street, k)
            envelopes.append(CATALOG.new_event("org_unit_created", {
                "org_unit_id": unit, "name": f"社区{k}", "level": "community", "parent_id": street},
                source="membership", org_unit_id=unit))
        for m in range(members):
            unit = community_id(street, m % COMMUNITIES)
            envelopes.append(CATALOG.new_event("member_registered", {
                "member_id": f"m-{run}-{m}", "name": f"党员{m}", "gender": "female" if m % 2 else "male",
                "birth_date": "1980-01-01", "org_unit_id": unit, "stage": "full", "stage_since": "2010-07-01",
                "admitted_on": "2010-07-01"}, source="membership", org_unit_id=unit))
        publisher = ConfirmPublisher(amqp_uri)
        result = publisher.publish([Outgoing(EVENTS_EXCHANGE, e["event_type"], encode(e), e["event_id"])
                                    for e in envelopes])
        publisher.close()
        if result.failed:
            raise BenchError(f"membership events not published: {next(iter(result.failed.values()))}")
        _wait_until(lambda: store.model.applied >= len(envelopes), "the members to reach reporting", 120)
        _wait_until(lambda: _depth(amqp_uri, "activities.events") == 0, "the members to reach activities", 120)

        intake = _Child(["bench.intake", "--uri", amqp_uri, "--run", run, "--count", str(count),
                         "--members", str(members)])
        intake.wait_for("ready", 600)
        base = len(store.model.deeds)
        cpu0 = time.process_time()
        started = time.perf_counter()
        intake.send("go")
        last, last_change = base, time.monotonic()
        while len(store.model.deeds) - base < count:
            eventlet.sleep(0.01)
            now_deeds = len(store.model.deeds)
            if now_deeds != last:
                last, last_change = now_deeds, time.monotonic()
            elif time.monotonic() - last_change > IDLE_TIMEOUT_S:
                raise BenchError(f"no deed reached reporting for {IDLE_TIMEOUT_S:.0f}s "
                                 f"({now_deeds - base:,}/{count:,})")
        elapsed = time.perf_counter() - started
        reporting_cpu = time.process_time() - cpu0
        published = intake.wait_for("done", 60)
        activities.close_stdin()
        finished = activities.wait_for("done", 60)
        rejections = _depth(amqp_uri, "activities.intake.dead")
        out = {"events": count, "events_per_s": round(count / elapsed, 1), "seconds": round(elapsed, 2),
               "intake_publish_per_s": published["publish_per_s"],
               "cpu_us_per_event": {"reporting": round(reporting_cpu / count * 1e6, 1),
                                    "activities (whole run)": round(finished["cpu_s"] / count * 1e6, 1),
                                    "intake publisher": published["cpu_us_per_event"]},
               "activities_peak_rss_mb": finished["peak_rss_mb"], "dead_lettered": rejections}
        progress(f"  two hops: {out['events_per_s']:,.0f} events/s ({count:,} in {elapsed:.1f}s)")
        return out
    finally:
        for child in (intake, activities):
            if child is not None:
                child.stop()
        if container is not None:
            _stop_container(container, progress)
        client_for(None).drop_database(f"{prefix}_reporting")


def _depth(amqp_uri: str, queue: str) -> int:
    from bench.raw_broker import _connect
    with _connect(amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count
