"""The outbox relay's life cycle, with a fake publisher: it connects as it
starts (the first write then does not wait for a connection), and keeps
trying while the broker is unreachable."""
import threading

from lianxin.publisher import PublishResult
from lianxin.relay import OutboxRelay
from lianxin.store import ServiceDb
from tests.support.fakes import fresh_database


class RecordingPublisher:
    def __init__(self, fail_connects=0):
        self.calls = []
        self.fail_connects = fail_connects
        self.connected = threading.Event()

    def connect(self):
        self.calls.append("connect")
        if self.fail_connects:
            self.fail_connects -= 1
            raise ConnectionRefusedError("broker down")
        self.connected.set()

    def publish(self, messages, more=None):
        self.calls.append("publish")
        return PublishResult(confirmed=[m.message_id for m in messages])

    def close(self):
        self.calls.append("close")


def run_until_connected(publisher, **kwargs):
    relay = OutboxRelay("test", ServiceDb(fresh_database(), ["things"]), publisher, **kwargs)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        assert publisher.connected.wait(5), publisher.calls
    finally:
        relay.stop()
        thread.join(5)
    return relay


def test_the_relay_connects_as_it_starts_before_anything_is_written():
    publisher = RecordingPublisher()
    run_until_connected(publisher)
    assert publisher.calls[0] == "connect" and "publish" not in publisher.calls


def test_a_relay_that_cannot_connect_keeps_trying_and_says_why():
    publisher = RecordingPublisher(fail_connects=2)
    relay = run_until_connected(publisher, retry_interval=0.01)
    assert publisher.calls[:4] == ["connect", "close", "connect", "close"]
    assert relay.last_error == "ConnectionRefusedError: broker down"
