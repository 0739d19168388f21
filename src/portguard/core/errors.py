"""Errors that carry their own HTTP status and render as RFC 9457 problem details.

Service code raises these; the API turns them into `application/problem+json`, the CLI into a red line and a
non-zero exit. A message says what was wrong and, where it helps, what to do instead.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class PortGuardError(Exception):
    """Base of every expected error; `status` is the HTTP status it maps to."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        body: dict[str, Any] = {
            "type": f"https://portguard.eu/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class InvalidInput(PortGuardError):
    status, title, slug = 422, "Invalid input", "invalid-input"


class Unauthenticated(PortGuardError):
    status, title, slug = 401, "Authentication required", "unauthenticated"


class Forbidden(PortGuardError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(PortGuardError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(PortGuardError):
    status, title, slug = 409, "Conflict", "conflict"


class Locked(PortGuardError):
    status, title, slug = 423, "Account locked", "locked"


class JustificationRequired(PortGuardError):
    status, title, slug = 428, "Justification required", "justification-required"


class TooManyRequests(PortGuardError):
    status, title, slug = 429, "Too many requests", "too-many-requests"


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error of the API is sent."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": Problem.model_json_schema()}},
    }


# The errors every authenticated route may answer, for the OpenAPI document (`APIRouter(responses=...)`).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem_response("Not signed in, or the token is unknown, expired or revoked"),
    403: _problem_response("Signed in, but no role grants this, or the CSRF token is missing"),
    404: _problem_response("No such record, or not one you may see"),
    422: _problem_response("The request does not match the schema, or a value is refused"),
}
