"""Every served route is documented in OpenAPI, and every documented route is served."""
import inspect
import re

from services.gateway import openapi
from services.gateway.routes import ROUTES
from services.gateway.service import GatewayService

OPERATIONS = {"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"}


def served() -> set[tuple[str, str]]:
    out = set()
    for _, fn in inspect.getmembers(GatewayService):
        for entrypoint in getattr(fn, "nameko_entrypoints", ()):
            if hasattr(entrypoint, "url") and entrypoint.url not in OPERATIONS:
                out.add((entrypoint.method, entrypoint.url))
    return out


def test_route_table_matches_the_served_routes():
    assert served() == {(r.method, r.path) for r in ROUTES}


def test_openapi_lists_every_route_with_its_body_schema():
    doc = openapi.build()
    for route in ROUTES:
        path = re.sub(r"<(?:any\([^)]*\):)?(\w+)>", r"{\1}", route.path)
        operation = doc["paths"][path][route.method.lower()]
        if route.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"]
        assert all(int(status) for status in operation["responses"])
