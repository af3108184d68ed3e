"""nameko's HTTP entrypoint on a server that sends responses without delay.

eventlet's WSGI server writes a response's headers and body in separate
sends. On a kept-alive connection without TCP_NODELAY, Nagle's algorithm
holds the second send until the client's delayed ACK (~40 ms on Linux):
every response of more than one segment took 40 ms more than it needed
(measured: a 25 KB file 44 ms kept-alive, 1-3 ms with TCP_NODELAY).

A request that matches no route (404) or a route but not its method (405)
never reaches an entrypoint: werkzeug's router refuses it, and nameko sent
werkzeug's HTML page. It gets problem+json like every other refusal (API.md).
"""
from __future__ import annotations

import json
import socket

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from ..errors import NotFound

PROBLEM_JSON = "application/problem+json"


def routing_problem(exc: HTTPException) -> Response:
    """The router's refusal as problem+json (no echo of the path or method)."""
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        body = {"type": "https://lianxin.example/problems/method-not-allowed", "title": "Method not allowed",
                "status": 405, "detail": f"this endpoint does not take that method; it takes {allowed}"}
        headers = {"Allow": allowed}
    elif exc.code == 404:
        body, headers = NotFound("no endpoint at this path (see /api/v1/openapi.json)").to_problem(), {}
    else:
        body = {"type": "https://lianxin.example/problems/bad-request", "title": exc.name, "status": exc.code,
                "detail": "the request was refused before reaching an endpoint"}
        headers = {}
    return Response(json.dumps(body), status=body["status"], mimetype=PROBLEM_JSON, headers=headers)


class ProblemWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            # A redirect (a missing trailing slash) stays what werkzeug makes of it.
            response = exc if exc.code is None or exc.code < 400 else routing_problem(exc)
            return response(environ, start_response)
        request.path_values = values
        try:
            rv = provider.handle_request(request)
        except HTTPException as exc:
            rv = exc
        return rv(environ, start_response)


class NoDelayWebServer(WebServer):
    def process_request(self, sock, address):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:         # not TCP (a unix socket in a test): nothing to tune
            pass
        super().process_request(sock, address)

    def get_wsgi_app(self):
        return ProblemWsgiApp(self)


class NoDelayHttpRequestHandler(HttpRequestHandler):
    server = NoDelayWebServer()


http = NoDelayHttpRequestHandler.decorator
