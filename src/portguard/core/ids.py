"""Identifiers: random, URL-safe, and prefixed by kind so an id says what it names (`org_…`, `usr_…`)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """A new random id such as `org_5f3c…` (96 bits of randomness)."""
    return f"{prefix}_{secrets.token_hex(12)}"
