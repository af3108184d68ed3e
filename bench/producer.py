"""A producing service in its own process, as in production: `python -m bench.producer`.

It is activities' writing side and nothing else: a `ServiceDb` on the
embedded store whose writes carry `deed_recorded` events in their outbox,
and the `OutboxRelay` publishing them with confirms in a greenthread, on
eventlet as nameko runs it. `bench/lianxin_path.py` drives it over
stdin/stdout, one JSON object per line:

    child  -> {"ready": ..., "build_us": ...}     envelopes built, relay up
    parent -> "go"                                start writing
    child  -> {"progress": ...}                   now and then
    child  -> {"done": ..., "written_at": file}   all written and confirmed

Writing is either a burst (as fast as the relay keeps up, at most
`--max-pending` events waiting in the outbox, as a busy service would be held
back by its own relay), or paced at `--rate` events/s (open loop: whatever is
due is written in one small batch).
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from eventlet.hubs import trampoline  # noqa: E402

IDLE_TIMEOUT_S = 60.0


def emit(**fields) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def read_command() -> str:
    """A line from the parent, without blocking the relay's greenthread."""
    trampoline(sys.stdin.fileno(), read=True)
    return sys.stdin.readline().strip()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.producer")
    p.add_argument("--uri", required=True)
    p.add_argument("--run", required=True, help="run id: names the database, deeds and members")
    p.add_argument("--unit", required=True, help="org unit the deeds are counted in")
    p.add_argument("--create-unit", action="store_true", help="first publish the org unit's creation")
    p.add_argument("--communities", type=int, default=0,
                   help="with --create-unit: also create this many communities under the unit, "
                        "and spread the deeds over them")
    p.add_argument("--members", type=int, default=2000, help="members the deeds are spread over")
    p.add_argument("--first", type=int, default=0, help="index of the first deed")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seconds", type=float, default=0.0,
                   help="burst: keep writing for this long (0: exactly --count events)")
    p.add_argument("--write-batch", type=int, default=500)
    p.add_argument("--rate", type=float, default=0.0, help="events/s, paced (0: burst)")
    p.add_argument("--max-pending", type=int, default=20000,
                   help="burst: events written but not yet confirmed, at most")
    p.add_argument("--written-at", required=True,
                   help="file for {written_at: {event_id: time}, confirmed_at: {event_id: time}}")
    args = p.parse_args(argv)

    from bench.lianxin_path import Timers, community_id, deed_event
    from lianxin.catalog import CATALOG
    from lianxin.publisher import ConfirmPublisher
    from lianxin.relay import OutboxRelay
    from lianxin.store import ServiceDb, client_for

    confirm_times: dict[str, float] = {}

    class CountingPublisher(ConfirmPublisher):
        confirmed = 0

        def publish(self, messages, more=None):
            # (`more` only when given: the bench also drives older relays, for before/after figures)
            result = super().publish(messages, more) if more is not None else super().publish(messages)
            self.confirmed += len(result.confirmed)
            now = time.time()
            for event_id in result.confirmed:
                confirm_times[event_id] = now
            return result

    try:
        from lianxin import heap
        heap.keep_long_lived_objects_out_of_collections()   # as every service does at start
    except ImportError:
        pass  # an older Lianxin (before/after figures) had no GC settings
    client = client_for(None)
    publisher = CountingPublisher(args.uri)
    relay = None
    db = ServiceDb(client[f"bench_producer_{args.run}"], ["org_units", "deeds"],
                   notify=lambda *a: relay.notify(*a))
    relay = OutboxRelay("bench", db, publisher)
    timers = Timers()
    timers.wrap(db, "insert_many_with_events", "producer: insert_many_with_events")
    timers.wrap(publisher, "publish", "relay: ConfirmPublisher.publish")
    timers.wrap(db, "mark_published", "relay: mark_published")
    if hasattr(publisher, "connect"):
        publisher.connect()  # as a running service's relay is: connected before "ready"
    relay_thread = eventlet.spawn(relay.run)

    base = 0
    if args.create_unit:
        env = CATALOG.new_event("org_unit_created", {
            "org_unit_id": args.unit, "name": "王哥庄街道 (bench)", "level": "street", "parent_id": None,
        }, source="membership", org_unit_id=args.unit)
        db.insert_with_events("org_units", {"_id": args.unit, "name": "bench", "level": "street"}, [env])
        base = 1
        for k in range(args.communities):
            unit_id = community_id(args.unit, k)
            env = CATALOG.new_event("org_unit_created", {
                "org_unit_id": unit_id, "name": f"社区{k} (bench)", "level": "community", "parent_id": args.unit,
            }, source="membership", org_unit_id=unit_id)
            db.insert_with_events("org_units", {"_id": unit_id, "name": unit_id, "level": "community"}, [env])
            base += 1

    started = time.perf_counter()
    items = [deed_event(CATALOG, args.unit, args.first + i, args.run, args.members, args.communities)
             for i in range(args.count)]
    build_us = (time.perf_counter() - started) / max(1, args.count) * 1e6
    emit(ready=True, build_us=round(build_us, 1))
    if read_command() != "go":
        return 1

    timers.reset()
    written_at: dict[str, float] = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    sent = batches = 0
    if args.rate > 0:
        interval = 1.0 / args.rate
        while sent < args.count:
            due = min(args.count, int((time.perf_counter() - wall0) / interval) + 1)
            if due > sent:
                chunk = items[sent:due]
                now = time.time()
                for _, env in chunk:
                    written_at[env["event_id"]] = now
                db.insert_many_with_events("deeds", [(doc, [env]) for doc, env in chunk])
                sent, batches = due, batches + 1
            eventlet.sleep(max(0.0, wall0 + sent * interval - time.perf_counter()))
    else:
        next_report = wall0 + 1.0
        while sent < args.count and (not args.seconds or time.perf_counter() - wall0 < args.seconds):
            if sent - (publisher.confirmed - base) >= args.max_pending:
                eventlet.sleep(0.001)  # the relay is behind: let it catch up
                continue
            chunk = items[sent:sent + args.write_batch]
            now = time.time()
            for _, env in chunk:
                written_at[env["event_id"]] = now
            db.insert_many_with_events("deeds", [(doc, [env]) for doc, env in chunk])
            sent, batches = sent + len(chunk), batches + 1
            eventlet.sleep(0)  # the relay runs between writes, as in a service
            if time.perf_counter() >= next_report:
                next_report += 1.0
                emit(progress=True, written=sent, confirmed=publisher.confirmed - base,
                     t=round(time.perf_counter() - wall0, 3))
    writes_done = time.perf_counter() - wall0
    last_change, last = time.monotonic(), publisher.confirmed
    while publisher.confirmed - base < sent:
        if publisher.confirmed != last:
            last_change, last = time.monotonic(), publisher.confirmed
        elif time.monotonic() - last_change > IDLE_TIMEOUT_S:
            emit(error=f"nothing confirmed for {IDLE_TIMEOUT_S:.0f}s; relay error: {relay.last_error}")
            return 1
        eventlet.sleep(0.002)
    confirmed_at = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    with open(args.written_at, "w") as f:
        json.dump({"written_at": written_at, "confirmed_at": {k: confirm_times[k] for k in written_at}}, f)
    outbox_left = len(db.pending_events(10))
    emit(done=True, written=sent, batches=batches, writes_done_s=round(writes_done, 3),
         all_confirmed_s=round(confirmed_at, 3), cpu_s=round(cpu, 3),
         cpu_us_per_event=round(cpu / max(1, sent) * 1e6, 1), outbox_left=outbox_left,
         relay_error=relay.last_error, written_at=args.written_at,
         peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
         time_in=timers.report(max(1, sent), confirmed_at))
    relay.stop()
    with eventlet.Timeout(10, False):
        relay_thread.wait()
    publisher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
