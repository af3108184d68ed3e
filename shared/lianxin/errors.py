"""The error vocabulary shared by domain code, services and the gateway.

Domain code raises these; adapters turn them into problem+json (HTTP) or a
rejection with a reason (events). Each carries an HTTP status so one mapping
serves every service.
"""
from __future__ import annotations


class LianxinError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}

    def to_problem(self) -> dict:
        problem = {
            "type": f"https://lianxin.example/problems/{self.slug()}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            problem["errors"] = self.errors
        return problem

    @classmethod
    def slug(cls) -> str:
        return cls.title.lower().replace(" ", "-")


class InvalidInput(LianxinError):
    """Input that breaks a schema or a rule about its own fields (400)."""
    status = 400
    title = "Invalid input"


class NotFound(LianxinError):
    status = 404
    title = "Not found"


class Conflict(LianxinError):
    """A conflicting id, or a state change the rules forbid (409)."""
    status = 409
    title = "Conflict"


class StaleWrite(Conflict):
    """The document changed between read and write (optimistic concurrency).

    Handlers re-read and re-apply (lianxin.commands.retrying); if that keeps
    failing, HTTP answers 409 and intake retries the event later."""
    title = "Changed meanwhile"
    retryable = True


class TransientError(LianxinError):
    """Worth retrying: a dependency is down or a reference not yet known."""
    status = 503
    title = "Temporarily unavailable"


PROBLEM_TYPES = {cls.status: cls for cls in (InvalidInput, NotFound, Conflict, TransientError)}


def from_problem(problem: dict) -> LianxinError:
    cls = PROBLEM_TYPES.get(problem.get("status"), LianxinError)
    return cls(problem.get("detail", ""), problem.get("errors"))
