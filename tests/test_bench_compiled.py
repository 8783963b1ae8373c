"""The bench's compiled workload: every row measured on the engine in use (micrograd's
digits row says why it is absent), the README expression as micrograd's README computes
it, and the targets table reads the compiled rows."""
from __future__ import annotations

import pytest

from fastgrad.bench import compiled, report
from fastgrad.bench.spec import METRICS, Config
from fastgrad.bench.workloads import load_kit

pytest.importorskip("sklearn")
TINY = Config(chain_ops=10, budget=0.0, min_repeats=1, mesh_side=2)
KEYS = {m.key for m in METRICS if m.workload == "compiled"}


def test_the_readme_expression_is_micrograds() -> None:
    import fastgrad
    g, a, b = compiled.readme_expression(fastgrad.Value)
    g.backward()
    assert f"{g.data:.4f}" == "24.7041" and f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_every_compiled_row_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastgrad
    monkeypatch.setattr(compiled, "_block", lambda step: (step(), 1e-3)[1])
    kit = load_kit("fastgrad" if fastgrad.backend == "fast" else "pure")
    result = compiled.workload(kit, TINY)
    assert set(result) == KEYS
    for key in KEYS:
        if ("_over_" not in key and "floor" not in key) or fastgrad.backend == "fast":
            assert isinstance(result[key], float) and result[key] > 0, key


def test_the_targets_read_the_compiled_rows() -> None:
    results = {"moons_over_compiled": {"torch": 6.0}, "digits_over_compiled": {"torch": 1.2},
               "expr_over_compiled": {"fastgrad": 4.0}}
    verdicts = {t.figure: t.met for t in report.targets(results)}
    assert verdicts["compiled moons step vs torch"] is True
    assert verdicts["compiled digits step vs torch"] is False
    assert verdicts["README expression replayed vs built"] is True
