"""Another system publishing intake to Lianxin: `python -m bench.intake`.

Publishes N `deed_recorded` intake envelopes (a grid app's 为群众办小事实事) to
`lianxin.intake` with pipelined confirms, as an external system would; the
owning service (activities) validates and applies them and publishes the
domain events reporting consumes. Driven like bench/producer.py: prints
{"ready"}, waits for "go", prints {"done", ...}."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.intake")
    p.add_argument("--uri", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--members", type=int, required=True)
    args = p.parse_args(argv)

    from bench.lianxin_path import BENCH_YEAR, DEED_CATEGORIES
    from bench.producer import emit, read_command
    from lianxin.envelope import encode, new_event_id, now_business
    from lianxin.publisher import ConfirmPublisher, Outgoing
    from lianxin.topology import INTAKE_EXCHANGE

    messages = []
    for i in range(args.count):
        member_id = f"m-{args.run}-{i % args.members}"
        envelope = {"event_id": new_event_id(), "event_type": "deed_recorded", "schema_version": 1,
                    "occurred_at": now_business().isoformat(), "source": "grid-app", "org_unit_id": None,
                    "correlation_id": None,
                    "data": {"member_id": member_id, "done_on": (date(BENCH_YEAR, 1, 1) + timedelta(days=i % 365))
                             .isoformat(), "category": DEED_CATEGORIES[i % len(DEED_CATEGORIES)],
                             "description": f"为群众办实事第{i}件：帮助独居老人代缴水电费"}}
        messages.append(Outgoing(INTAKE_EXCHANGE, "deed_recorded", encode(envelope), envelope["event_id"]))
    publisher = ConfirmPublisher(args.uri)
    emit(ready=True)
    if read_command() != "go":
        return 1
    started, cpu0 = time.perf_counter(), time.process_time()
    failed = 0
    for i in range(0, len(messages), 5000):
        failed += len(publisher.publish(messages[i:i + 5000]).failed)
    elapsed = time.perf_counter() - started
    emit(done=True, written=args.count, failed=failed, publish_per_s=round(args.count / elapsed, 1),
         cpu_us_per_event=round((time.process_time() - cpu0) / args.count * 1e6, 1))
    publisher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
