"""Shared pytest setup: the backend under test in the header, hypothesis budgets."""
from __future__ import annotations

import gc
import os

import pytest
from hypothesis import HealthCheck, settings

import fastgrad

# The fuzz budget: modest by default so the suite stays fast on the pure backend;
# FASTGRAD_FUZZ_EXAMPLES=50000 turns the property tests into a long fuzzing run.
settings.register_profile(
    "fastgrad",
    max_examples=int(os.environ.get("FASTGRAD_FUZZ_EXAMPLES", "150")),
    deadline=None,  # shared machines: per-example timing is noise, never a failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("fastgrad")


def pytest_report_header() -> str:
    return f"fastgrad backend: {fastgrad.backend}"


@pytest.fixture(scope="module")
def fresh_heap() -> None:
    """Collect the cyclic garbage earlier modules left (e.g. exec namespaces holding
    Values), so a collection in the middle of a test cannot change live_nodes.
    Once per module: a full collection costs ~0.3 s once torch is loaded."""
    gc.collect()
