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
  its own weights. With expand=True the box is drawn as micrograd would draw those
  layers: per hidden neuron a dot node fed by its weights and inputs, its record, its
  activation node and the neuron's record `L0.N3` (layer 0, neuron 3), with the data
  and grads the call kept (`mlp_record`); the output neurons are fed by the last
  hidden layer's records.
Constants and operand order come from `Value._operands`, which both backends give
alike, so both draw the same graph. A Value without it (micrograd's own) is drawn as
micrograd draws it: the op alone, edges from `_prev`.
"""
from __future__ import annotations

import sys
from typing import Any, Union

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


Slot = Union[str, float]  # a dot's operand as drawn: the name of a node (an edge), or a constant


def _dot_node(dot: Any, op: str, title: str, pairs: list[tuple[Slot, Slot]], bias: Slot) -> None:
    """A dot's op node `op`: a record with a field per product w_i * x_i, then the bias,
    each operand's edge into its field and each constant written in it."""
    fields = [title]
    for i, pair in enumerate(pairs):
        w, x = ("" if isinstance(s, str) else _number(s) for s in pair)
        fields.append(f"<p{i}> {w} * {x}".strip())
    fields.append("<b> +" if isinstance(bias, str) else f"<b> + {_number(bias)}")
    dot.node(op, _field_label(" | ".join(fields)), shape="record")
    for i, pair in enumerate(pairs):
        for s in pair:
            if isinstance(s, str):
                dot.edge(s, f"{op}:p{i}")
    if isinstance(bias, str):
        dot.edge(bias, f"{op}:b")


def _field_label(label: str) -> Any:
    import graphviz
    return graphviz.nohtml(label)  # a label like "<x>" is text, not an HTML-like label


def _record(dot: Any, name: str, label: str, data: float, grad: float) -> None:
    """micrograd's record of a Value: `label | data | grad`."""
    dot.node(name, _field_label(f"{{ {_field(label)} | data {data:.4f} | grad {grad:.4f} }}"),
             shape="record")


def _mlp_record(call: Any) -> Any:
    """The call's mlp_record, from its own backend's module (draw_dot draws Values of
    either backend; the call node is always the backend's own Value class)."""
    return sys.modules[type(call).__module__].mlp_record(call)


def _expand_call(dot: Any, name: str, record: Any, slot: Any) -> list[str]:
    """The hidden neurons of fused call `name` as micrograd's unfused graph draws them;
    the names of the last hidden layer's records."""
    below = [slot(x) for x in record.inputs]
    for k, layer in enumerate(record.layers):
        cells = []
        for j, n in enumerate(layer.neurons):
            cell = f"{name}_L{k}N{j}"
            op = cell + "_dot"
            _dot_node(dot, op, "dot", list(zip(map(slot, n.weights), below)), slot(n.bias))
            if layer.act != "linear":  # the dot's own record, then the activation's node
                _record(dot, cell + "_z", "", n.dot, n.dot_grad)
                dot.edge(op, cell + "_z")
                op = cell + "_act"
                dot.node(op, _plain(layer.act))
                dot.edge(cell + "_z", op)
            _record(dot, cell, f"L{k}.N{j}", n.data, n.grad)
            dot.edge(op, cell)
            cells.append(cell)
        below = cells
    return below


def draw_dot(root: Any, format: str = "svg", rankdir: str = "LR", *,  # noqa: A002
             expand: bool = False) -> Any:
    """The graph below `root` (a Value, or an iterable of Values) as a graphviz.Digraph:
    rendered with `.pipe()`, `.render()`, or shown inline by a notebook in `format`
    ("svg" or "png" there; any Graphviz format for rendering). `rankdir` "LR" draws
    inputs on the left, "TB" on top. `expand=True` draws a fused MLP call's hidden
    layers neuron by neuron, as micrograd draws that network, with the data and grads
    the call kept; otherwise the call is one box.
    """
    graphviz = need("graphviz", "draw", "draw_dot")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {_RANKDIRS}, not {rankdir!r}")
    roots = [root] if _is_value(root) else list(root)
    if not all(map(_is_value, roots)):
        raise TypeError("draw_dot: root must be a Value or an iterable of Values")
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    mimetypes = graphviz.jupyter_integration.JUPYTER_FORMATS
    if format in mimetypes:  # a notebook shows it in the format asked for, not always SVG
        dot._jupyter_mimetype = mimetypes[format]
    values = _graph(roots)
    names = {id(v): f"n{i}" for i, v in enumerate(values)}

    def slot(x: Any) -> Slot:
        return names[id(x)] if _is_value(x) else float(x)

    tops: dict[int, list[str]] = {}  # expanded calls: their last hidden layer's records

    def top(call: Any) -> list[str]:
        if id(call) not in tops:
            tops[id(call)] = _expand_call(dot, names[id(call)], _mlp_record(call), slot)
        return tops[id(call)]

    for v in values:
        name, operands = names[id(v)], _operands(v)
        if v._op == "mlp":
            if expand:
                top(v)
                continue  # its neurons take the edges from its operands
            dot.node(name, _field_label("mlp\\nfused hidden layers"), shape="box")
        else:
            _record(dot, name, getattr(v, "label", ""), v.data, v.grad)  # micrograd's: none
        if not v._op or v._op == "mlp":
            for x in operands:  # no op node: micrograd's edges into the record
                if _is_value(x):
                    dot.edge(names[id(x)], name)
            continue
        op = name + "_op"
        call = next((x for x in operands if _is_value(x) and x._op == "mlp"), None)
        title = "dot" if v._op == "dot" else f"{v._op}(dot)"
        if call is not None and expand:
            row = operands[1:]  # an output neuron: its row on the last hidden layer
            _dot_node(dot, op, title, list(zip(map(slot, row[:-1]), top(call))), slot(row[-1]))
        elif v._op == "dot" and call is None and len(operands) % 2 == 1:
            _dot_node(dot, op, "dot", list(zip(map(slot, operands[0:-1:2]),
                                               map(slot, operands[1:-1:2]))),
                      slot(operands[-1]))
        else:
            dot.node(op, _field_label(title if call is not None else _op_label(v, operands)))
            for x in operands:
                if _is_value(x):
                    dot.edge(names[id(x)], op)
        dot.edge(op, name)
    return dot
