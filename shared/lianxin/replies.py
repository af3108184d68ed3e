"""Replies across RPC: a result with its HTTP status, or a problem.

nameko turns a remote exception into a RemoteError carrying only its type
name and message; the field errors of a 400 would be lost. So services
answer every command with a plain dict, and the gateway unwraps it.
"""
from __future__ import annotations

from typing import Callable

from .errors import LianxinError, from_problem


def created(body) -> dict:
    return {"status": 201, "body": body}


def existing(body) -> dict:
    return {"status": 200, "body": body}


def reply(action: Callable[[], dict]) -> dict:
    """Run a command; a LianxinError becomes {"problem": ...}."""
    try:
        return action()
    except LianxinError as exc:
        return {"problem": exc.to_problem()}


def unwrap(answer: dict) -> tuple[int, object]:
    """(status, body), or raise the problem as the matching LianxinError."""
    if "problem" in answer:
        raise from_problem(answer["problem"])
    return answer["status"], answer["body"]
