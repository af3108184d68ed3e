"""HTTP plumbing of the gateway, framework-light (werkzeug only).

problem+json errors, bounded JSON bodies, JSON responses.
"""
from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response

from lianxin.errors import InvalidInput, LianxinError
from lianxin.nameko.web import PROBLEM_JSON
MAX_DEPTH = 32


class PayloadTooLarge(LianxinError):
    status = 413
    title = "Payload too large"


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json", headers=headers)


def problem_response(exc: LianxinError) -> Response:
    return Response(json.dumps(exc.to_problem(), ensure_ascii=False), status=exc.status,
                    mimetype=PROBLEM_JSON)


def internal_error_response() -> Response:
    # Never a stack trace to the caller; the log has it.
    body = {"type": "https://lianxin.example/problems/internal-error", "title": "Internal error",
            "status": 500, "detail": "an unexpected error occurred; it has been logged"}
    return Response(json.dumps(body), status=500, mimetype=PROBLEM_JSON)


def read_json(request: Request, max_bytes: int) -> dict:
    """The body as a JSON object, refused early when too large or too deep."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body is {request.content_length} bytes; the limit is {max_bytes}")
    if request.content_length is None and "chunked" in (request.headers.get("Transfer-Encoding") or "").lower():
        # werkzeug reads a body without Content-Length as empty; the server's input
        # decodes the chunks, and is read here under the same limit.
        raw = request.environ["wsgi.input"].read(max_bytes + 1)
    else:
        raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body exceeds the limit of {max_bytes} bytes")
    if not raw.strip():
        raise InvalidInput("the body is empty; send a JSON object", {"_body": ["required"]})
    if _depth(raw) > MAX_DEPTH:
        raise InvalidInput(f"the body nests deeper than {MAX_DEPTH} levels", {"_body": ["too deeply nested"]})
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", {"_body": ["not valid JSON"]})
    if not isinstance(value, dict):
        raise InvalidInput("the body must be a JSON object", {"_body": ["must be a JSON object"]})
    return value


def _depth(raw: bytes) -> int:
    """Bracket nesting depth, measured before parsing (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest
