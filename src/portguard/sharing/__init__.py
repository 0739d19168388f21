"""Organisations, users, roles, sharing groups, credentials, and shared notes (the first protected record)."""
