"""Extending Value as micrograd's plain class is extended: methods added, replaced and
deleted at run time (`Value.tanh = tanh`, as lectures do), and subclasses. Every test
puts the class back as it found it."""
from __future__ import annotations

import math
import pickle
from collections.abc import Iterator

import pytest

from fastgrad import Value
from fastgrad.nn import MLP

_MISSING = object()


@pytest.fixture
def patch() -> Iterator:
    """patch(name, obj) sets Value.<name> (obj _MISSING: deletes it); undone after."""
    saved: list[tuple[str, object]] = []

    def set_(name: str, obj: object) -> None:
        saved.append((name, Value.__dict__.get(name, _MISSING)))
        if obj is _MISSING:
            delattr(Value, name)
        else:
            setattr(Value, name, obj)

    yield set_
    for name, old in reversed(saved):
        if old is _MISSING:
            if name in Value.__dict__:
                delattr(Value, name)
        else:
            setattr(Value, name, old)


def _square_plus_self(self: Value) -> Value:
    return self * self + self


def test_a_method_added_at_run_time_builds_graphs(patch) -> None:
    patch("square_plus_self", _square_plus_self)
    x = Value(3.0)
    y = x.square_plus_self()
    y.backward()
    assert (y.data, x.grad) == (12.0, 7.0)
    assert "square_plus_self" in dir(x)


def test_a_property_added_at_run_time(patch) -> None:
    patch("twice", property(lambda self: self.data * 2))
    assert Value(1.5).twice == 3.0


def test_deleting_an_added_method(patch) -> None:
    patch("square_plus_self", _square_plus_self)
    patch("square_plus_self", _MISSING)
    with pytest.raises(AttributeError):
        Value(1.0).square_plus_self()


def test_an_operator_replaced_and_put_back(patch) -> None:
    patch("__mul__", lambda self, other: "mul")
    assert Value(2.0) * 3 == "mul"
    patch("__mul__", _MISSING)
    with pytest.raises(TypeError):
        Value(2.0) * 3
    patch("__repr__", lambda self: f"V({self.data:g})")
    assert repr(Value(2.0)) == "V(2)"


def test_operators_after_the_fixture_restored_them() -> None:
    # the previous test replaced and deleted __mul__: the fixture put the original back
    y = Value(2.0) * 3
    y.backward()
    assert isinstance(y, Value) and y.data == 6.0 and y._op == "*"
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"


def test_a_finalizer_added_at_run_time_runs_and_nothing_breaks(patch) -> None:
    died: list[float] = []
    patch("__del__", lambda self: died.append(self.data))
    x = Value(1.5)
    y = x * 2  # on the compiled core, y's node outlives x's facade
    del x
    y.backward()
    assert y._prev.pop().grad == 2.0
    del y
    assert {1.5, 3.0} <= set(died)
    m = MLP(2, [3, 1])
    m([1.0, 2.0]).backward()


def test_a_method_lecture_style_replaces_a_builtin_op(patch) -> None:
    """The lecture's tanh written over exp, set on the class as the lecture does."""

    def tanh(self: Value) -> Value:
        e = (2 * self).exp()
        return (e - 1) / (e + 1)

    patch("tanh", tanh)
    x = Value(0.7)
    y = x.tanh()
    y.backward()
    assert y.data == pytest.approx(math.tanh(0.7), rel=1e-15)
    assert x.grad == pytest.approx(1 - math.tanh(0.7) ** 2, rel=1e-14)


class Named(Value):
    """A subclass as users write one: its own __init__, calling Value's."""

    def __init__(self, data: float, name: str) -> None:
        super().__init__(data)
        self.name = name

    def shout(self) -> str:
        return self.name.upper()


def test_subclasses_take_part_in_graphs() -> None:
    a, b = Named(2.0, "a"), Named(3.0, "b")
    y = a * b + a
    y.backward()
    assert (y.data, a.grad, b.grad) == (8.0, 4.0, 2.0)
    assert a.shout() == "A" and a in y._prev.pop()._prev | y._prev
    assert type(y) is Value  # an op makes a Value, as micrograd's `Value(...)` does


def test_methods_added_to_value_reach_subclasses(patch) -> None:
    patch("square_plus_self", _square_plus_self)
    assert Named(3.0, "x").square_plus_self().data == 12.0


def test_an_extended_value_still_pickles(patch) -> None:
    patch("square_plus_self", _square_plus_self)
    v = pickle.loads(pickle.dumps(Value(3.0).square_plus_self()))
    assert v.data == 12.0 and v.square_plus_self().data == 156.0


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
@pytest.mark.parametrize("sub_side", ["left", "right", "both"])
def test_subclass_operands_keep_their_edges(op: str, sub_side: str) -> None:
    """Python asks a subclass's reflected method first (Value op Named calls
    Named.__r<op>__): the other side is a Value there, never a constant."""
    a = Named(1.5, "a") if sub_side != "right" else Value(1.5)
    b = Named(2.5, "b") if sub_side != "left" else Value(2.5)
    x, y = Value(1.5), Value(2.5)
    got, want = eval(f"a {op} b"), eval(f"x {op} y")
    got.backward()
    want.backward()
    assert got._op == want._op and len(got._operands) == 2
    assert (got.data, a.grad, b.grad) == (want.data, x.grad, y.grad)
