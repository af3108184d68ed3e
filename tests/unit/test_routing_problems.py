"""A request the router refuses (no such path, or a method the path does not
take) is problem+json like every other refusal, not werkzeug's HTML page.
Found by the HTTP fuzz test (tests/integration/test_fuzz_http.py): GET
/api/v1/reports/0 (a report name outside the route's any(...)) was a
text/html 404."""
import json

from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Response

from lianxin.nameko.web import NoDelayWebServer, ProblemWsgiApp


class Provider:
    def handle_request(self, request):
        return Response("ok")


class Server:
    def make_url_map(self):
        return Map([Rule("/api/v1/reports/<any(deeds,cases):report>", methods=["GET"], endpoint=Provider()),
                    Rule("/dashboard/", methods=["GET"], endpoint=Provider())])


def problem(response, status):
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = json.loads(response.get_data())
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    assert "<" not in response.get_data(as_text=True)
    return body


def test_no_route_is_a_problem_404():
    client = Client(ProblemWsgiApp(Server()))
    assert client.get("/api/v1/reports/deeds").get_data() == b"ok"
    problem(client.get("/api/v1/reports/0"), 404)
    problem(client.get("/api/v1/nope"), 404)


def test_a_method_the_route_does_not_take_is_a_problem_405_with_allow():
    response = Client(ProblemWsgiApp(Server())).post("/api/v1/reports/deeds")
    problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_a_redirect_stays_a_redirect():
    assert Client(ProblemWsgiApp(Server())).get("/dashboard").status_code == 308


def test_the_gateway_server_uses_it():
    server = NoDelayWebServer()
    server._providers = set()
    assert isinstance(server.get_wsgi_app(), ProblemWsgiApp)
