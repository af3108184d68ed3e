"""Reports over the 2018 data set, timed (`python -m bench --only report`).

Issue 7: a report over the year answers from the read models, however many
events made them. This loads the acceptance data set (scripts/demo2018.py:
the source article's year, ~40,000 events) into a whole system, every service
in its own process as `make run` starts them, on the bench's throwaway vhost,
then times, one client, requests in a row over a kept-alive connection:

* `GET /reports/summary` for the street and 2018, for one community (唐家庄社区)
  and 2018, and for the street and one month (June 2018);
* `GET /reports/narrative` for the street and 2018;
* the table reports where the gateway serves them: `/reports/deeds?by=week`,
  `/reports/compliance`, `/reports/inspections` (street, 2018);
* the street's summary again with a few clients at once (requests/s).

Each answer is an HTTP request to the gateway, a nameko RPC to reporting and
its reply. The floor of that path, measured in the same run on the same
broker: a raw AMQP request/reply round trip (py-amqp, no nameko, no Lianxin
code) whose reply is as large as the summary; the report figures are given
as a multiple of it.

`--report-base URL` times an already loaded system instead (e.g. `make run`
then `make demo-2018`), skipping the load.
"""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import amqp
import requests

from lianxin.config import auth_headers

from bench.raw_broker import BenchError, _connect
from bench.stats import percentile

STREET = "wgz"
COMMUNITY = "wgz-z2-c2"          # 唐家庄社区, the article's model community
YEAR = {"from": "2018-01-01", "to": "2018-12-31"}
JUNE = {"from": "2018-06-01", "to": "2018-06-30"}
QUERIES = (  # (name, path, params) timed in this order
    ("summary, street, 2018", "/reports/summary", {"org_unit_id": STREET, **YEAR}),
    ("summary, community, 2018", "/reports/summary", {"org_unit_id": COMMUNITY, **YEAR}),
    ("summary, street, June 2018", "/reports/summary", {"org_unit_id": STREET, **JUNE}),
    ("narrative, street, 2018", "/reports/narrative", {"org_unit_id": STREET, **YEAR}),
    ("deeds by week, street, 2018", "/reports/deeds", {"org_unit_id": STREET, "by": "week", **YEAR}),
    ("compliance, street, 2018", "/reports/compliance", {"org_unit_id": STREET, **YEAR}),
    ("inspections, street, 2018", "/reports/inspections", {"org_unit_id": STREET, **YEAR}),
)
SERVICE_READY_S = 120


def _summarize_ms(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"n": len(ordered), "p50_ms": round(percentile(ordered, 50) * 1000, 2),
            "p99_ms": round(percentile(ordered, 99) * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2),
            "per_s": round(len(ordered) / sum(ordered), 1)}


# -- the floor: a raw AMQP request/reply round trip ------------------------------------------

def raw_rpc(amqp_uri: str, count: int, reply_size: int, progress=print) -> dict:
    """`count` request/reply round trips in a row, as nameko's RPC does them:
    a persistent request to a durable queue, a reply to the caller's own queue
    matched by correlation id; the responder (its own connection) acks after
    replying."""
    queue = f"bench.rpc.{uuid.uuid4().hex[:8]}"
    reply_body = b"{" + b'"x":"' + b"x" * max(0, reply_size - 8) + b'"}'
    request_body = b'{"args":[],"kwargs":{"query":{"org_unit_id":"wgz","from":"2018-01-01","to":"2018-12-31"}}}'
    stop = threading.Event()
    ready = threading.Event()
    failure: list[BaseException] = []

    def responder() -> None:
        try:
            with _connect(amqp_uri) as conn:
                channel = conn.channel()
                channel.queue_declare(queue, durable=True, auto_delete=False,
                                      arguments={"x-expires": 10 * 60 * 1000})
                channel.basic_qos(0, 10, False)

                def on_request(message: amqp.Message) -> None:
                    channel.basic_publish(amqp.Message(reply_body, delivery_mode=2, content_type="application/json",
                                                       correlation_id=message.properties["correlation_id"]),
                                          exchange="", routing_key=message.properties["reply_to"])
                    channel.basic_ack(message.delivery_tag)

                channel.basic_consume(queue, callback=on_request)
                ready.set()
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except socket.timeout:
                        pass
                channel.queue_delete(queue)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=responder, name="raw-rpc-responder", daemon=True)
    thread.start()
    if not ready.wait(15) or failure:
        raise BenchError("raw RPC responder failed to start") from (failure[0] if failure else None)
    progress(f"raw broker: {count} request/reply round trips (reply {len(reply_body)} B)")
    times: list[float] = []
    try:
        with _connect(amqp_uri) as conn:
            channel = conn.channel()
            reply_queue = channel.queue_declare("", exclusive=True, auto_delete=True).queue
            got: dict[str, bytes] = {}
            channel.basic_consume(reply_queue, no_ack=True,
                                  callback=lambda m: got.__setitem__(m.properties["correlation_id"], m.body))
            for i in range(count + 20):
                correlation = uuid.uuid4().hex
                started = time.perf_counter()
                channel.basic_publish(amqp.Message(request_body, delivery_mode=2, content_type="application/json",
                                                   correlation_id=correlation, reply_to=reply_queue),
                                      exchange="", routing_key=queue)
                deadline = time.monotonic() + 15
                while correlation not in got:
                    if time.monotonic() > deadline:
                        raise BenchError("no raw RPC reply within 15s")
                    try:
                        conn.drain_events(timeout=1)
                    except socket.timeout:
                        pass
                if i >= 20:            # the first 20 warm up
                    times.append(time.perf_counter() - started)
                got.pop(correlation)
    finally:
        stop.set()
        thread.join(10)
    if failure:
        raise BenchError(f"raw RPC responder failed: {failure[0]}")
    return {"reply_bytes": len(reply_body), **_summarize_ms(times)}


# -- the reports ----------------------------------------------------------------------------

def time_queries(base: str, count: int, progress=print, clients: int = 4) -> dict:
    out: dict[str, dict] = {}
    with requests.Session() as session:
        session.headers.update(auth_headers())
        for name, path, params in QUERIES:
            url = f"{base}/api/v1{path}"
            first = session.get(url, params=params, timeout=60)
            if first.status_code == 404 and "problem" in first.headers.get("Content-Type", "") \
                    and "org unit" not in first.text:
                progress(f"  {name}: not served ({first.status_code}), skipped")
                continue
            if first.status_code != 200:
                raise BenchError(f"GET {path} {params} -> {first.status_code}: {first.text[:200]}")
            for _ in range(5):
                session.get(url, params=params, timeout=60)
            times = []
            for _ in range(count):
                started = time.perf_counter()
                response = session.get(url, params=params, timeout=60)
                times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise BenchError(f"GET {path} -> {response.status_code}")
            out[name] = {"path": path, "params": params, "bytes": len(first.content), **_summarize_ms(times)}
            progress(f"  {name}: p50 {out[name]['p50_ms']:.1f} ms, p99 {out[name]['p99_ms']:.1f} ms, "
                     f"{out[name]['per_s']:.0f}/s, {len(first.content):,} B")
    # A few clients at once on the street's summary: requests/s the path sustains.
    name, path, params = QUERIES[0]
    url = f"{base}/api/v1{path}"
    per_client = max(1, count // clients)
    done: list[float] = []
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with requests.Session() as session:
                session.headers.update(auth_headers())
                for _ in range(per_client):
                    started = time.perf_counter()
                    session.get(url, params=params, timeout=60).raise_for_status()
                    done.append(time.perf_counter() - started)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    elapsed = time.perf_counter() - started
    if errors:
        raise BenchError(f"concurrent clients failed: {errors[0]}")
    out[f"{name}, {clients} clients"] = {"path": path, "params": params, "clients": clients,
                                         **_summarize_ms(done), "per_s": round(len(done) / elapsed, 1)}
    progress(f"  {name}, {clients} clients: {len(done) / elapsed:.0f} requests/s, "
             f"p50 {out[f'{name}, {clients} clients']['p50_ms']:.1f} ms")
    return out


# -- the whole measurement ---------------------------------------------------------------------

def _start_system(amqp_uri: str, log_dir: Path, progress) -> tuple[str, dict]:
    from scripts import run
    from tests.support.system import free_port

    port = free_port()
    env = dict(os.environ, AMQP_URI=amqp_uri, GATEWAY_PORT=str(port))
    env.pop("MONGO_URI", None)
    progress(f"starting {', '.join(run.SERVICES)} as processes (embedded store; logs in {log_dir})")
    procs = {name: run.start(name, 0, log_dir, env) for name in run.SERVICES}
    base = f"http://127.0.0.1:{port}"
    try:
        run.wait_ready(base, procs, log_dir)
    except SystemExit as exc:
        run.stop(procs)
        raise BenchError(str(exc)) from None
    return base, procs


def measure(amqp_uri: str, count: int = 200, progress=print, base: str | None = None) -> dict:
    """Load the 2018 data set (unless `base` names a loaded system), then time
    the reports and the raw request/reply floor. See the module docstring."""
    from scripts import demo2018, run

    result: dict = {"requests_per_query": count}
    procs: dict = {}
    try:
        if base is None:
            log_dir = Path(tempfile.mkdtemp(prefix="lianxin-bench-report-"))
            base, procs = _start_system(amqp_uri, log_dir, progress)
            progress("loading the 2018 data set (scripts/demo2018.py; the deeds take most of it)")
            started = time.monotonic()
            loaded = demo2018.seed(base, amqp_uri, progress=lambda line: progress(f"  {line}"))
            result["load"] = {"seconds": round(time.monotonic() - started, 1), "figures": loaded["summary"],
                              "differs_from_article": loaded["differs"]}
        fresh = requests.get(f"{base}/api/v1/reports/freshness", timeout=30, headers=auth_headers()).json()
        result["events_applied"] = fresh.get("events_applied")
        summary = requests.get(f"{base}/api/v1/reports/summary", headers=auth_headers(), params={"org_unit_id": STREET, **YEAR}, timeout=60)
        progress(f"timing reports over {fresh.get('events_applied'):,} events, {count} requests each")
        result["queries"] = time_queries(base, count, progress)
        result["raw_rpc"] = raw_rpc(amqp_uri, count, len(summary.content), progress)
        progress(f"  raw request/reply: p50 {result['raw_rpc']['p50_ms']:.2f} ms, "
                 f"p99 {result['raw_rpc']['p99_ms']:.2f} ms")
    finally:
        if procs:
            run.stop(procs)
    raw = result["raw_rpc"]
    for figures in result["queries"].values():
        figures["p50_vs_raw_rpc"] = round(figures["p50_ms"] / raw["p50_ms"], 1)
        figures["p99_vs_raw_rpc"] = round(figures["p99_ms"] / raw["p99_ms"], 1)
    return result


def table(result: dict) -> str:
    raw = result["raw_rpc"]
    rows = [("raw AMQP request/reply (floor)", f"{raw['p50_ms']:.2f}", f"{raw['p99_ms']:.2f}",
             f"{raw['per_s']:,.0f}", "1x / 1x")]
    for name, f in result["queries"].items():
        rows.append((name, f"{f['p50_ms']:.1f}", f"{f['p99_ms']:.1f}", f"{f['per_s']:,.0f}",
                     f"{f['p50_vs_raw_rpc']:g}x / {f['p99_vs_raw_rpc']:g}x"))
    head = ("GET (one client unless said)", "p50 ms", "p99 ms", "req/s", "÷ raw p50 / p99")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    lines = ["  ".join(f"{c:<{widths[0]}}" if i == 0 else f"{c:>{widths[i]}}" for i, c in enumerate(r))
             for r in [head] + rows]
    if "load" in result:
        load = result["load"]
        lines.append(f"\n2018 data set loaded in {load['seconds']:.0f} s; reports over "
                     f"{result['events_applied']:,} events; article's figures "
                     + ("all reproduced" if not load["differs_from_article"]
                        else f"DIFFER: {load['differs_from_article']}"))
    return "\n".join(lines)
