"""Shared pytest setup: the backend under test in the header, the hypothesis profile."""
from __future__ import annotations

import fnmatch
import gc
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

import fastgrad

# Example budgets are per test (programs.fuzz_settings: FASTGRAD_FUZZ_EXAMPLES=50000
# turns the engine property tests into a long fuzzing run); this profile sets the rest.
settings.register_profile(
    "fastgrad",
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


@pytest.fixture
def fast_switching(request: pytest.FixtureRequest) -> Iterator[None]:
    """Threads switch every SWITCH_INTERVAL seconds (the module's, else 1 us) during the
    test, so races get many chances to show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(getattr(request.module, "SWITCH_INTERVAL", 1e-6))
    yield
    sys.setswitchinterval(interval)


# The tests CI runs under the sanitizer build (scripts/sanitize.sh -m sanitize): those that
# drive the C core hardest. A module opts in with `pytestmark = pytest.mark.sanitize`; these
# name patterns mark the families that exist, so a new module in one is covered unedited.
SANITIZE = ("test_engine_*", "test_network*", "test_limits*", "*reentr*", "*fuzz*")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sanitize: run under scripts/sanitize.sh -m sanitize")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(fnmatch.fnmatch(item.path.stem, pattern) for pattern in SANITIZE):
            item.add_marker(pytest.mark.sanitize)
