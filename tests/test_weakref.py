"""weakref.ref(Value) works on both backends, as on micrograd's plain class: a
weak reference neither keeps the Value nor its node alive."""
from __future__ import annotations

import gc
import weakref

import fastgrad
from fastgrad import Value


def test_a_weak_reference_follows_its_value_and_dies_with_it() -> None:
    v = Value(1.0)
    r = weakref.ref(v)
    assert r() is v
    del v
    assert r() is None


def test_a_weak_reference_keeps_no_node_alive() -> None:
    gc.collect()
    before = fastgrad.stats()["live_nodes"]
    y = Value(2.0) * 3.0 + 1.0
    refs = [weakref.ref(y), *(weakref.ref(c) for c in y._prev)]
    assert fastgrad.stats()["live_nodes"] > before
    del y
    assert all(r() is None for r in refs)
    assert fastgrad.stats()["live_nodes"] == before


def test_values_as_weak_keys_and_values() -> None:
    a, b = Value(1.0), Value(2.0)
    keys = weakref.WeakKeyDictionary({a: "a", b: "b"})
    vals = weakref.WeakValueDictionary({"a": a, "b": b})
    del a
    assert list(keys.values()) == ["b"] and list(vals) == ["b"]


def test_weak_callback_runs_when_the_value_dies() -> None:
    seen: list[object] = []
    v = Value(1.0)
    r = weakref.ref(v, seen.append)
    del v
    assert seen == [r]


def test_a_dead_values_memory_serves_the_next_one_without_its_weak_references() -> None:
    # the compiled core hands a dead facade's memory to the next operation's result
    seen: list[object] = []
    x = Value(1.0)
    dead = [weakref.ref(x * 2.0, seen.append) for _ in range(3)]
    assert len(seen) == 3 and all(r() is None for r in dead)
    fresh = [x * 3.0 for _ in range(3)]
    assert all(r() is None for r in dead) and len(seen) == 3
    assert all(weakref.ref(v)() is v for v in fresh)
