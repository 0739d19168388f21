"""Fixtures of the substances tests: the shared list of scheduled precursors, read once, and engines over it.

The list lives in the shared data folder beside the checkout (`../shared/data/precursors`), as the KCS
declarations do for the risk tests: without it the tests that need it skip, except under CI, where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portguard.substances import registry
from portguard.substances.chemistry import Unmasker
from portguard.substances.registry import RegistryFile

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
PRECURSORS = registry.precursor_file(DATA)


@pytest.fixture(scope="session")
def precursors() -> RegistryFile:
    """The shared list of scheduled precursors, as read by the registry."""
    if not PRECURSORS.is_file():
        reason = f"the scheduled precursors list is not in ../shared/data ({registry.PRECURSORS_FILE})"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return registry.read_csv(PRECURSORS)


@pytest.fixture(scope="session")
def by_name(precursors: RegistryFile) -> dict[str, registry.SubstanceRecord]:
    return precursors.by_name()


@pytest.fixture(scope="session")
def unmasker(precursors: RegistryFile) -> Unmasker:
    """Unmasking against the list's category 1 and 2 organic structures."""
    return Unmasker(registry.unmasking_targets(precursors.records))
