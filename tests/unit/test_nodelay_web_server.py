"""The gateway's HTTP server turns Nagle's algorithm off on every connection,
so a response written in two sends does not wait ~40 ms for a delayed ACK."""
import inspect
import socket

from lianxin.nameko.web import NoDelayHttpRequestHandler, NoDelayWebServer
from services.gateway.service import GatewayService


class FakeWsgiServer:
    def __init__(self):
        self.handled = []

    def process_request(self, args):
        self.handled.append(args)


def test_accepted_connections_get_tcp_nodelay():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, address = listener.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        server = NoDelayWebServer()
        server._serv = FakeWsgiServer()
        server.process_request(accepted, address)
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert len(server._serv.handled) == 1      # and the request is still served
    finally:
        for s in (client, accepted, listener):
            s.close()


def test_every_gateway_route_uses_the_no_delay_server():
    entrypoints = [e for _, fn in inspect.getmembers(GatewayService)
                   for e in getattr(fn, "nameko_entrypoints", ()) if hasattr(e, "url")]
    assert entrypoints
    assert all(isinstance(e, NoDelayHttpRequestHandler) for e in entrypoints)
