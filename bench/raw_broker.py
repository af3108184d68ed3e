"""Raw RabbitMQ ceiling: what the broker and py-amqp do with no Lianxin code.

Lianxin's own event path is compared against these figures in the same run,
so both see the same broker, disk and CPU. Three phases run on one fresh,
durable classic queue that is deleted afterwards:

1. publish  - persistent messages with pipelined publisher confirms;
2. consume  - drain that backlog with prefetch and batched multi-acks;
3. latency  - a paced producer with a concurrent consumer, send -> receive.

Run it with ``python -m bench.raw_broker --count 20000 --size 300``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import amqp
from kombu import Connection
from kombu.exceptions import OperationalError

from bench.stats import rate, summarize

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
PROGRESS_EVERY = 5000
SENT_AT_HEADER = "x-sent-at"
# Longest silence tolerated from the broker (a confirm, a delivery, a socket
# write) before the run is declared stuck.
IDLE_TIMEOUT_S = 15.0
# Hard cap on any single phase, so a trickling broker cannot run forever.
PHASE_TIMEOUT_S = 300.0
# Lets the broker drop the queue by itself if this process is killed before
# its finally-block runs; far longer than any phase, so never hit in a run.
QUEUE_EXPIRES_MS = 30 * 60 * 1000
CST = timezone(timedelta(hours=8))


class BenchError(RuntimeError):
    """The benchmark could not produce a trustworthy figure."""


def broker_cpu_seconds() -> float | None:
    """CPU time the RabbitMQ node (beam.smp) has used so far, from /proc."""
    try:
        pids = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True, timeout=5).stdout.split()
        total = 0.0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total if pids else None
    except Exception:  # noqa: BLE001 - context only
        return None


def _connect(amqp_uri: str) -> Connection:
    # OS-level socket timeouts bound the calls py-amqp gives no timeout
    # argument (queue_declare/delete, basic_cancel, socket writes while the
    # broker blocks publishers), so a stalled broker cannot hang the run.
    conn = Connection(amqp_uri, connect_timeout=5, heartbeat=0, transport_options={
        "read_timeout": IDLE_TIMEOUT_S, "write_timeout": IDLE_TIMEOUT_S,
    })
    try:
        conn.connect()
    except amqp.exceptions.AMQPError as exc:
        # The broker answered but refused us (e.g. 403 bad login, which
        # py-amqp classes as a *channel* error, not a connection error).
        raise BenchError(
            f"RabbitMQ at {conn.as_uri()} refused the connection: {str(exc).rstrip('.')}. "
            "Check the user, password and vhost in AMQP_URI."
        ) from exc
    except (OperationalError, OSError) as exc:
        raise BenchError(
            f"cannot connect to RabbitMQ at {conn.as_uri()}: {str(exc).rstrip('.')}. "
            "Is it running? Start it with `rabbitmq-server -detached`."
        ) from exc
    return conn


def _make_body(size: int) -> bytes:
    """An event-envelope-shaped JSON document padded to about `size` bytes.

    Every field has a fixed encoded width (uuid4, microsecond ISO time), so
    measuring one empty-padded envelope gives the exact pad length.
    """
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": "bench_event",
        "schema_version": 1,
        "occurred_at": datetime.now(CST).isoformat(timespec="microseconds"),
        "source": "bench",
        "org_unit_id": "u1",
        "correlation_id": None,
        "data": {"pad": ""},
    }
    envelope["data"]["pad"] = "x" * max(0, size - len(json.dumps(envelope)))
    return json.dumps(envelope).encode()


class _Deadline:
    """Caps a whole phase on top of the per-wait IDLE_TIMEOUT_S."""

    def __init__(self, seconds: float, what: str):
        self._end = time.monotonic() + seconds
        self._seconds = seconds
        self._what = what

    def wait_for(self) -> float:
        """How long the next blocking call may wait; raises once expired."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise BenchError(f"{self._what} did not finish within {self._seconds:.0f}s")
        return min(IDLE_TIMEOUT_S, left)


def _drain(connection: amqp.Connection, deadline: _Deadline, waiting_for: str) -> None:
    """Process one inbound frame, failing clearly if the broker goes quiet."""
    timeout = deadline.wait_for()
    try:
        connection.drain_events(timeout=timeout)
    except socket.timeout:
        raise BenchError(f"broker silent for {timeout:.0f}s while waiting for {waiting_for}") from None


class _ConfirmedPublisher:
    """Persistent publishes with pipelined confirms, at most `window` in flight.

    py-amqp only waits per message when the connection has
    ``confirm_publish=True``; we leave that off and track delivery tags
    ourselves. py-amqp does not number publishes for us: after
    confirm.select the broker tags them 1, 2, 3... per channel.
    """

    def __init__(self, channel: amqp.Channel, queue: str, window: int):
        self._channel = channel
        self._queue = queue
        self._window = window
        self._next_tag = 1
        self._unconfirmed: set[int] = set()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        # Without a handler py-amqp raises a bare ChannelError from whatever
        # call happens to read the frame; an unroutable message is acked
        # (not nacked), so this is the only way to notice it.
        channel.events["basic_return"].add(self._on_return)

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            # The set never exceeds `window`, so rebuilding it is cheap.
            self._unconfirmed = {t for t in self._unconfirmed if t > delivery_tag}
        else:
            self._unconfirmed.discard(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        raise BenchError(f"broker nacked message {delivery_tag} (multiple={multiple})")

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        raise BenchError(f"broker returned an unroutable message to {routing_key!r}: {exc}")

    def publish(self, body: bytes, deadline: _Deadline) -> None:
        while len(self._unconfirmed) >= self._window:
            _drain(self._channel.connection, deadline, "publisher confirms")
        message = amqp.Message(
            body,
            content_type="application/json",
            delivery_mode=2,
            application_headers={SENT_AT_HEADER: time.time()},
        )
        # Tracked before sending: py-amqp's basic_publish itself reads pending
        # frames (its connection.blocked check), so acks can run inside it.
        self._unconfirmed.add(self._next_tag)
        self._next_tag += 1
        self._channel.basic_publish(message, exchange="", routing_key=self._queue, mandatory=True)

    def wait_all_confirmed(self, deadline: _Deadline) -> None:
        while self._unconfirmed:
            _drain(self._channel.connection, deadline, "the last publisher confirms")

    def serve_until(self, when: float) -> None:
        """Handle confirms while waiting for a pacing slot (perf_counter time)."""
        while (left := when - time.perf_counter()) > 0:
            try:
                self._channel.connection.drain_events(timeout=left)
            except socket.timeout:
                return


class _BatchAcker:
    """Consumer callback acking with multiple=True every `every` deliveries."""

    def __init__(self, channel: amqp.Channel, expected: int, every: int, on_message=None):
        self._channel = channel
        self.expected = expected
        self._every = every
        self._on_message = on_message
        self.received = 0

    def __call__(self, message: amqp.Message) -> None:
        if self._on_message is not None:
            self._on_message(message)
        self.received += 1
        if self.received % self._every == 0 or self.received == self.expected:
            self._channel.basic_ack(message.delivery_tag, multiple=True)

    @property
    def done(self) -> bool:
        return self.received >= self.expected


def _consume(channel: amqp.Channel, queue: str, acker: _BatchAcker, prefetch: int,
             deadline: _Deadline, progress=None) -> None:
    channel.basic_qos(0, prefetch, False)
    tag = channel.basic_consume(queue, callback=acker, no_ack=False)
    reported = 0
    while not acker.done:
        _drain(channel.connection, deadline, "deliveries")
        if progress is not None and acker.received - reported >= PROGRESS_EVERY:
            reported = acker.received - acker.received % PROGRESS_EVERY
            progress(f"  consumed {reported:,}/{acker.expected:,}")
    # basic.ack has no reply; this synchronous round-trip on the same channel
    # proves the broker has processed every ack before the clock stops.
    channel.basic_cancel(tag)


def _publish_phase(conn: Connection, queue: str, body: bytes, count: int,
                   window: int, progress) -> float:
    channel = conn.channel()
    publisher = _ConfirmedPublisher(channel, queue, window)
    deadline = _Deadline(PHASE_TIMEOUT_S, "publish phase")
    started = time.perf_counter()
    for i in range(1, count + 1):
        publisher.publish(body, deadline)
        if i % PROGRESS_EVERY == 0:
            progress(f"  published {i:,}/{count:,}")
    publisher.wait_all_confirmed(deadline)
    elapsed = time.perf_counter() - started
    channel.close()
    return rate(count, elapsed)


def _consume_phase(conn: Connection, queue: str, count: int, prefetch: int, progress) -> float:
    channel = conn.channel()
    acker = _BatchAcker(channel, count, max(1, prefetch // 2))
    deadline = _Deadline(PHASE_TIMEOUT_S, "consume phase")
    started = time.perf_counter()
    _consume(channel, queue, acker, prefetch, deadline, progress)
    elapsed = time.perf_counter() - started
    channel.close()
    return rate(count, elapsed)


def _latency_phase(amqp_uri: str, conn: Connection, queue: str, body: bytes, count: int,
                   send_rate: float, prefetch: int, window: int, progress) -> dict:
    latencies: list[float] = []
    ready = threading.Event()
    failure: list[BaseException] = []

    def record(message: amqp.Message) -> None:
        latencies.append(time.time() - message.headers[SENT_AT_HEADER])

    def consumer() -> None:
        # Own connection: py-amqp connections are not thread-safe.
        try:
            with _connect(amqp_uri) as consumer_conn:
                channel = consumer_conn.channel()
                acker = _BatchAcker(channel, count, max(1, prefetch // 2), record)
                deadline = _Deadline(PHASE_TIMEOUT_S, "latency consumer")
                channel.basic_qos(0, prefetch, False)
                channel.basic_consume(queue, callback=acker, no_ack=False)
                ready.set()
                while not acker.done:
                    _drain(channel.connection, deadline, "deliveries")
        except BaseException as exc:  # re-raised in the main thread
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=consumer, name="raw-latency-consumer", daemon=True)
    thread.start()
    if not ready.wait(IDLE_TIMEOUT_S) or failure:
        raise BenchError("latency consumer failed to start") from (failure[0] if failure else None)

    channel = conn.channel()
    publisher = _ConfirmedPublisher(channel, queue, window)
    deadline = _Deadline(PHASE_TIMEOUT_S, "latency producer")
    interval = 1.0 / send_rate
    started = time.perf_counter()
    for i in range(count):
        # Open-loop schedule: a late send is not pushed back, so a slow
        # broker shows up as latency instead of silently lowering the rate.
        publisher.serve_until(started + i * interval)
        publisher.publish(body, deadline)
        if (i + 1) % PROGRESS_EVERY == 0:
            progress(f"  latency: sent {i + 1:,}/{count:,}")
    publisher.wait_all_confirmed(deadline)
    achieved = rate(count, time.perf_counter() - started)
    channel.close()

    thread.join(PHASE_TIMEOUT_S)
    if thread.is_alive():
        raise BenchError("latency consumer did not finish")
    if failure:
        raise failure[0]
    return {"rate_per_s": round(achieved, 1),
            **{k: round(v, 3) for k, v in summarize(latencies).items()}}


def measure(amqp_uri: str, count: int = 20000, size: int = 300, prefetch: int = 500,
            confirm_window: int = 500, progress=print, latency_rate: float = 1000,
            latency_count: int = 5000) -> dict:
    """Measure the raw broker ceiling; see the module docstring for the phases.

    Returns ``{"count", "size_bytes", "publish_confirmed_per_s",
    "consume_ack_per_s", "latency": {"rate_per_s", "p50_ms", "p99_ms",
    "max_ms"}}``. Raises BenchError when the broker is unreachable, silent,
    or rejects a message.
    """
    if min(count, size, prefetch, confirm_window, latency_count) < 1 or latency_rate <= 0:
        raise ValueError("count, size, prefetch, confirm_window, latency_count "
                         "and latency_rate must be positive")
    # Encoded once up front so the publish rate measures the broker path,
    # not json.dumps; only the x-sent-at header is stamped per message.
    body = _make_body(size)
    queue = f"bench.raw.{uuid.uuid4().hex[:8]}"
    latency_n = min(count, latency_count)

    conn = _connect(amqp_uri)
    try:
        conn.default_channel.queue_declare(
            queue, durable=True, auto_delete=False,
            arguments={"x-queue-type": "classic", "x-expires": QUEUE_EXPIRES_MS},
        )
        progress(f"raw broker: {count:,} persistent msgs x {len(body)} B "
                 f"-> {queue} (confirm window {confirm_window})")
        cpu0 = broker_cpu_seconds()
        published = _publish_phase(conn, queue, body, count, confirm_window, progress)
        cpu1 = broker_cpu_seconds()
        progress(f"  publish+confirm: {published:,.0f} msg/s")

        progress(f"raw broker: draining backlog (prefetch {prefetch}, ack every {max(1, prefetch // 2)})")
        consumed = _consume_phase(conn, queue, count, prefetch, progress)
        cpu2 = broker_cpu_seconds()
        progress(f"  consume+ack: {consumed:,.0f} msg/s")

        progress(f"raw broker: latency, {latency_n:,} msgs paced at {latency_rate:,.0f}/s")
        latency = _latency_phase(amqp_uri, conn, queue, body, latency_n, latency_rate,
                                 prefetch, confirm_window, progress)
        progress(f"  p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms")
    finally:
        _delete_queue(conn, amqp_uri, queue, progress)
        conn.release()

    return {
        "count": count,
        "size_bytes": len(body),
        "publish_confirmed_per_s": round(published, 1),
        "consume_ack_per_s": round(consumed, 1),
        "latency": latency,
        # The broker's own CPU per message (None where /proc cannot tell).
        "broker_cpu_us_per_message": None if None in (cpu0, cpu1, cpu2) else {
            "publish_confirm": round((cpu1 - cpu0) / count * 1e6, 1),
            "consume_ack": round((cpu2 - cpu1) / count * 1e6, 1)},
    }


def _delete_queue(conn: Connection, amqp_uri: str, queue: str, progress) -> None:
    """Best-effort cleanup; a failed phase may have broken the main connection."""
    try:
        conn.default_channel.queue_delete(queue)
        return
    except Exception:  # fall through to a fresh connection
        pass
    try:
        with _connect(amqp_uri) as fresh:
            fresh.default_channel.queue_delete(queue)
    except Exception as exc:
        progress(f"warning: could not delete queue {queue} ({exc}); "
                 f"it expires by itself after {QUEUE_EXPIRES_MS // 60000} min")


def _print_table(result: dict) -> None:
    latency = result["latency"]
    rows = [
        ("messages", f"{result['count']:,}"),
        ("body size", f"{result['size_bytes']} B"),
        ("publish (confirmed)", f"{result['publish_confirmed_per_s']:,.0f} msg/s"),
        ("consume + ack", f"{result['consume_ack_per_s']:,.0f} msg/s"),
        ("latency rate", f"{latency['rate_per_s']:,.0f} msg/s"),
        ("latency p50", f"{latency['p50_ms']:.2f} ms"),
        ("latency p99", f"{latency['p99_ms']:.2f} ms"),
        ("latency max", f"{latency['max_ms']:.2f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>14}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.raw_broker",
        description="Measure the raw RabbitMQ ceiling (URI from $AMQP_URI).",
    )
    parser.add_argument("--count", type=int, default=20000, help="messages to publish and consume")
    parser.add_argument("--size", type=int, default=300, help="approximate body size in bytes")
    parser.add_argument("--prefetch", type=int, default=500)
    parser.add_argument("--confirm-window", type=int, default=500, help="max unconfirmed publishes")
    parser.add_argument("--latency-rate", type=float, default=1000, help="paced msgs/s in the latency phase")
    parser.add_argument("--latency-count", type=int, default=5000, help="messages in the latency phase (capped at --count)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)

    # With --json, keep stdout machine-readable and send progress to stderr.
    progress = (lambda line: print(line, file=sys.stderr)) if args.json else print
    try:
        result = measure(
            os.environ.get("AMQP_URI", DEFAULT_AMQP_URI), count=args.count, size=args.size,
            prefetch=args.prefetch, confirm_window=args.confirm_window, progress=progress,
            latency_rate=args.latency_rate, latency_count=args.latency_count,
        )
    except (BenchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print()
        _print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
