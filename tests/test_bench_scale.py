"""The bench's scale workloads: live-size runs every size up to the config's largest and
says why it skips the rest; the README expression on floats is micrograd's value; the
targets table reads the worst live size."""
from __future__ import annotations

from fastgrad.bench import report, scale
from fastgrad.bench.compiled import readme_expression
from fastgrad.bench.measure import NA
from fastgrad.bench.spec import LIVE_EXPONENTS, METRICS, Config

TINY = Config(chain_ops=10, budget=0.0, min_repeats=1, mesh_side=2, live_max=10**4)


def test_live_size_runs_up_to_its_largest_size_and_caps() -> None:
    import fastgrad
    result = scale.live_size(fastgrad.Value, TINY, cap=10**3)
    assert set(result) == {m.key for m in METRICS if m.workload == "live-size"}
    for loop in ("cheap", "mixed"):
        assert isinstance(result[scale.live_key(loop, 3)], float)
        assert result[scale.live_key(loop, 3)] > 0
        assert isinstance(result[scale.live_key(loop, 4)], NA)  # over the cap
        assert result[scale.live_key(loop, 4)].short == "capped"
        for e in LIVE_EXPONENTS[2:]:
            assert result[scale.live_key(loop, e)].short == "not run"  # type: ignore[union-attr]


def test_the_floats_readme_expression_is_the_engines() -> None:
    import fastgrad
    assert scale.readme_floats() == readme_expression(fastgrad.Value)[0].data
    assert scale.cheap(0.1, 0.5, 0.25, 3) == scale.cheap(fastgrad.Value(0.1), fastgrad.Value(0.5),
                                                         fastgrad.Value(0.25), 3).data


def test_readme_is_measured() -> None:
    import fastgrad
    result = scale.readme(fastgrad.Value, TINY)
    assert set(result) == {m.key for m in METRICS if m.workload == "readme"}
    assert all(isinstance(v, float) and v > 0 for v in result.values())


def test_the_targets_read_the_worst_live_size() -> None:
    results = {scale.live_key("cheap", 3): {"fastgrad": 1.2},
               scale.live_key("mixed", 7): {"fastgrad": 1.7}, "readme_over_floats":
               {"fastgrad": 1.5}}
    verdicts = {t.figure: t for t in report.targets(results)}
    live = verdicts["forward, per op, live 10^3..10^7"]
    assert live.met is False and "live_mixed_7" in live.measured
    assert verdicts["README expression fresh + backward"].met is True
