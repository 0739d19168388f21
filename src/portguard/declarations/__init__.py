"""Cargo declarations: the schema (ICS2 / WCO Data Model level), validation, readers and the ingest."""
