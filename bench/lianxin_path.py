"""Lianxin's one-hop event path: producer outbox -> relay -> broker -> reporting.

Two processes, as in production, plus the broker:

* the reporting service, a real nameko ``ServiceContainer`` on the embedded
  store, in THIS process (on eventlet; the caller, ``bench/__main__.py``,
  monkey-patches first); its batch consumer validates, stores and projects;
* a producing service, ``bench/producer.py``, in a child process: a
  ``ServiceDb`` with an outbox and an ``OutboxRelay`` + ``ConfirmPublisher``,
  writing ``deed_recorded`` events with ``insert_many_with_events``;
* on a throwaway RabbitMQ vhost (``lianxin-bench-<uuid8>``), so no real
  queue is touched; it is deleted afterwards (see ``throwaway_vhost``).

Two phases:

1. throughput - the producer writes as fast as its relay keeps up, either N
   events or for a number of seconds (``--seconds 60``: sustained); the clock
   runs from the first write until reporting's read model has applied every
   event written (the consumer stores each event in its ``events`` collection
   *before* projecting it, so "applied" implies "stored"). Envelopes are built
   before the clock starts: that is the command handler's work, not the event
   path's; its cost per event is reported separately.
2. latency - events paced at a fixed rate (default 1,000/s, open loop: one
   event due every 1 ms, written in small batches of whatever is due); per
   event, time from just before its write (producer's clock) to the moment it
   is applied to ``store.model`` (timestamped by wrapping ``ReportModel.apply``
   in this process only); both processes read the same system clock.

CPU time per event is reported for each process (reporting, producer) and
for the broker (read from /proc), so the figures say which one is the limit.
Every wait is bounded; a stuck path raises ``BenchError``.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta

import eventlet

from bench.raw_broker import BenchError, broker_cpu_seconds
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


class Timers:
    """Wall time spent in named calls (wrapped on instances, in one process).

    Wall time, so a call also grows when the OS runs another process meanwhile
    (two cores, three busy processes): the CPU time per event of each process
    (reported beside) is the steadier figure.
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


BENCH_YEAR = 2018
DEED_CATEGORIES = ("帮办代办", "环境整治", "邻里互助", "政策宣传")


def deed_event(catalog, unit_id: str, i: int, run: str, members: int = 2000,
               communities: int = 0) -> tuple[dict, dict]:
    """The i-th deed: the most frequent event there is (one a week per member),
    and one only reporting consumes, so one publish is one delivery. With
    `communities`, member m belongs to community m % communities of unit_id."""
    deed_id = f"d-{run}-{i}"
    member = i % members
    member_id = f"m-{run}-{member}"
    if communities:
        unit_id = community_id(unit_id, member % communities)
    done_on = date(BENCH_YEAR, 1, 1) + timedelta(days=i % 365)
    data = {"deed_id": deed_id, "member_id": member_id, "household_id": None, "org_unit_id": unit_id,
            "done_on": done_on.isoformat(), "category": DEED_CATEGORIES[i % len(DEED_CATEGORIES)],
            "description": f"为群众办实事第{i}件：帮助独居老人代缴水电费", "recorded_by": member_id, "points": 1}
    env = catalog.new_event("deed_recorded", data, source="activities", org_unit_id=unit_id)
    doc = {"_id": deed_id, "member_id": member_id, "org_unit_id": unit_id, "done_on": done_on.isoformat()}
    return doc, env


def community_id(street_id: str, k: int) -> str:
    return f"{street_id}-c{k}"


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


# -- the producing service, in its own process -----------------------------------

class Producer:
    """`python -m bench.producer` as a child process, driven line by line."""

    def __init__(self, amqp_uri: str, run: str, unit_id: str, *, first: int, count: int,
                 create_unit: bool = False, seconds: float = 0.0, write_batch: int = 500, rate: float = 0.0,
                 communities: int = 0, members: int = 2000):
        from eventlet.green import subprocess as green_subprocess
        self.written_at_file = os.path.join(tempfile.gettempdir(), f"bench-{run}-{first}.json")
        cmd = [sys.executable, "-m", "bench.producer", "--uri", amqp_uri, "--run", run, "--unit", unit_id,
               "--first", str(first), "--count", str(count), "--seconds", str(seconds),
               "--write-batch", str(write_batch), "--rate", str(rate), "--written-at", self.written_at_file,
               "--communities", str(communities), "--members", str(members)]
        if create_unit:
            cmd.append("--create-unit")
        self.proc = green_subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                           text=True, bufsize=1)
        self.lines: list[dict] = []
        self.done: dict | None = None
        self._reader = eventlet.spawn(self._read)

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            self.lines.append(msg)
            if msg.get("done") or msg.get("error"):
                self.done = msg

    def wait_ready(self, timeout: float = 300.0) -> dict:
        deadline = time.monotonic() + timeout
        while not any(m.get("ready") for m in self.lines):
            if self.proc.poll() is not None:
                raise BenchError(f"the producer process exited ({self.proc.returncode}) before it was ready")
            if time.monotonic() > deadline:
                raise BenchError(f"the producer was not ready within {timeout:.0f}s")
            eventlet.sleep(0.05)
        return next(m for m in self.lines if m.get("ready"))

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finished(self) -> dict | None:
        if self.done and self.done.get("error"):
            raise BenchError(f"producer: {self.done['error']}")
        if self.done is None and self.proc.poll() is not None:
            eventlet.sleep(0.1)  # the last line may still be in the pipe
            if self.done is None:
                raise BenchError(f"the producer process exited ({self.proc.returncode}) before it finished")
        return self.done

    def times(self) -> tuple[dict[str, float], dict[str, float]]:
        """({event id: time written}, {event id: time its publish was confirmed})."""
        with open(self.written_at_file) as f:
            times = json.load(f)
        return times["written_at"], times["confirmed_at"]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.poll() is None:
                self.proc.terminate()
                self.proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            os.unlink(self.written_at_file)


# -- the measurement --------------------------------------------------------

def measure(amqp_uri: str, count: int = 20000, *, seconds: float = 0.0, write_batch: int = 500,
            latency_rate: float = 1000.0, latency_count: int = 5000,
            progress=print, profiler=None) -> dict:
    """Measure the one-hop path on `amqp_uri` (use a throwaway vhost).

    `seconds` > 0: the throughput phase writes for that long (sustained),
    `count` is then only the most it may write. Returns {"count",
    "throughput": {...}, "latency": {...}, "checks": {...}}. `profiler`
    (e.g. cProfile.Profile) is enabled around the throughput phase only, in
    the reporting process.
    """
    if min(count, write_batch, latency_count) < 1 or latency_rate <= 0 or seconds < 0:
        raise ValueError("count, write_batch, latency_count, latency_rate must be positive, seconds not negative")

    # Imported here: the caller must have monkey-patched first.
    from nameko.containers import ServiceContainer

    from lianxin.nameko.extensions import BatchConsume, StoreProvider
    from lianxin.store import client_for
    from services.reporting.domain import ReportModel
    from services.reporting.service import ReportingService

    run = uuid.uuid4().hex[:8]
    config = {"AMQP_URI": amqp_uri, "DB_PREFIX": f"bench{run}", "max_workers": 10, "serializer": "json"}
    client = client_for(None)
    reporting_db_name = f"bench{run}_reporting"
    unit_id = f"bench-unit-{run}"

    # Fail fast when the broker is unreachable: nameko's RPC consumer would
    # otherwise retry its connection for ever inside container.start().
    from bench.raw_broker import _connect
    _connect(amqp_uri).release()

    applied = _Applied()
    timers = Timers()
    gc_pauses = _GcPauses()
    gc.callbacks.append(gc_pauses)
    container = None
    producers: list[Producer] = []
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

        # -- phase 1: throughput ------------------------------------------------
        what = f"for {seconds:g} s (at most {count:,})" if seconds else f"{count:,}"
        progress(f"lianxin: throughput, {what} deed_recorded events from a producer process, "
                 f"write batches of {write_batch}")
        producer = Producer(amqp_uri, run, unit_id, first=0, count=count, create_unit=True, seconds=seconds,
                            write_batch=write_batch)
        producers.append(producer)
        build_us = producer.wait_ready()["build_us"]
        _wait_until(lambda: unit_id in store.model.units, "the org unit to reach reporting", 30)
        base_applied = store.model.applied
        timers.reset()
        gc_pauses.reset()
        applied.stat[:] = [0, 0.0, 0.0]
        if profiler is not None:
            profiler.enable()
        cpu0, broker0 = time.process_time(), broker_cpu_seconds()
        started = time.perf_counter()
        producer.go()
        samples = []                    # (seconds since start, events applied)
        deadline = _Deadline(PHASE_TIMEOUT_S + seconds, "the throughput phase")
        last_progress, last_applied, next_sample = time.monotonic(), store.model.applied, started + 1.0
        while True:
            deadline.check()
            done = producer.finished()
            current = store.model.applied - base_applied
            now = time.perf_counter()
            if now >= next_sample:
                samples.append((round(now - started, 3), current))
                next_sample += 1.0
                if len(samples) % 5 == 0:
                    progress(f"  {now - started:5.1f} s: {current:,} applied")
            if done is not None and current >= done["written"]:
                break
            if current != last_applied:
                last_applied, last_progress = current, time.monotonic()
            elif time.monotonic() - last_progress > IDLE_TIMEOUT_S:
                raise BenchError(f"no event applied for {IDLE_TIMEOUT_S:.0f}s ({current:,} applied)")
            eventlet.sleep(POLL_S)
        finished = time.perf_counter()
        if profiler is not None:
            profiler.disable()
        cpu, broker1 = time.process_time() - cpu0, broker_cpu_seconds()
        elapsed = finished - started
        written = done["written"]
        events_per_s = rate(written, elapsed)
        written_at, _ = producer.times()
        under_load = summarize([applied.at[eid] - t for eid, t in written_at.items()])
        windows = [round((b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(samples[::5], samples[5::5])]
        throughput = {
            "events_per_s": round(events_per_s, 1),
            "events": written,
            "seconds": round(elapsed, 3),
            "write_batch": write_batch,
            "writes_done_s": done["writes_done_s"],
            "all_confirmed_s": done["all_confirmed_s"],
            "envelope_build_us": build_us,
            "per_5s_window_events_per_s": windows,
            "latency_under_load": {k: round(v, 1) for k, v in under_load.items()},
            "cpu_us_per_event": {
                "reporting (consumer)": round(cpu / written * 1e6, 1),
                "producer (writes + relay)": done["cpu_us_per_event"],
                "broker": round((broker1 - broker0) / written * 1e6, 1) if broker0 is not None and broker1 else None,
            },
            "peak_rss_mb": {"producer": done["peak_rss_mb"], "reporting (bench process)": _peak_rss_mb()},
            "time_in": {**done["time_in"], **_with_apply(timers.report(written, elapsed), applied.stat,
                                                          written, elapsed, gc_pauses)},
        }
        progress(f"  one hop: {events_per_s:,.0f} events/s ({written:,} in {elapsed:.2f}s; writes done at "
                 f"{done['writes_done_s']:.2f}s, last confirm at {done['all_confirmed_s']:.2f}s)")
        producer.close()
        eventlet.sleep(0.5)     # the last batch's settle and ack, so the phases do not overlap

        # -- phase 2: latency at a paced rate ---------------------------------
        n = latency_count
        progress(f"lianxin: latency, {n:,} events paced at {latency_rate:,.0f}/s")
        producer = Producer(amqp_uri, run, unit_id, first=written, count=n, rate=latency_rate)
        producers.append(producer)
        producer.wait_ready()
        timers.reset()
        gc_pauses.reset()
        applied.stat[:] = [0, 0.0, 0.0]
        target = store.model.applied + n
        started = time.perf_counter()
        producer.go()
        deadline = _Deadline(PHASE_TIMEOUT_S, "the latency phase")
        while producer.finished() is None or store.model.applied < target:
            deadline.check()
            eventlet.sleep(POLL_S)
        elapsed = time.perf_counter() - started
        done = producer.done
        achieved = rate(n, done["writes_done_s"])
        written_at, confirmed_at = producer.times()
        lat = summarize([applied.at[eid] - t for eid, t in written_at.items()])
        to_confirm = summarize([confirmed_at[eid] - t for eid, t in written_at.items()])
        latency = {"rate_per_s": round(achieved, 1), "count": n, "mean_write_batch": round(n / done["batches"], 2),
                   **{k: round(v, 3) for k, v in lat.items()},
                   "write_to_confirm": {k: round(v, 3) for k, v in to_confirm.items()},
                   "time_in": {**done["time_in"], **_with_apply(timers.report(n, elapsed), applied.stat, n, elapsed,
                                                                gc_pauses)}}
        progress(f"  p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms")

        # -- checks: nothing lost, nothing left behind -------------------------
        total = written + n
        summary = store.model.summary(unit_id, date(BENCH_YEAR, 1, 1), date(BENCH_YEAR, 12, 31))
        checks = {
            "deeds_in_summary": summary["deeds"]["total"],
            "events_stored": store.db["events"].count_documents({}),
            "rejections": store.db["rejections"].count_documents({}),
            "outbox_left": done["outbox_left"] + throughput_outbox_left(producers),
            "relay_error": done["relay_error"],
        }
        checks["ok"] = (checks["deeds_in_summary"] == total and checks["events_stored"] == total + 1
                        and checks["rejections"] == 0 and checks["outbox_left"] == 0)
        if not checks["ok"]:
            progress(f"warning: checks failed: {checks}")
        return {"count": written, "throughput": throughput, "latency": latency, "checks": checks}
    finally:
        if profiler is not None:
            profiler.disable()
        if gc_pauses in gc.callbacks:
            gc.callbacks.remove(gc_pauses)
        applied.uninstall()
        for producer in producers:
            producer.close()
        if container is not None:
            _stop_container(container, progress)
        client.drop_database(reporting_db_name)


def throughput_outbox_left(producers: list[Producer]) -> int:
    first = producers[0].done if producers else None
    return first["outbox_left"] if first else 0


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
