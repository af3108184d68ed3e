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
py-amqp asked for. Installed once per process by importing this module (the
publisher and the consumer do); TLS connections use py-amqp's SSL transport,
which is left as it is.
"""
from __future__ import annotations

import errno
import socket

from amqp import transport as _transport

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


def install() -> None:
    if getattr(_transport.TCPTransport, "_lianxin_read_ahead", False):
        return
    _transport.TCPTransport._read = _read
    _transport.TCPTransport._lianxin_read_ahead = True


install()
