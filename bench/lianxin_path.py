"""Lianxin's one-hop event path: producer outbox -> relay -> broker -> reporting.

Everything runs in ONE process on eventlet, as nameko runs it (the caller,
``bench/__main__.py``, monkey-patches before importing anything):

* a throwaway RabbitMQ vhost (``lianxin-bench-<uuid8>``), so no real queue
  is touched; it is deleted afterwards (see ``throwaway_vhost``);
* the reporting service as a real nameko ``ServiceContainer`` on the
  embedded store (its batch consumer validates, stores and projects);
* a membership-like producer: a ``ServiceDb`` with an outbox and an
  ``OutboxRelay`` + ``ConfirmPublisher`` in a greenthread, writing
  ``member_registered`` events with ``insert_many_with_events``.

Two phases:

1. throughput - N documents, each carrying one event, written in batches as
   fast as the producer can; the clock runs from the first write until
   reporting's read model has applied all N (the consumer stores each event
   in its ``events`` collection *before* projecting it, so "applied" implies
   "stored"). Envelopes are built (and catalog-validated) before the clock
   starts: that is the command handler's work, not the event path's; its
   cost per event is reported separately.
2. latency - events paced at a fixed rate (default 1,000/s, open loop: one
   event due every 1 ms, written in small batches of whatever is due); per
   event, time from just before its write to the moment it is applied to
   ``store.model`` (timestamped by wrapping ``ReportModel.apply`` in this
   process only).

Every wait is bounded; a stuck path raises ``BenchError``.
"""
from __future__ import annotations

import contextlib
import gc
import subprocess
import time
import uuid
from datetime import date, timedelta

import eventlet

from bench.raw_broker import BenchError
from bench.stats import rate, summarize

# Longest time without progress (events applied) before the run is stuck.
IDLE_TIMEOUT_S = 30.0
# Hard cap on any single phase.
PHASE_TIMEOUT_S = 600.0
RABBITMQCTL_TIMEOUT_S = 60.0
POLL_S = 0.002
PROGRESS_EVERY = 5000
BROKER = "amqp://guest:guest@localhost:5672/"


# -- the throwaway vhost ------------------------------------------------------

def _rabbitmqctl(*args: str) -> None:
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                              timeout=RABBITMQCTL_TIMEOUT_S)
    except FileNotFoundError as exc:
        raise BenchError("rabbitmqctl is not on PATH: it creates the bench's throwaway vhost") from exc
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"rabbitmqctl {' '.join(args)} did not answer within {RABBITMQCTL_TIMEOUT_S:.0f}s") from exc
    if done.returncode != 0:
        raise BenchError(f"rabbitmqctl {' '.join(args)} failed: {(done.stderr or done.stdout).strip()}")


def broker_version() -> str | None:
    try:
        done = subprocess.run(["rabbitmqctl", "version"], capture_output=True, text=True, timeout=30)
        return done.stdout.strip() or None
    except Exception:  # noqa: BLE001 - context only
        return None


@contextlib.contextmanager
def throwaway_vhost(broker_uri: str = BROKER, progress=print):
    """Yield the AMQP URI of a fresh vhost; delete the vhost afterwards."""
    vhost = f"lianxin-bench-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        progress(f"vhost {vhost} created")
        yield broker_uri.rstrip("/") + "/" + vhost
    finally:
        try:
            _rabbitmqctl("delete_vhost", vhost)
            progress(f"vhost {vhost} deleted")
        except BenchError as exc:
            progress(f"warning: could not delete vhost {vhost}: {exc}")


# -- helpers ------------------------------------------------------------------

class _Deadline:
    def __init__(self, seconds: float, what: str):
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise BenchError(f"{self.what} did not finish within {self.seconds:.0f}s")


def _wait_until(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        eventlet.sleep(0.01)


class _Timers:
    """Wall time spent in named calls (wrapped on instances, in this process only).

    All stages share one CPU-bound process, so these add up to roughly the
    phase's elapsed time; what is missing is AMQP I/O, eventlet and nameko.
    """

    def __init__(self):
        self.stats: dict[str, list] = {}

    def wrap(self, obj, attr: str, name: str) -> None:
        fn = getattr(obj, attr)
        stat = self.stats.setdefault(name, [0, 0.0, 0.0])  # calls, total s, max s

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t
                stat[0] += 1
                stat[1] += dt
                stat[2] = max(stat[2], dt)

        setattr(obj, attr, timed)

    def reset(self) -> None:
        for stat in self.stats.values():
            stat[:] = [0, 0.0, 0.0]

    def report(self, events: int, elapsed: float) -> dict:
        return {name: {"calls": calls, "total_s": round(total, 3), "share": round(total / elapsed, 3),
                       "us_per_event": round(total / events * 1e6, 1), "max_ms": round(longest * 1e3, 1)}
                for name, (calls, total, longest) in self.stats.items()}


class _GcPauses:
    """Python's cyclic GC pauses (they stop every greenthread in the process)."""

    def __init__(self):
        self.stats: dict[int, list] = {}
        self._t = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._t = time.perf_counter()
        else:
            dt = time.perf_counter() - self._t
            stat = self.stats.setdefault(info["generation"], [0, 0.0, 0.0])
            stat[0] += 1
            stat[1] += dt
            stat[2] = max(stat[2], dt)

    def reset(self) -> None:
        self.stats.clear()

    def report(self, events: int, elapsed: float) -> dict:
        return {f"python gc: generation {gen} pauses": {
                    "calls": calls, "total_s": round(total, 3), "share": round(total / elapsed, 3),
                    "us_per_event": round(total / events * 1e6, 1), "max_ms": round(longest * 1e3, 1)}
                for gen, (calls, total, longest) in sorted(self.stats.items())}


class _Applied:
    """Records when each event id is applied to reporting's read model."""

    def __init__(self):
        self.at: dict[str, float] = {}
        self._original = None

    def install(self, model_cls) -> None:
        original = self._original = model_cls.apply
        at = self.at
        stat = self.stat = [0, 0.0, 0.0]

        def apply(model, events):
            t = time.perf_counter()
            original(model, events)
            dt = time.perf_counter() - t
            stat[0] += 1
            stat[1] += dt
            stat[2] = max(stat[2], dt)
            now = time.time()
            for e in events:
                at[e.envelope["event_id"]] = now

        model_cls.apply = apply
        self._model_cls = model_cls

    def uninstall(self) -> None:
        if self._original is not None:
            self._model_cls.apply = self._original
            self._original = None


def _member_event(catalog, unit_id: str, i: int, run: str) -> tuple[dict, dict]:
    member_id = f"m-{run}-{i}"
    data = {"member_id": member_id, "name": f"党员{i}", "gender": "female" if i % 2 else "male",
            "birth_date": "1980-01-01", "org_unit_id": unit_id, "stage": "full",
            "stage_since": "2010-07-01", "admitted_on": "2010-07-01"}
    env = catalog.new_event("member_registered", data, source="membership", org_unit_id=unit_id)
    doc = {"_id": member_id, "name": data["name"], "org_unit_id": unit_id, "stage": "full"}
    return doc, env


def _find(extensions, cls):
    for ext in extensions:
        if isinstance(ext, cls):
            yield ext


def _with_apply(report: dict, stat: list, events: int, elapsed: float, gc_pauses: "_GcPauses") -> dict:
    report.update(gc_pauses.report(events, elapsed))
    calls, total, longest = stat
    report["consumer: ReportModel.apply"] = {
        "calls": calls, "total_s": round(total, 3), "share": round(total / elapsed, 3),
        "us_per_event": round(total / events * 1e6, 1), "max_ms": round(longest * 1e3, 1)}
    return report


def _stop_container(container, progress) -> None:
    try:
        with eventlet.Timeout(30):
            container.stop()
    except eventlet.Timeout:
        progress("warning: reporting container did not stop within 30s; killing it")
        container.kill()


# -- the measurement --------------------------------------------------------

def measure(amqp_uri: str, count: int = 20000, *, write_batch: int = 500,
            latency_rate: float = 1000.0, latency_count: int = 5000,
            progress=print, profiler=None) -> dict:
    """Measure the one-hop path on `amqp_uri` (use a throwaway vhost).

    Returns {"count", "envelope_bytes", "throughput": {...}, "latency": {...},
    "checks": {...}}. `profiler` (e.g. cProfile.Profile) is enabled around
    the throughput phase only.
    """
    if min(count, write_batch, latency_count) < 1 or latency_rate <= 0:
        raise ValueError("count, write_batch, latency_count and latency_rate must be positive")

    # Imported here: the caller must have monkey-patched first.
    from nameko.containers import ServiceContainer

    from lianxin.catalog import CATALOG
    from lianxin.envelope import encode
    from lianxin.nameko.extensions import BatchConsume, StoreProvider
    from lianxin.publisher import ConfirmPublisher
    from lianxin.relay import OutboxRelay
    from lianxin.store import ServiceDb, client_for
    from services.reporting.domain import ReportModel
    from services.reporting.service import ReportingService

    run = uuid.uuid4().hex[:8]
    config = {"AMQP_URI": amqp_uri, "DB_PREFIX": f"bench{run}", "max_workers": 10, "serializer": "json"}
    client = client_for(None)
    producer_db_name = f"bench_producer_{run}"
    reporting_db_name = f"bench{run}_reporting"

    class CountingPublisher(ConfirmPublisher):
        """Counts confirms, to tell publish time from consume time."""
        confirmed = 0
        last_confirm_at = 0.0

        def publish(self, messages):
            result = super().publish(messages)
            if result.confirmed:
                self.confirmed += len(result.confirmed)
                self.last_confirm_at = time.perf_counter()
            return result

    # Fail fast when the broker is unreachable: nameko's RPC consumer would
    # otherwise retry its connection for ever inside container.start().
    from bench.raw_broker import _connect
    _connect(amqp_uri).release()

    applied = _Applied()
    timers = _Timers()
    gc_pauses = _GcPauses()
    gc.callbacks.append(gc_pauses)
    container = relay = relay_thread = None
    try:
        applied.install(ReportModel)
        progress("lianxin: starting the reporting service (nameko container, embedded store)")
        container = ServiceContainer(ReportingService, config)
        try:
            with eventlet.Timeout(30):
                container.start()
        except eventlet.Timeout:
            raise BenchError("the reporting container did not start within 30s") from None
        consumers = [ep.consumer for ep in _find(container.entrypoints, BatchConsume)]
        _wait_until(lambda: all(c.ready for c in consumers), "reporting's consumers to start", 30)
        store = next(_find(container.dependencies, StoreProvider))._store
        events_consumer = next(c for c in consumers if c.sub.queue == "reporting.events")
        timers.wrap(events_consumer, "process", "consumer: process batch (total)")
        timers.wrap(events_consumer, "validate", "consumer: catalog validate")
        timers.wrap(store, "append", "consumer: store.append (events insert_many)")

        publisher = CountingPublisher(amqp_uri)
        db = ServiceDb(client[producer_db_name], ["org_units", "members"],
                       notify=lambda *args: relay.notify(*args))
        relay = OutboxRelay("bench", db, publisher)
        timers.wrap(db, "insert_many_with_events", "producer: insert_many_with_events")
        timers.wrap(relay, "_publish", "relay: publish batch (total)")
        timers.wrap(publisher, "publish", "relay: ConfirmPublisher.publish")
        timers.wrap(db, "mark_published", "relay: mark_published")
        timers.wrap(db, "pending_events", "relay: sweep (pending_events)")
        relay_thread = eventlet.spawn(relay.run)

        # One org unit first, so the members count somewhere.
        unit_id = f"bench-unit-{run}"
        unit_env = CATALOG.new_event("org_unit_created", {
            "org_unit_id": unit_id, "name": "王哥庄街道 (bench)", "level": "street", "parent_id": None,
        }, source="membership", org_unit_id=unit_id)
        db.insert_with_events("org_units", {"_id": unit_id, "name": "bench", "level": "street"}, [unit_env])
        _wait_until(lambda: unit_id in store.model.units, "the org unit to reach reporting", 30)
        base_applied = store.model.applied

        # -- phase 1: throughput ------------------------------------------------
        started = time.perf_counter()
        items = [_member_event(CATALOG, unit_id, i, run) for i in range(count)]
        build_us = (time.perf_counter() - started) / count * 1e6
        envelope_bytes = round(sum(len(encode(env)) for _, env in items[:200]) / min(200, count))
        progress(f"lianxin: throughput, {count:,} member_registered events "
                 f"(~{envelope_bytes} B each) in write batches of {write_batch}")

        written_at: dict[str, float] = {}
        target = base_applied + count
        deadline = _Deadline(PHASE_TIMEOUT_S, "the throughput phase")
        timers.reset()
        gc_pauses.reset()
        applied.stat[:] = [0, 0.0, 0.0]
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        for i in range(0, count, write_batch):
            chunk = items[i:i + write_batch]
            now = time.time()
            for _, env in chunk:
                written_at[env["event_id"]] = now
            db.insert_many_with_events("members", [(doc, [env]) for doc, env in chunk])
            eventlet.sleep(0)  # let the relay and the consumer run, as a service would
        writes_done = time.perf_counter()
        reported, last_progress, last_applied = 0, time.monotonic(), store.model.applied
        while store.model.applied < target:
            deadline.check()
            current = store.model.applied
            if current != last_applied:
                last_applied, last_progress = current, time.monotonic()
            elif time.monotonic() - last_progress > IDLE_TIMEOUT_S:
                raise BenchError(f"no event applied for {IDLE_TIMEOUT_S:.0f}s "
                                 f"({current - base_applied:,}/{count:,} applied, "
                                 f"{publisher.confirmed - 1:,} confirmed; relay error: {relay.last_error})")
            if current - base_applied - reported >= PROGRESS_EVERY:
                reported = (current - base_applied) // PROGRESS_EVERY * PROGRESS_EVERY
                progress(f"  applied {reported:,}/{count:,}")
            eventlet.sleep(POLL_S)
        finished = time.perf_counter()
        if profiler is not None:
            profiler.disable()
        elapsed = finished - started
        events_per_s = rate(count, elapsed)
        under_load = summarize([applied.at[eid] - t for eid, t in written_at.items()])
        throughput = {
            "events_per_s": round(events_per_s, 1),
            "seconds": round(elapsed, 3),
            "write_batch": write_batch,
            "writes_done_s": round(writes_done - started, 3),
            "all_confirmed_s": round(publisher.last_confirm_at - started, 3),
            "producer_write_per_s": round(rate(count, writes_done - started), 1),
            "envelope_build_us": round(build_us, 1),
            "latency_under_load": {k: round(v, 1) for k, v in under_load.items()},
            "publish_batches": timers.stats["relay: ConfirmPublisher.publish"][0],
            "time_in": _with_apply(timers.report(count, elapsed), applied.stat, count, elapsed, gc_pauses),
        }
        progress(f"  one hop: {events_per_s:,.0f} events/s ({elapsed:.2f}s; writes done at "
                 f"{throughput['writes_done_s']:.2f}s, last confirm at {throughput['all_confirmed_s']:.2f}s)")

        # Let the last batch's settle/ack finish, so the phases do not overlap.
        eventlet.sleep(0.5)

        # -- phase 2: latency at a paced rate ---------------------------------
        n = latency_count
        items = [_member_event(CATALOG, unit_id, count + i, run) for i in range(n)]
        progress(f"lianxin: latency, {n:,} events paced at {latency_rate:,.0f}/s")
        written_at = {}
        timers.reset()
        gc_pauses.reset()
        applied.stat[:] = [0, 0.0, 0.0]
        target = store.model.applied + n
        interval = 1.0 / latency_rate
        batches = 0
        deadline = _Deadline(PHASE_TIMEOUT_S, "the latency phase")
        started = time.perf_counter()
        sent = 0
        while sent < n:
            deadline.check()
            # Open loop: everything due by now goes out in one small batch.
            due = min(n, int((time.perf_counter() - started) / interval) + 1)
            if due > sent:
                chunk = items[sent:due]
                now = time.time()
                for _, env in chunk:
                    written_at[env["event_id"]] = now
                db.insert_many_with_events("members", [(doc, [env]) for doc, env in chunk])
                sent = due
                batches += 1
                if sent % PROGRESS_EVERY == 0:
                    progress(f"  latency: sent {sent:,}/{n:,}")
            eventlet.sleep(max(0.0, started + sent * interval - time.perf_counter()))
        achieved = rate(n, time.perf_counter() - started)
        _wait_until(lambda: store.model.applied >= target, "the paced events to be applied", IDLE_TIMEOUT_S)
        lat = summarize([applied.at[eid] - t for eid, t in written_at.items()])
        latency = {"rate_per_s": round(achieved, 1), "count": n, "mean_write_batch": round(n / batches, 2),
                   **{k: round(v, 3) for k, v in lat.items()},
                   "time_in": _with_apply(timers.report(n, n / achieved), applied.stat, n, n / achieved, gc_pauses)}
        progress(f"  p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms")

        # -- checks: nothing lost, nothing left behind -------------------------
        total = count + n
        summary = store.model.summary(unit_id, date.today() - timedelta(days=1), date.today())
        checks = {
            "members_in_summary": summary["members"]["total"],
            "events_stored": store.db["events"].count_documents({}),
            "rejections": store.db["rejections"].count_documents({}),
            "outbox_left": len(db.pending_events(10)),
            "relay_error": relay.last_error,
        }
        checks["ok"] = (checks["members_in_summary"] == total and checks["events_stored"] == total + 1
                        and checks["rejections"] == 0 and checks["outbox_left"] == 0)
        if not checks["ok"]:
            progress(f"warning: checks failed: {checks}")
        return {"count": count, "envelope_bytes": envelope_bytes, "throughput": throughput,
                "latency": latency, "checks": checks}
    finally:
        if profiler is not None:
            profiler.disable()
        if gc_pauses in gc.callbacks:
            gc.callbacks.remove(gc_pauses)
        applied.uninstall()
        if relay is not None:
            relay.stop()
            if relay_thread is not None:
                with contextlib.suppress(Exception, eventlet.Timeout), eventlet.Timeout(10):
                    relay_thread.wait()
            relay.publisher.close()
        if container is not None:
            _stop_container(container, progress)
        client.drop_database(producer_db_name)
        client.drop_database(reporting_db_name)
