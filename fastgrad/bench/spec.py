"""What the bench measures: backends, workloads, their metrics, and the run's sizes."""
from __future__ import annotations

from dataclasses import asdict, dataclass

# Columns, in table order. "floats" is the interpreter's own arithmetic: the floor.
BACKENDS = ("floats", "fastgrad", "pure", "micrograd", "torch")
BACKEND_TITLES = {"floats": "floats", "fastgrad": "fastgrad", "pure": "fastgrad.pure",
                  "micrograd": "micrograd", "torch": "torch"}


@dataclass(frozen=True)
class Metric:
    key: str
    workload: str
    label: str
    unit: str  # "s" (seconds), "B" (bytes), "x" (a ratio) or "nodes"
    ratio: bool = True  # False where a ratio means nothing (a residue that should be 0)


METRICS: tuple[Metric, ...] = (
    Metric("op_forward", "per-op", "per-op forward (mixed * + - / relu), per op", "s"),
    Metric("op_backward", "per-op", "per-op backward, per op", "s"),
    Metric("op_over_floats", "per-op", "per-op forward over floats, interleaved", "x", ratio=False),
    Metric("moons_step", "moons", "moons demo step (100 samples, MLP 2-16-16-1)", "s"),
    Metric("moons_over_fastgrad", "moons", "moons step over fastgrad's, interleaved", "x",
           ratio=False),
    Metric("chain_forward", "deep-chain", "deep chain forward, whole chain", "s"),
    Metric("chain_backward", "deep-chain", "deep chain backward, whole chain", "s"),
    Metric("mem_node", "memory", "memory per node (engine accounting)", "B"),
    Metric("mem_node_rss", "memory", "memory per node (process RSS)", "B"),
    Metric("mem_release", "memory", "left after release (engine accounting)", "B", ratio=False),
    Metric("mem_release_nodes", "memory", "nodes alive after release", "nodes", ratio=False),
    Metric("mem_release_rss", "memory", "left after release (process RSS)", "B", ratio=False),
    Metric("mesh_graph", "mesh", "mesh inference with the graph, per point", "s"),
    Metric("mesh_no_grad", "mesh", "mesh inference under no_grad, per point", "s"),
    Metric("mesh_array", "mesh", "mesh inference, whole array in one call, per point", "s"),
    Metric("digits_step", "digits", "digits MLP 64-32-10 step (batch 32, softmax CE)", "s"),
    Metric("moons_compiled", "compiled", "moons step compiled (others: their own step)", "s"),
    Metric("moons_over_compiled", "compiled", "moons step over fastgrad compiled's, "
           "interleaved (fastgrad: its dynamic path)", "x", ratio=False),
    Metric("moons_floor", "compiled", "moons step as plain C loops, the arithmetic floor "
           "(fastgrad only)", "s", ratio=False),
    Metric("moons_over_floor", "compiled", "moons step compiled over the floor, interleaved "
           "(fastgrad only)", "x", ratio=False),
    Metric("digits_compiled", "compiled", "digits step compiled (others: their own)", "s"),
    Metric("digits_over_compiled", "compiled", "digits step over fastgrad compiled's, "
           "interleaved (fastgrad: dynamic)", "x", ratio=False),
    Metric("expr_compiled", "compiled", "README expression replayed, forward+backward "
           "(others: built each time)", "s"),
    Metric("expr_over_compiled", "compiled", "README expression over fastgrad's replay, "
           "interleaved (fastgrad: dynamic)", "x", ratio=False),
)
LIVE_EXPONENTS = (3, 4, 5, 6, 7)  # live-size workload: graphs of 10^e nodes kept alive
METRICS += tuple(
    Metric(f"live_{loop}_{e}", "live-size", f"forward per op over floats, {loop} loop, "
           f"10^{e} live nodes", "x", ratio=False)
    for loop in ("cheap", "mixed") for e in LIVE_EXPONENTS)
METRICS += (
    Metric("readme_step", "readme", "README expression, fresh graph + backward, per iteration",
           "s"),
    Metric("readme_over_floats", "readme", "README expression fresh + backward over its "
           "forward on floats, interleaved", "x", ratio=False),
)
WORKLOADS = tuple(dict.fromkeys(m.workload for m in METRICS))
FLOOR_WORKLOADS = ("per-op", "deep-chain")  # the ones that mean something on floats
# optional packages a workload needs on every backend: (module, why) - checked up front
REQUIRES = {w: ("sklearn", f"the {w} workload loads scikit-learn's bundled digits; "
                            "pip install scikit-learn") for w in ("digits", "compiled")}


@dataclass(frozen=True)
class Config:
    """Sizes and time budgets of one bench run, handed to every worker."""
    chain_ops: int  # length of the deep chain and of the memory workload's graph
    budget: float  # seconds of measurement per cell, after at least min_repeats
    min_repeats: int
    mesh_side: int  # the mesh is mesh_side x mesh_side points
    live_max: int = 10**7  # the live-size workload's largest graph, in nodes
    seed: int = 1337

    def to_dict(self) -> dict:
        return asdict(self)


FULL = Config(chain_ops=1_000_000, budget=3.0, min_repeats=5, mesh_side=100)
QUICK = Config(chain_ops=100_000, budget=0.3, min_repeats=1, mesh_side=100, live_max=10**4)
