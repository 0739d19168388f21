"""Errors that carry their own HTTP status and render as RFC 9457 problem details.

Service code raises these; the API turns them into `application/problem+json`, the CLI into a red line and a
non-zero exit. A message says what was wrong and, where it helps, what to do instead.
"""

from __future__ import annotations

from typing import Any


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
