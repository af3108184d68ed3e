"""Broker connections force-closed mid-stream: nothing lost, nothing doubled."""
import threading
import time

from tests.integration.test_delivery import member_body, stored_events
from tests.integration.test_http_to_report import seed_tree
from tests.support.system import eventually, intake_envelope


def test_force_closed_connections_lose_nothing_and_double_nothing(system, vhost):
    system.start()
    seed_tree(system)
    eventually(lambda: system.summary("wgz").get("members") is not None, message="tree in reporting")
    total = 600
    envelopes = [intake_envelope("member_registered", member_body(i)) for i in range(total)]

    def close_repeatedly():
        for _ in range(3):
            time.sleep(0.3)
            vhost.close_connections()

    closer = threading.Thread(target=close_repeatedly)
    closer.start()
    for start in range(0, total, 50):
        for attempt in range(20):  # the test's own publisher is force-closed too
            try:
                system.publish_intake(envelopes[start:start + 50])
                break
            except Exception:  # noqa: BLE001 - republishing is safe: intake is idempotent
                system._publisher.close()
                time.sleep(0.2)
        time.sleep(0.05)
    closer.join()
    consumers = [ext.consumer for c in system.containers.values() for ext in c.entrypoints if hasattr(ext, "consumer")]
    assert sum(c.connection_losses for c in consumers) >= len(consumers), "the fault was not injected"

    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == total, timeout=60,
               message=f"{total} members in summary")
    assert system.store("membership").db["members"].count_documents({}) == total
    assert stored_events(system) == total
    assert system.store("reporting").model.applied == total + 3
