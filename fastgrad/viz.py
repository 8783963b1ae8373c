"""draw_dot: a graph of Values drawn with Graphviz, in micrograd's look.

Every Value is a record `label | data | grad`; every computed Value has an op node
feeding it, with an edge from each operand. fastgrad's graphs are denser than
micrograd's, so the op nodes say more:
- a constant folded into a node is shown in its op node: `* 2`, `+ 0.5`, `** 3`, `2 -`;
- a fused dot (a neuron's bias + w0*x0 + w1*x1 + ...) is one op node with a field per
  product and one for the bias: each operand's edge goes to its field, and a constant
  input is written in it (`* 0.5`), so the neuron reads as micrograd's chain would;
- the fused hidden layers of an MLP call (`_op == "mlp"`) are one box, fed by the
  inputs and the hidden weights; each output neuron's op node is fed by that box and
  its own weights.
Constants and operand order come from `Value._operands` where the backend has it;
otherwise the op nodes show the op alone and the edges come from `_prev`.
"""
from __future__ import annotations

from typing import Any

from fastgrad._optional import need

__all__ = ["draw_dot"]

_RANKDIRS = ("LR", "TB", "RL", "BT")
_RECORD_SPECIALS = str.maketrans({c: "\\" + c for c in '\\{}|<>"'})


def _field(text: str) -> str:
    """text shown as is in a record field."""
    return text.translate(_RECORD_SPECIALS)


def _plain(text: str) -> str:
    """text shown as is in a plain node (graphviz quotes it; backslashes are ours)."""
    return text.replace("\\", "\\\\")


def _number(c: float) -> str:
    return f"{c:g}"  # digits, signs, '.', 'e', inf, nan: nothing to escape anywhere


def _operands(v: Any) -> list[Any]:
    """v's operands in order (constants as numbers) where the backend can say, else the
    Values of _prev."""
    ops = getattr(v, "_operands", None)
    return list(v._prev) if ops is None else list(ops)


def _is_value(x: Any) -> bool:
    return hasattr(x, "_prev")


def _graph(roots: list[Any]) -> list[Any]:
    """Every Value reachable from the roots, each once, without recursion."""
    seen = {id(r): r for r in roots}
    order, stack = [], list(reversed(roots))
    while stack:
        v = stack.pop()
        order.append(v)
        for x in reversed(_operands(v)):
            if _is_value(x) and id(x) not in seen:
                seen[id(x)] = x
                stack.append(x)
    return order


def _op_label(v: Any, operands: list[Any]) -> str:
    """The op node's label: the op, with the constants folded into it on their side."""
    op = "**" if v._op.startswith("**") else v._op
    if len(operands) == 2 and sum(map(_is_value, operands)) == 1:
        a, b = operands
        return f"{_number(a)} {op}" if _is_value(b) else f"{op} {_number(b)}"
    if op == "sum":
        return _plain(op) + "".join(f" + {_number(c)}" for c in operands if not _is_value(c))
    return _plain(v._op)


def _dot_fields(operands: list[Any]) -> str:
    """A dot's record label: a field per product w_i * x_i, then the bias."""
    fields = ["dot"]
    for i in range(0, len(operands) - 1, 2):
        w, x = (("" if _is_value(f) else _number(f)) for f in operands[i:i + 2])
        fields.append(f"<p{i // 2}> {w} * {x}".strip())
    bias = operands[-1]
    fields.append("<b> +" if _is_value(bias) else f"<b> + {_number(bias)}")
    return " | ".join(fields)


def draw_dot(root: Any, format: str = "svg", rankdir: str = "LR", *,  # noqa: A002
             expand: bool = False) -> Any:
    """The graph below `root` (a Value, or an iterable of Values) as a graphviz.Digraph:
    rendered with `.pipe()`, `.render()`, or shown inline by a notebook in `format`
    ("svg" or "png" there; any Graphviz format for rendering). `rankdir` "LR" draws
    inputs on the left, "TB" on top.

    expand=True, drawing a fused MLP call's hidden neurons one by one, is planned: it
    needs the fused node's record of hidden data and grads, which no backend exposes yet.
    """
    graphviz = need("graphviz", "draw", "draw_dot")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {_RANKDIRS}, not {rankdir!r}")
    if expand:
        raise NotImplementedError("draw_dot(expand=True): the backends do not expose a fused "
                                  "MLP call's hidden neurons yet; drawn as one node")
    roots = [root] if _is_value(root) else list(root)
    if not all(map(_is_value, roots)):
        raise TypeError("draw_dot: root must be a Value or an iterable of Values")
    nohtml = graphviz.nohtml  # a label like "<x>" is text, not an HTML-like label
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    mimetypes = graphviz.jupyter_integration.JUPYTER_FORMATS
    if format in mimetypes:  # a notebook shows it in the format asked for, not always SVG
        dot._jupyter_mimetype = mimetypes[format]
    values = _graph(roots)
    names = {id(v): f"n{i}" for i, v in enumerate(values)}
    for v in values:
        name, operands = names[id(v)], _operands(v)
        targets = [name] * len(operands)  # no op node: micrograd's edges into the record
        if v._op == "mlp":
            dot.node(name, nohtml("mlp\\nfused hidden layers"), shape="box")
        else:
            dot.node(name, nohtml(f"{{ {_field(v.label)} | data {v.data:.4f} | "
                                  f"grad {v.grad:.4f} }}"), shape="record")
        if v._op and v._op != "mlp":
            op = name + "_op"
            head = any(_is_value(x) and x._op == "mlp" for x in operands)
            if (v._op == "dot" and not head and hasattr(v, "_operands")
                    and len(operands) % 2 == 1):
                dot.node(op, nohtml(_dot_fields(operands)), shape="record")
                targets = [f"{op}:p{i // 2}" for i in range(len(operands) - 1)] + [f"{op}:b"]
            else:
                label = (v._op if v._op == "dot" else f"{v._op}(dot)") if head else (
                    _op_label(v, operands))
                dot.node(op, nohtml(label))
                targets = [op] * len(operands)
            dot.edge(op, name)
        for x, target in zip(operands, targets):
            if _is_value(x):
                dot.edge(names[id(x)], target)
    return dot
