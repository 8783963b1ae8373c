"""A rigorous yardstick for comparing float64 engines: interval arithmetic.

Each node holds an interval that encloses the value that *any* float64 implementation
of the same program computes, provided each of its operations is within a few ulps of
the exact result (basic arithmetic within 2 ulps, exp/log/tanh/pow within 8) and its
gradient sums are added in any order. fastgrad, torch and micrograd associate and order
their arithmetic differently; all of them must land inside. The bounds are as tight as
the program's conditioning allows (typically ~1e-15 relative), so a wrong derivative
formula falls far outside, while ill-conditioned cases (cancellation, kinks, poles)
widen or become unknown (None) instead of failing spuriously.

Its functions are the vocabulary the op spec's rules are written in (tests/ops_spec.py;
tests/reals.py is the same over Python floats): `rule_node` turns an op's rules into a
node. The n-ary nodes (`nsum`, `dot`) are built here directly.

The executor follows fastgrad's semantics exactly: constants folded into nodes,
`backward()` sets the root's grad to 1 and accumulates everywhere, local derivatives
are evaluated from the nodes' current data at backward time (so `v.data = x` between
forward and backward is modelled).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Callable, Optional

Interval = Optional[tuple[float, float]]  # None: unknown (unbounded, nan, or a pole)

U = 2.0 ** -53  # unit roundoff of float64
BASIC = 8  # slack, in units of U, for + - * / (two roundings by us, up to ~3 by others)
TRANS = 32  # exp, log, sqrt, tanh, sigmoid, pow: libm and torch are within a few ulps
_TINY = 5e-324
ONE = (1.0, 1.0)


def _out(lo: float, hi: float, k: float) -> Interval:
    """[lo, hi] widened outward by k units of roundoff (relative) plus k subnormals."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    w = k * U * max(abs(lo), abs(hi)) + k * _TINY
    lo, hi = math.nextafter(lo - w, -math.inf), math.nextafter(hi + w, math.inf)
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def point(x: float) -> Interval:
    return (x, x) if math.isfinite(x) else None


const = point  # a number in a rule (the 0.5 of sqrt's derivative)


def add(a: Interval, b: Interval) -> Interval:
    if a is None or b is None:
        return None
    return _out(a[0] + b[0], a[1] + b[1], BASIC)


def neg(a: Interval) -> Interval:
    return None if a is None else (-a[1], -a[0])


def sub(a: Interval, b: Interval) -> Interval:
    return add(a, neg(b))


def mul(a: Interval, b: Interval) -> Interval:
    if a is None or b is None:
        return None
    ends = [x * y for x in a for y in b]
    return _out(min(ends), max(ends), BASIC)


def div(a: Interval, b: Interval) -> Interval:
    if a is None or b is None or b[0] <= 0.0 <= b[1]:
        return None
    ends = [x / y for x in a for y in b]
    return _out(min(ends), max(ends), BASIC)


def square(a: Interval) -> Interval:
    if a is None:
        return None
    lo, hi = abs(a[0]), abs(a[1])
    low = 0.0 if a[0] <= 0.0 <= a[1] else min(lo, hi) * min(lo, hi)
    return _out(low, max(lo, hi) * max(lo, hi), BASIC)


def increasing(f: Callable[[float], float], a: Interval) -> Interval:
    """f over a, for a nondecreasing f (exp, log, tanh, ...); unknown where f raises at
    an end (outside its domain, or overflowing)."""
    if a is None:
        return None
    try:
        return _out(f(a[0]), f(a[1]), TRANS)
    except (OverflowError, ValueError):
        return None


def _hull_zero(x: Interval) -> Interval:
    return None if x is None else (min(x[0], 0.0), max(x[1], 0.0))


def scale(k: Interval, x: Interval) -> Interval:
    """k * x, with an exact zero k giving 0 whatever x is (reals.scale)."""
    if k == (0.0, 0.0):
        return k
    if k is not None and k[0] <= 0.0 <= k[1]:
        return _hull_zero(mul(k, x))
    return mul(k, x)


def unless_zero_base(a: Interval, b: Interval, x: Interval) -> Interval:
    """x, or 0 where a is zero and b >= 0 (reals.unless_zero_base)."""
    if a is None or b is None:
        return None
    if not (a[0] <= 0.0 <= a[1] and b[1] >= 0.0):
        return x
    if a == (0.0, 0.0) and b[0] >= 0.0:
        return (0.0, 0.0)
    return _hull_zero(x)


def relu(a: Interval) -> Interval:
    return None if a is None else (max(a[0], 0.0), max(a[1], 0.0))


def fabs(a: Interval) -> Interval:
    if a is None:
        return None
    lo, hi = a
    if lo >= 0.0:
        return a
    if hi <= 0.0:
        return (-hi, -lo)
    return (0.0, max(-lo, hi))


def _pow_const(a: Interval, c: float) -> Interval:
    """a ** c for a constant exponent, over the whole interval."""
    if a is None or not math.isfinite(c):
        return None
    if c == 0.0:
        return (1.0, 1.0)
    lo, hi = a
    integer = c.is_integer()
    contains_zero = lo <= 0.0 <= hi
    if (lo < 0.0 and not integer) or (contains_zero and c < 0.0):
        return None  # complex results or a pole inside the interval
    try:
        ends = [lo ** c, hi ** c] + ([0.0] if contains_zero else [])
    except (OverflowError, ZeroDivisionError):
        return None
    # monotone on each side of zero, so the extremes are at the ends (or zero)
    return _out(min(ends), max(ends), TRANS)


def power(a: Interval, b: Interval) -> Interval:
    if a is None or b is None:
        return None
    if b[0] == b[1]:
        return _pow_const(a, b[0])
    if a[0] > 0.0:
        return increasing(math.exp, mul(b, increasing(math.log, a)))
    return None


def minus_one(a: Interval) -> Interval:
    """a - 1: a constant exponent stays exact (every engine computes c - 1.0 in floats)."""
    if a is not None and a[0] == a[1]:
        return point(a[0] - 1.0)
    return sub(a, ONE)


def step(a: Interval) -> Interval:
    """d relu / dx evaluated from relu's output: 1 where it is > 0, else 0."""
    if a is None:
        return None
    return (1.0, 1.0) if a[0] > 0.0 else (0.0, 0.0) if a[1] <= 0.0 else (0.0, 1.0)


def sign(a: Interval) -> Interval:
    if a is None:
        return None
    if a[0] > 0.0:
        return (1.0, 1.0)
    if a[1] < 0.0:
        return (-1.0, -1.0)
    return (0.0, 0.0) if a == (0.0, 0.0) else (-1.0, 1.0)


def total(terms: Sequence[Interval]) -> Interval:
    """Any-order float sum of the terms: exact interval sum plus gamma_n * sum|t|."""
    acc = _Acc(0.0)
    for t in terms:
        acc.add(t)
    return acc.read()


class _Acc:
    """A float accumulator summed in an unknown order: interval, mass sum|t|, count."""

    __slots__ = ("lo", "hi", "mass", "count", "known")

    def __init__(self, x: float) -> None:
        self.known = math.isfinite(x)
        self.lo = self.hi = x
        self.mass, self.count = abs(x), 0

    def add(self, t: Interval) -> None:
        if not self.known or t is None:
            self.known = False
            return
        self.lo = math.nextafter(self.lo + t[0], -math.inf)
        self.hi = math.nextafter(self.hi + t[1], math.inf)
        self.mass += max(abs(t[0]), abs(t[1]))
        self.count += 1

    def read(self) -> Interval:
        if not self.known:
            return None
        w = 2.0 * self.count * U * self.mass
        lo, hi = math.nextafter(self.lo - w, -math.inf), math.nextafter(self.hi + w, math.inf)
        return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


LocalDerivatives = Callable[["Node"], list[Interval]]  # a node's, one per child
Derivatives = Callable[["Node", list[Interval]], list[Interval]]  # (node, arg values)


class Node:
    """One graph node: its value interval, its grad accumulator, children, derivatives."""

    __slots__ = ("value", "acc", "children", "ld")

    def __init__(self, value: Interval, children: Sequence[Node] = (),
                 ld: LocalDerivatives | None = None) -> None:
        self.value = value
        self.acc = _Acc(0.0)
        self.children = tuple(children)
        self.ld = ld

    def read(self) -> tuple[Interval, Interval]:
        return self.value, self.acc.read()


def _v(x: Node | float) -> Interval:
    return x.value if isinstance(x, Node) else point(x)


def _node(value: Interval, args: Sequence[Node | float], ld: Derivatives) -> Node:
    """A node over the Values among args; ld maps (node, all arg values) to one local
    derivative per argument, of which those of the Values are kept, in order."""
    is_node = [isinstance(a, Node) for a in args]

    def local(node: Node) -> list[Interval]:
        lds = ld(node, [_v(a) for a in args])
        return [d for d, keep in zip(lds, is_node) if keep]
    return Node(value, [a for a in args if isinstance(a, Node)], local)


def rule_node(forward: Callable[..., Interval], derivative: Callable[..., Sequence[Interval]],
              operands: Sequence[Node | float]) -> Node:
    """The node of an op given by its rules: forward(*operand values), and
    derivative(*operand values, output) giving one local derivative per Node operand
    (those come first). Derivatives use the operands' values at backward time."""
    def local(node: Node) -> list[Interval]:
        return list(derivative(*[_v(a) for a in operands], node.value))
    return Node(forward(*[_v(a) for a in operands]),
                [a for a in operands if isinstance(a, Node)], local)


def nsum(args: Sequence[Node | float]) -> Node:
    return _node(total([_v(a) for a in args]), args, lambda n, a: [ONE] * len(a))


def dot(ws: Sequence[Node | float], xs: Sequence[Node | float], bias: Node | float) -> Node:
    args = [*ws, *xs, bias]
    n = len(ws)
    terms = [_v(bias)] + [mul(_v(w), _v(x)) for w, x in zip(ws, xs)]
    return _node(total(terms), args, lambda node, a: a[n:2 * n] + a[:n] + [ONE])


def backward(root: Node) -> None:
    """fastgrad's rule: root grad := 1, then accumulate in reverse topological order."""
    order, seen, stack = [], {id(root)}, [(root, iter(root.children))]
    while stack:
        node, it = stack[-1]
        for child in it:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child.children)))
                break
        else:
            stack.pop()
            order.append(node)
    root.acc = _Acc(1.0)
    for node in reversed(order):
        if not node.children:
            continue
        g = node.acc.read()
        for child, d in zip(node.children, node.ld(node)):
            child.acc.add(mul(d, g))


def set_grad(node: Node, x: float) -> None:
    node.acc = _Acc(x)


def set_data(node: Node, x: float) -> None:
    node.value = point(x)


def contains(iv: Interval, x: float) -> bool:
    """True when x lies in iv, or iv is unknown (nothing can be said there)."""
    return iv is None or iv[0] <= x <= iv[1]
