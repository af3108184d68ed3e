"""Coalesced writes for py-amqp: many published messages, one `sendall`.

py-amqp writes each published message (method, header and body frames) with
its own `sendall`, so a publisher pays a system call, and under eventlet a
trip through the green socket, per message: about a quarter of a producing
service's CPU in the bench's profile, plus as many small TCP segments for
the broker to read. Inside `coalesced(connection)` the frames are gathered
in one buffer and written once when the block ends.

Frames are written in exactly the order py-amqp produced them, so the AMQP
stream is byte for byte the same; only its segmentation changes. If the
block raises, nothing gathered is written and the exception propagates: the
caller must then drop the connection (the publisher does), as after any
failed write. Only plain TCP transports are coalesced (py-amqp's SSL
transport writes through its own `_write` method, left as it is).
"""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def coalesced(connection):
    """Gather what py-amqp writes on `connection` (an amqp.Connection) and
    write it in one go at the end of the block."""
    transport = connection.transport
    write = transport.__dict__.get("_write")  # TCPTransport sets sock.sendall here
    if write is None:
        yield
        return
    gathered = bytearray()
    # py-amqp hands over a view of a buffer it reuses for the next frame, so
    # the bytes are copied (extend), not the view kept.
    transport._write = gathered.extend
    try:
        yield
    finally:
        transport._write = write
    if gathered:
        transport.write(gathered)
