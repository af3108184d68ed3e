"""Reporting at scale: a backlog of N queued events (default 1,000,000), then
a store of N events: rebuild, and summary queries from concurrent clients.

One run, on the bench's throwaway vhost:

1. **Backlog.** The producer process (``bench/producer.py``) records N deeds
   of a street with 34 communities and 20,000 members, and its relay
   publishes them while no reporting is running: they wait, persistent, in
   ``reporting.events`` (a day of intake replayed after an outage).
2. **Drain.** The reporting service starts (a nameko container in this
   process, embedded store) and drains the queue; the clock runs from its
   start until every event is applied. Every second the resident memory
   (RSS) of this process, of the producer and of the broker is sampled, with
   the events applied so far: memory should follow what reporting stores,
   not the backlog.
3. **Rebuild.** ``ReportingStore.rebuild()``: every read model again from the
   N stored events (what a restart does).
4. **Queries.** `clients` concurrent RPC clients in their own process
   (``bench/clients.py``: nameko's standalone ``ClusterRpcProxy``, as the
   gateway calls) ask for summaries back to back,
   each of a random unit (the street or a community) and a random period of
   the year (a day, week, month, quarter or the year): mostly different
   questions, so few are answered from the summary cache. Latency per request
   at the client.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta

import eventlet

from bench.lianxin_path import (BENCH_YEAR, IDLE_TIMEOUT_S, Producer, _find, _stop_container, community_id)
from bench.raw_broker import BenchError
from bench.stats import summarize

COMMUNITIES = 34
MEMBERS = 20000


def rss_mb(pid: int | str = "self") -> float | None:
    """Current resident memory of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def broker_pid() -> int | None:

    try:
        out = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True, timeout=5).stdout.split()
        return int(out[0]) if out else None
    except Exception:  # noqa: BLE001 - context only
        return None


def random_period(rng: random.Random) -> tuple[date, date]:
    start_of_year = date(BENCH_YEAR, 1, 1)
    kind = rng.choice(("day", "week", "month", "quarter", "year"))
    if kind == "year":
        return start_of_year, date(BENCH_YEAR, 12, 31)
    if kind == "quarter":
        q = rng.randrange(4)
        start = date(BENCH_YEAR, 3 * q + 1, 1)
        end = date(BENCH_YEAR + (q == 3), (3 * q + 3) % 12 + 1, 1) - timedelta(days=1)
        return start, end
    if kind == "month":
        m = rng.randrange(1, 13)
        end = date(BENCH_YEAR + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
        return date(BENCH_YEAR, m, 1), end
    day = start_of_year + timedelta(days=rng.randrange(365))
    return (day, day + timedelta(days=6)) if kind == "week" else (day, day)


def measure(amqp_uri: str, count: int, *, clients: int = 20, query_seconds: float = 20.0,
            progress=print) -> dict:
    from nameko.containers import ServiceContainer

    from lianxin.nameko.extensions import StoreProvider
    from lianxin.store import client_for
    from services.reporting.service import ReportingService

    run = uuid.uuid4().hex[:8]
    street = f"bench-street-{run}"
    config = {"AMQP_URI": amqp_uri, "DB_PREFIX": f"bench{run}", "max_workers": 10, "serializer": "json"}
    container = producer = None
    broker = broker_pid()
    try:
        # -- 1. the backlog ----------------------------------------------------
        progress(f"at scale: {count:,} deeds of a street with {COMMUNITIES} communities and {MEMBERS:,} members "
                 f"queued while reporting is down")
        producer = Producer(amqp_uri, run, street, first=0, count=count, create_unit=True,
                            communities=COMMUNITIES, members=MEMBERS)
        build_us = producer.wait_ready(timeout=3600)["build_us"]
        started = time.perf_counter()
        producer.go()
        last = 0
        while producer.finished() is None:
            eventlet.sleep(1.0)
            lines = [m for m in producer.lines if m.get("progress")]
            if lines and lines[-1]["confirmed"] - last >= 100_000:
                last = lines[-1]["confirmed"] // 100_000 * 100_000
                progress(f"  queued {lines[-1]['confirmed']:,}/{count:,}")
        done = producer.done
        queued_s = time.perf_counter() - started
        total = count + 1 + COMMUNITIES
        backlog = {"events": total, "producer_publish_per_s": round(count / queued_s, 1),
                   "envelope_build_us": build_us, "producer_cpu_us_per_event": done["cpu_us_per_event"],
                   "producer_peak_rss_mb": done["peak_rss_mb"]}
        progress(f"  queued in {queued_s:.1f}s ({backlog['producer_publish_per_s']:,.0f}/s)")

        # -- 2. the drain ---------------------------------------------------------
        rss_before = rss_mb()
        progress(f"at scale: reporting starts and drains {total:,} events")
        container = ServiceContainer(ReportingService, config)
        started = time.perf_counter()
        cpu0 = time.process_time()
        with eventlet.Timeout(60):
            container.start()
        store = next(_find(container.dependencies, StoreProvider))._store
        samples, last_change, last_applied, next_report = [], time.monotonic(), 0, 100_000
        while store.model.applied < total:
            eventlet.sleep(1.0)
            applied = store.model.applied
            samples.append({"s": round(time.perf_counter() - started, 1), "applied": applied,
                            "reporting_rss_mb": rss_mb(), "broker_rss_mb": rss_mb(broker) if broker else None})
            if applied >= next_report:
                progress(f"  applied {applied:,}/{total:,}, reporting RSS {samples[-1]['reporting_rss_mb']:,.0f} MB")
                next_report = (applied // 100_000 + 1) * 100_000
            if applied != last_applied:
                last_applied, last_change = applied, time.monotonic()
            elif time.monotonic() - last_change > IDLE_TIMEOUT_S:
                raise BenchError(f"the drain stalled at {applied:,}/{total:,}")
        drained_s = time.perf_counter() - started
        drain = {"events_per_s": round(total / drained_s, 1), "seconds": round(drained_s, 1),
                 "reporting_cpu_us_per_event": round((time.process_time() - cpu0) / total * 1e6, 1),
                 "reporting_rss_before_mb": rss_before,
                 # The producer has stopped by now: its peak is its own, while it queued.
                 "peak_rss_mb": {"reporting": max(s["reporting_rss_mb"] or 0 for s in samples),
                                 "producer": done["peak_rss_mb"],
                                 "broker": max(s["broker_rss_mb"] or 0 for s in samples)},
                 "rss_samples": samples}
        drain["reporting_rss_growth_per_event_bytes"] = round(
            (drain["peak_rss_mb"]["reporting"] - rss_before) * 1024 * 1024 / total)
        progress(f"  drained in {drained_s:.1f}s: {drain['events_per_s']:,.0f} events/s; peak RSS "
                 + ", ".join(f"{k} {v:,.0f} MB" for k, v in drain["peak_rss_mb"].items()))
        producer.close()

        # -- 3. rebuild -----------------------------------------------------------
        progress(f"at scale: rebuilding every read model from {total:,} stored events")
        expected = store.model.summary(street, date(BENCH_YEAR, 1, 1), date(BENCH_YEAR, 12, 31))
        started = time.perf_counter()
        store.rebuild()
        rebuilt_s = time.perf_counter() - started
        rebuild = {"events": store.model.applied, "seconds": round(rebuilt_s, 2),
                   "events_per_s": round(store.model.applied / rebuilt_s, 1),
                   "same_summary": store.model.summary(street, date(BENCH_YEAR, 1, 1),
                                                       date(BENCH_YEAR, 12, 31)) == expected,
                   "reporting_rss_mb": rss_mb()}
        progress(f"  rebuilt in {rebuilt_s:.1f}s: {rebuild['events_per_s']:,.0f} events/s")

        # -- 4. queries -----------------------------------------------------------
        progress(f"at scale: {clients} clients asking for summaries for {query_seconds:g}s")
        units = [street] + [community_id(street, k) for k in range(COMMUNITIES)]
        queries = {"clients": clients}
        for mode, rate in (("back_to_back", 0.0), ("paced", PACED_RATE)):
            lat, n, errors = _ask(amqp_uri, units, clients, query_seconds, rate)
            queries[mode] = {"rate_per_client": rate or None, "requests": n, "errors": errors,
                             "requests_per_s": round(n / query_seconds, 1), **{k: round(v, 2) for k, v in lat.items()}}
            progress(f"  {mode.replace('_', ' ')}: {n:,} summaries, p50 {lat['p50_ms']:.1f} ms, "
                     f"p99 {lat['p99_ms']:.1f} ms")
        # The same questions from one client: what one summary costs, without queueing.
        lat, n, _ = _ask(amqp_uri, units, 1, min(query_seconds, 10.0), 0.0)
        queries["one_client"] = {"requests": n, **{k: round(v, 2) for k, v in lat.items()}}
        return {"count": count, "backlog": backlog, "drain": drain, "rebuild": rebuild, "queries": queries}
    finally:
        if producer is not None:
            producer.close()
        if container is not None:
            _stop_container(container, progress)
        client_for(None).drop_database(f"bench{run}_reporting")


PACED_RATE = 5.0   # summaries per second per client: 20 dashboards refreshing five times a second


def _ask(amqp_uri: str, units: list[str], clients: int, seconds: float, rate: float):
    """Run bench/clients.py; (latency summary, requests, errors)."""
    cmd = [sys.executable, "-m", "bench.clients", "--uri", amqp_uri, "--units", ",".join(units),
           "--clients", str(clients), "--seconds", str(seconds), "--rate", str(rate)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if done.returncode != 0:
        raise BenchError(f"the clients failed: {done.stderr.strip()[-500:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    latencies = [ms / 1e3 for ms in answer["latencies_ms"]]
    return summarize(latencies), len(latencies), answer["error_count"]


def table(result: dict) -> str:
    d, r, q = result["drain"], result["rebuild"], result["queries"]
    rows = [
        (f"backlog of {result['backlog']['events']:,} drained", f"{d['events_per_s']:,.0f} events/s",
         "at the one-hop rate"),
        ("  peak RSS: reporting / producer / broker",
         " / ".join(f"{d['peak_rss_mb'][k]:,.0f}" for k in ("reporting", "producer", "broker")) + " MB", ""),
        ("  reporting RSS growth per event stored", f"{d['reporting_rss_growth_per_event_bytes']:,} B", ""),
        (f"rebuild from {r['events']:,} stored events", f"{r['events_per_s']:,.0f} events/s",
         ">= 10,000/s" + ("  ok" if r["events_per_s"] >= 10000 else "  MISSED")),
        (f"summary p50 / p99, {q['clients']} clients back to back",
         f"{q['back_to_back']['p50_ms']:.1f} / {q['back_to_back']['p99_ms']:.1f} ms",
         "p99 <= 50 ms" + ("  ok" if q["back_to_back"]["p99_ms"] <= 50 else "  MISSED")),
        ("  summaries per second (all clients)", f"{q['back_to_back']['requests_per_s']:,.0f}", ""),
        (f"summary p50 / p99, {q['clients']} clients at {PACED_RATE:g}/s each",
         f"{q['paced']['p50_ms']:.1f} / {q['paced']['p99_ms']:.1f} ms",
         "p99 <= 50 ms" + ("  ok" if q["paced"]["p99_ms"] <= 50 else "  MISSED")),
        ("  one client p50 / p99", f"{q['one_client']['p50_ms']:.1f} / {q['one_client']['p99_ms']:.1f} ms", ""),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    return "\n".join(f"{a:<{w0}}  {b:>{w1}}  {c}".rstrip() for a, b, c in rows)
