"""Read-ahead for py-amqp's plain TCP transport.

py-amqp reads every frame in exactly-sized pieces: 7 bytes of header, the
payload, the end octet, each a `recv` of just those bytes. A delivered
message is three frames (method, header, body), so consuming one message
costs about nine `recv` calls, each through eventlet's green socket: the
largest single cost of a consumer in the bench's profile. This lets each
`recv` take what the kernel already holds (up to READ_AHEAD bytes) and serves
the following reads from that buffer.

It keeps py-amqp's own contract: `_read(n)` returns exactly n bytes, and the
bytes not yet handed out stay in `self._read_buffer`, which py-amqp already
uses to carry a partial frame across a timeout. A `recv` returns at once
with whatever is available, so reading ahead never waits for more data than
py-amqp asked for.

Once a read has brought in several frames, the next ones are already in the
buffer: `read_frame` then cuts the frame out directly, and `blocking_read`
skips setting the socket timeout (twice per frame), since nothing is read
from the socket. Only a frame not yet wholly buffered takes py-amqp's own
path. Installed once per process by importing this module (the publisher and
the consumer do); TLS connections use py-amqp's SSL transport, which is left
as it is.
"""
from __future__ import annotations

import errno
import socket
from struct import Struct

from amqp import connection as _connection
from amqp import transport as _transport
from amqp.exceptions import UnexpectedFrame

READ_AHEAD = 16384  # bytes; a slice of the remainder is copied per read, so not much larger


def _read(self, n, initial=False, _errnos=(errno.EAGAIN, errno.EINTR)):
    """Read exactly n bytes from the socket, buffering what arrives beyond them."""
    rbuf = self._read_buffer
    if len(rbuf) >= n:
        result, self._read_buffer = rbuf[:n], rbuf[n:]
        return result
    recv = self._quick_recv
    try:
        while len(rbuf) < n:
            try:
                s = recv(max(n - len(rbuf), READ_AHEAD))
            except OSError as exc:
                if exc.errno in _errnos:
                    if initial and self.raise_on_initial_eintr:
                        raise socket.timeout()
                    continue
                raise
            if not s:
                raise OSError("Server unexpectedly closed connection")
            rbuf += s
    except:  # noqa: E722 - exactly py-amqp's handling: keep what was read, re-raise
        self._read_buffer = rbuf
        raise
    result, self._read_buffer = rbuf[:n], rbuf[n:]
    return result


_FRAME_HEADER = Struct(">BHI")   # type, channel, payload size; then the payload and 0xCE
_FRAME_END = 206
_read_frame_from_socket = _transport.TCPTransport.read_frame
_blocking_read_from_socket = _connection.Connection.blocking_read


def _buffered_frame(transport):
    """The next frame, if the read-ahead buffer holds all of it; else None."""
    rbuf = transport._read_buffer
    if len(rbuf) < 8:
        return None
    frame_type, channel, size = _FRAME_HEADER.unpack_from(rbuf)
    end = 7 + size
    if len(rbuf) <= end:
        return None
    if rbuf[end] != _FRAME_END:
        raise UnexpectedFrame(f"Received frame_end {rbuf[end]:#04x} while expecting 0xce")
    payload, transport._read_buffer = rbuf[7:end], rbuf[end + 1:]
    return frame_type, channel, payload


def read_frame(self, unpack=None):
    """py-amqp's read_frame, cutting a wholly buffered frame out directly."""
    frame = _buffered_frame(self)
    return frame if frame is not None else _read_frame_from_socket(self)


def blocking_read(self, timeout=None):
    """py-amqp's blocking_read, without the socket timeout dance for a buffered frame."""
    transport = self.transport
    if getattr(transport, "_lianxin_read_ahead", False):
        frame = _buffered_frame(transport)
        if frame is not None:
            return self.on_inbound_frame(frame)
    return _blocking_read_from_socket(self, timeout)


def install() -> None:
    if getattr(_transport.TCPTransport, "_lianxin_read_ahead", False):
        return
    _transport.TCPTransport._read = _read
    _transport.TCPTransport.read_frame = read_frame
    _connection.Connection.blocking_read = blocking_read
    _transport.TCPTransport._lianxin_read_ahead = True


install()
