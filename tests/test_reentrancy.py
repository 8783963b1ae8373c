"""Re-entrant user code while the engine reads operands, and objects whose __init__
never ran, failed or ran again.

A number's __float__ runs Python in the middle of an engine call: it may mutate the
list being read, re-initialise or drop a Value, raise, or call back into the engine.
Whatever it does, no freed node is named, no two live Values share a node, and a
failure leaves nothing behind. The hand-written cases are the issue's repros; the
property test throws hostile numbers at every public entry point taking operands.
Both backends; the sanitizer job runs this module (conftest's "*reentr*").
"""
from __future__ import annotations

import gc
import pickle
import subprocess
import sys
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastgrad
from fastgrad import Value, arrays, engine, losses, nn, optim
from training import live

pytestmark = pytest.mark.usefixtures("fresh_heap")


class Hostile:
    """A number whose first conversion runs `act` (and may raise from it)."""

    def __init__(self, act: Callable[[], object], x: float = 1.5) -> None:
        self.act, self.x = act, x

    def fire(self) -> None:
        act, self.act = self.act, lambda: None  # once: an act may convert this again
        act()

    def __float__(self) -> float:
        self.fire()
        return self.x

    def __index__(self) -> int:
        self.fire()
        return 1


def distinct(values: list[Value]) -> None:
    """Each live Value has a node of its own: writing one changes no other."""
    values = list({id(v): v for v in values}.values())
    for k, v in enumerate(values):
        v.data = 1000.0 + k
    assert [v.data for v in values] == [1000.0 + k for k in range(len(values))]


# -- the repros ----------------------------------------------------------------

def test_input_clearing_the_list_it_is_read_from() -> None:
    m = nn.MLP(3, [4, 1])
    xs: list[Any] = []
    xs[:] = [1.0, Hostile(xs.clear), 2.0]
    out = m(xs)
    out.backward()
    assert xs == []


def test_input_dropping_the_only_holder_of_a_chain() -> None:
    a = Value(2.0)
    xs: list[Any] = [a * 3 + 1]
    xs.append(Hostile(lambda: xs.__setitem__(0, 0.0)))
    c = fastgrad.sum(xs)
    d = Value(5.0) * 2
    assert c.data == 8.5
    distinct([c, d, *c._prev, a])
    c.backward()
    assert a.grad == 3.0


@pytest.mark.parametrize("call", ["sum", "dot", "Dense"])
def test_reinitialising_an_earlier_operand(call: str) -> None:
    a, b = Value(1.0), Value(2.0)
    h = Hostile(lambda: a.__init__(7.0))
    if call == "sum":
        out = fastgrad.sum([a, h, b])
    elif call == "dot":
        out = fastgrad.dot([a, b], [h, 1.0])
    else:
        out = nn.Dense([[a, h, b]], [0.0], act="linear")([1.0, 1.0, 1.0])[0]
    prev = out._prev
    assert a.data == 7.0
    others = [Value(float(k)) for k in range(4)]
    distinct([a, b, out, *prev, *others])
    assert all(isinstance(p, Value) for p in prev)


# -- uninitialised Values, Denses and Networks -----------------------------------------

class Skipping(Value):
    def __init__(self, data: float) -> None:  # never calls Value.__init__
        self.x = data


BLANKS: dict[str, Callable[[], Any]] = {
    "new": lambda: Value.__new__(Value),
    "subclass": lambda: Skipping(1.0),
}
USES: dict[str, Callable[[Any], Any]] = {
    "data": lambda v: v.data,
    "set data": lambda v: setattr(v, "data", 5.0),
    "grad": lambda v: v.grad,
    "label": lambda v: v.label,
    "op": lambda v: v._op,
    "prev": lambda v: v._prev,
    "add": lambda v: v + 1,
    "radd": lambda v: 1 + v,
    "mul": lambda v: v * Value(2.0),
    "tanh": lambda v: v.tanh(),
    "lt": lambda v: v < 1,
    "float": float,
    "repr": repr,
    "backward": lambda v: v.backward(),
    "sum": lambda v: fastgrad.sum([1.0, v]),
    "dot": lambda v: fastgrad.dot([v], [1.0]),
    "Dense": lambda v: nn.Dense([[v]], [0.0]),
    "Dense call": lambda v: nn.Dense([[1.0]], [0.0])([v]),
    "get_data": lambda v: fastgrad.get_data([v]),
    "set_grad": lambda v: fastgrad.set_grad([v], [1.0]),
}


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("use", USES)
def test_uninitialised_value_is_an_error(blank: str, use: str) -> None:
    a, b = BLANKS[blank](), BLANKS[blank]()
    before = live()
    with pytest.raises(AttributeError, match="not initialised"):
        USES[use](a)
    with pytest.raises(AttributeError, match="not initialised"):
        b.data = 3.0
    assert live() == before


def test_uninitialised_layers_are_an_error() -> None:
    for cls, call in ((nn.Dense, [1.0]), (nn.Network, [1.0])):
        blank = cls.__new__(cls)
        with pytest.raises(AttributeError, match="not initialised"):
            blank(call)
    with pytest.raises(AttributeError, match="not initialised"):
        nn.Network([nn.Dense.__new__(nn.Dense)])


# -- __init__ failing, or called again ------------------------------------------------

def test_dense_init_failing_then_again() -> None:
    d = nn.Dense.__new__(nn.Dense)
    before = live()
    with pytest.raises(ZeroDivisionError):
        d.__init__([[Value(1.0), Value(2.0)], [1.0, Hostile(lambda: 1 / 0)]], [0.0, 0.0])
    assert live() == before
    with pytest.raises(AttributeError, match="not initialised"):
        d([1.0, 1.0])
    d.__init__([[2.0, 3.0]], [1.0], act="linear")  # a failed __init__ made nothing
    assert [y.data for y in d([1.0, 1.0])] == [6.0]


@pytest.mark.parametrize("cls", ["Dense", "Network"])
def test_init_again_is_refused(cls: str) -> None:
    d1 = nn.Dense([[1.0, 2.0]], [0.5], act="linear")
    d2 = nn.Dense([[1.0], [3.0], [4.0]], [0.0, 0.0, 0.0], act="linear")
    obj: Any = d1 if cls == "Dense" else nn.Network([d1, nn.Dense([[2.0]], [0.0])])
    before = [y.data for y in obj([1.0, 1.0])]
    with pytest.raises(TypeError, match="made once"):
        obj.__init__(*(([[1.0]], [0.0]) if cls == "Dense" else ([d2, d2],)))
    assert [y.data for y in obj([1.0, 1.0])] == before


# -- the fuzzer ------------------------------------------------------------------------

class World:
    """What the hostile numbers act on: a pool of Values, the list being read."""

    def __init__(self) -> None:
        self.pool = [Value(float(k) + 0.25) for k in range(4)]
        self.chain = self.pool[0] * self.pool[1] + 1.0
        self.xs: list[Any] = []
        self.mlp = nn.MLP(2, [2, 1])

    def act(self, kind: str, k: int) -> Callable[[], object]:
        pool, xs = self.pool, self.xs
        acts: dict[str, Callable[[], object]] = {
            "clear": xs.clear,
            "drop": lambda: xs.__setitem__(k % len(xs), 0.5) if xs else None,
            "append": lambda: xs.append(Value(3.0) * 2),
            "reinit": lambda: pool[k % len(pool)].__init__(9.0 + k),
            "forget": lambda: pool.__setitem__(k % len(pool), Value(-1.0)),
            "raise": lambda: 1 / 0,
            "build": lambda: (pool[0] * pool[1] + pool[k % len(pool)]).backward(),
            "mlp": lambda: self.mlp([pool[0], 2.0]).backward(),
            "sum": lambda: fastgrad.sum(list(xs)),
            "nothing": lambda: None,
        }
        return acts[kind]


ACTS = ["clear", "drop", "append", "reinit", "forget", "raise", "build", "mlp", "sum",
        "nothing"]
operand = st.one_of(
    st.floats(-3, 3),
    st.integers(0, 3).map(lambda k: ("value", k)),
    st.tuples(st.sampled_from(ACTS), st.integers(0, 7)).map(lambda t: ("hostile", *t)),
)


def entry_points(w: World) -> dict[str, Callable[[list[Any]], Any]]:
    def params(xs: list[Any]) -> list[Value]:
        return w.pool[: max(1, len(xs))]

    return {
        "sum": fastgrad.sum,
        "dot": lambda xs: fastgrad.dot(xs, list(reversed(xs)), xs[0] if xs else 0.0),
        "Dense": lambda xs: nn.Dense([xs, xs], [1.0, xs[-1] if xs else 0.0])(w.pool[:len(xs)]),
        "Dense call": lambda xs: nn.Dense([[0.5] * len(xs)], [0.0])(xs),
        "Network": lambda xs: nn.Network([nn.Dense([[0.5] * len(xs)] * 2, [0.0, 1.0]),
                                          nn.Dense([[1.0, 2.0]], [0.0])])(xs),
        "MLP": lambda xs: nn.MLP(len(xs), [2, 1])(xs),
        "Layer": lambda xs: nn.Layer(len(xs), 2)(xs),
        "Value": lambda xs: [Value(x) for x in xs],
        "ops": lambda xs: [w.chain * x + x for x in xs] + [x - w.pool[1] for x in xs],
        "set data": lambda xs: fastgrad.set_data(params(xs), xs or [0.0]),
        "data attr": lambda xs: [setattr(w.pool[k % 4], "data", x) for k, x in enumerate(xs)],
        "from_array": lambda xs: arrays.from_array(np.array(xs, dtype=object)),
        "SGD": lambda xs: optim.SGD(params(xs), lr=xs[0] if xs else 0.1).step(),
        "Adam": lambda xs: optim.Adam(params(xs), lr=xs[0] if xs else 0.1).step(),
        "mse": lambda xs: losses.mse(xs, list(reversed(xs))),
        "predict": lambda xs: w.mlp.predict(np.array([xs[:2]] if len(xs) >= 2 else [[1.0, 2.0]],
                                                     dtype=object)),
    }


ENTRIES = sorted(entry_points(World()))


def realise(w: World, spec: Any) -> Any:
    if isinstance(spec, float):
        return spec
    if spec[0] == "value":
        return w.pool[spec[1]] if spec[1] < 3 else w.chain
    return Hostile(w.act(spec[1], spec[2]), x=0.5 + spec[2])


def results(out: Any) -> list[Value]:
    if isinstance(out, Value):
        return [out]
    if isinstance(out, (list, tuple)):
        return [v for o in out for v in results(o)]
    return []


@settings(max_examples=200)
@given(entry=st.sampled_from(ENTRIES), specs=st.lists(operand, min_size=0, max_size=5))
def test_hostile_operands(entry: str, specs: list[Any]) -> None:
    w = World()
    w.xs[:] = [realise(w, s) for s in specs]
    try:
        out = entry_points(w)[entry](w.xs)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
        out = None
    outs = results(out)
    for o in outs:
        o.backward()
        for p in o._prev:
            assert isinstance(p, Value)
    distinct(outs + w.pool + [w.chain] + [x for x in w.xs if isinstance(x, Value)])


# -- what the backends and pickles must agree on ---------------------------------------

@pytest.mark.parametrize("limit", [float("nan"), 2.5, 3.0, "3", True])
def test_node_limit_must_be_a_count(limit: Any) -> None:
    try:
        with pytest.raises(TypeError, match="node limit"):
            engine.set_node_limit(limit)
    finally:
        engine.set_node_limit(None)


def test_pickled_model_carries_no_cache_generation(tmp_path: Any) -> None:
    """In another process the generation counter may reach the pickled cache's: the
    cache must not come back there (it did: a bias edit was ignored)."""
    m = nn.MLP(2, [3, 1])
    m([1.0, 2.0])  # the cache is made, at this process's generation
    blob = tmp_path / "m.pkl"
    blob.write_bytes(pickle.dumps((m, nn._generation)))
    script = f"""
import pickle
from fastgrad import Value, nn
m, generation = pickle.loads(open({str(blob)!r}, "rb").read())
nn._generation = generation - 1  # the edit below brings this process to it
m.layers[-1].neurons[0].b = Value(100.0)
print(m([1.0, 2.0]).data > 50)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True"]


class _DyingLabel(str):
    """A label whose death builds and drops graphs: were it kept, its __del__ would run
    inside the store's release of the node it names."""

    made: list[Value] = []

    def __del__(self) -> None:
        _DyingLabel.made.extend(Value(float(k)) * 2 for k in range(200))
        del _DyingLabel.made[:100]


@pytest.mark.parametrize("how", ["setter", "constructor"])
def test_labels_are_kept_as_plain_str(how: str) -> None:
    while gc.collect():  # earlier tests' cycles: not this test's to count
        pass
    start = live()
    for _ in range(30):
        x = Value(1.0)
        for k in range(50):
            x = x * 1.0 + 0.5
            if how == "setter":
                x.label = _DyingLabel(f"n{k}")
                named = x
            else:
                named = Value(0.5, label=_DyingLabel(f"c{k}"))
                x = x + named
            assert type(named.label) is str
            assert named.label == ("n" if how == "setter" else "c") + str(k)
        x.backward()
        del x, named
    _DyingLabel.made.clear()
    while gc.collect():
        pass
    assert live() == start
