"""py-amqp I/O shortcuts (lianxin.amqp_reads, lianxin.amqp_writes): the frames
read and the bytes written are exactly py-amqp's, in fewer system calls; and
the publisher settles multiple acks as a prefix of what it sent."""
import socket
from struct import pack

import pytest
from amqp import transport as amqp_transport
from amqp.exceptions import UnexpectedFrame

from lianxin import amqp_reads, amqp_writes
from lianxin.publisher import ConfirmPublisher, PublishResult


def frame(frame_type: int, channel: int, payload: bytes) -> bytes:
    return pack(">BHI", frame_type, channel, len(payload)) + payload + b"\xce"


class CountingSocket:
    """One end of a socketpair, counting recv calls."""
    def __init__(self, sock):
        self.sock, self.recvs = sock, 0

    def recv(self, n):
        self.recvs += 1
        return self.sock.recv(n)


@pytest.fixture
def wired_transport():
    """A py-amqp TCP transport reading from one end of a socketpair."""
    ours, theirs = socket.socketpair()
    transport = amqp_transport.TCPTransport.__new__(amqp_transport.TCPTransport)
    counting = CountingSocket(ours)
    transport.sock, transport._read_buffer, transport.connected = ours, b"", True
    transport._quick_recv, transport.raise_on_initial_eintr = counting.recv, True
    yield transport, theirs, counting
    ours.close()
    theirs.close()


def test_frames_sent_together_are_read_with_one_recv_and_come_out_whole(wired_transport):
    transport, peer, counting = wired_transport
    sent = [(1, 1, b"method" * 3), (2, 1, b"header"), (3, 1, "正文".encode() * 100)]
    peer.sendall(b"".join(frame(*f) for f in sent))
    assert [transport.read_frame() for _ in sent] == sent
    assert counting.recvs == 1
    assert transport._read_buffer == b""


def test_a_frame_split_across_sends_is_completed_from_the_socket(wired_transport):
    transport, peer, counting = wired_transport
    whole = frame(3, 2, b"x" * 5000)
    peer.sendall(frame(1, 2, b"m") + whole[:100])
    assert transport.read_frame() == (1, 2, b"m")
    peer.sendall(whole[100:])
    assert transport.read_frame() == (3, 2, b"x" * 5000)
    assert counting.recvs == 2


def test_a_buffered_frame_with_a_bad_end_octet_is_refused(wired_transport):
    transport, _, _ = wired_transport
    transport._read_buffer = frame(1, 1, b"abc")[:-1] + b"\x00" + frame(1, 1, b"next")
    with pytest.raises(UnexpectedFrame):
        transport.read_frame()


def test_only_whole_buffered_frames_are_cut_out():
    class Held:
        _read_buffer = frame(1, 1, b"abcdef")[:-1]      # everything but the end octet
    assert amqp_reads._buffered_frame(Held) is None
    Held._read_buffer += b"\xce" + b"\x01\x00"
    assert amqp_reads._buffered_frame(Held) == (1, 1, b"abcdef")
    assert Held._read_buffer == b"\x01\x00"


class RecordingTransport:
    """py-amqp's transport surface used by amqp_writes: `_write` set on the
    instance (as TCPTransport does) and `write` calling it."""
    def __init__(self):
        self.sent = []
        self._write = self.sent.append

    def write(self, data):
        self._write(bytes(data))


class Connection:
    def __init__(self):
        self.transport = RecordingTransport()


def test_coalesced_writes_go_out_once_in_order_even_from_a_reused_buffer():
    conn = Connection()
    reused = bytearray(4)          # py-amqp hands over views of one reused buffer
    with amqp_writes.coalesced(conn):
        for chunk in (b"aaaa", b"bbbb", b"cccc"):
            reused[:] = chunk
            conn.transport.write(memoryview(reused))
        assert conn.transport.sent == []
    assert conn.transport.sent == [b"aaaabbbbcccc"]
    conn.transport.write(b"after")                      # plain writes again
    assert conn.transport.sent[-1] == b"after"


def test_coalesced_writes_are_dropped_when_the_block_fails():
    conn = Connection()
    with pytest.raises(RuntimeError):
        with amqp_writes.coalesced(conn):
            conn.transport.write(b"half a batch")
            raise RuntimeError("broker gone")
    assert conn.transport.sent == []
    conn.transport.write(b"x")
    assert conn.transport.sent == [b"x"]


def test_a_multiple_ack_settles_exactly_the_tags_up_to_it():
    publisher = ConfirmPublisher("amqp://unused")
    publisher._tags = {1: "a", 2: "b", 3: "c", 4: "d"}
    publisher._result = PublishResult()
    publisher._on_ack(2, True)
    assert publisher._result.confirmed == ["a", "b"] and list(publisher._tags) == [3, 4]
    publisher._on_nack(4, False)
    assert publisher._result.failed == {"d": "nacked by the broker"} and list(publisher._tags) == [3]
