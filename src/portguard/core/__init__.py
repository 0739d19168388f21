"""The core every domain imports: settings, database, errors, ids, clock, access policy and audit chain.

`core` imports no domain package; domains import `core`.
"""
