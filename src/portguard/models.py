"""Imports every domain's tables so that `Base.metadata` is complete (for migrations and test set-up)."""

from __future__ import annotations


def load_all() -> None:
    """Import each domain's models module (registers its tables on the shared metadata)."""
    import portguard.controls.models
    import portguard.core.audit
    import portguard.core.policy
    import portguard.declarations.models
    import portguard.network.models
    import portguard.personnel.models
    import portguard.release.models
    import portguard.risk.models
    import portguard.sharing.models
    import portguard.substances.models
    import portguard.tracking.models  # noqa: F401
