"""fastgrad.draw_dot: micrograd's drawing of a graph, rendered to SVG and read back."""
from __future__ import annotations

import random
import shutil
import xml.etree.ElementTree as ET

import pytest

import fastgrad
from fastgrad import Value, dot, nn, no_grad

graphviz = pytest.importorskip("graphviz")
renders = pytest.mark.skipif(shutil.which("dot") is None, reason="no Graphviz binary (dot)")
SVG = "{http://www.w3.org/2000/svg}"


def _svg(graph) -> list[tuple[str, list[str]]]:
    """(title, texts) of every node of the rendered graph."""
    root = ET.fromstring(graph.pipe(format="svg"))
    return [(g.find(f"{SVG}title").text, [t.text or "" for t in g.iter(f"{SVG}text")])
            for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


def _labels(graph) -> dict[str, str]:
    """Each node's label in the DOT source, by name."""
    out = {}
    for line in graph.body:
        line = line.strip()
        if "[label=" in line and "->" not in line:
            name, rest = line.split(" [label=", 1)
            label = rest.rsplit(" shape=", 1)[0].rstrip("]")
            out[name] = label[1:-1] if label.startswith('"') else label
    return out


def _edges(graph) -> list[tuple[str, str]]:
    return [tuple(line.strip().split(" -> ")) for line in graph.body if " -> " in line]


def _lecture():
    """The expression of micrograd's lecture, with fastgrad's folded constants."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    L.backward()
    return L


@renders
def test_records_and_op_nodes_as_micrograd_draws_them() -> None:
    graph = fastgrad.draw_dot(_lecture())
    nodes = _svg(graph)
    assert len(nodes) == 7 + 3  # seven Values, three ops
    texts = [" ".join(t) for _, t in nodes]
    for label, data, grad in [("a", "2.0000", "6.0000"), ("b", "-3.0000", "-4.0000"),
                              ("c", "10.0000", "-2.0000"), ("e", "-6.0000", "-2.0000"),
                              ("d", "4.0000", "-2.0000"), ("f", "-2.0000", "4.0000"),
                              ("L", "-8.0000", "1.0000")]:
        assert f"{label} data {data} grad {grad}" in texts
    assert sorted(t for t in texts if "data" not in t) == ["*", "*", "+"]
    assert len(_edges(graph)) == 3 + 6  # op -> result, operand -> op


@renders
def test_folded_constants_are_shown_in_their_op_node() -> None:
    x = Value(1.5, label="x")
    y = (x * 2 + 0.5) ** 3
    z = 2 - y / 4 + 1 / x - 1.25 + 3 ** x - x + fastgrad.sum([x, 3.0, y, 0.5])
    graph = fastgrad.draw_dot(z)
    ops = sorted(" ".join(t) for _, t in _svg(graph) if not any("data" in s for s in t))
    assert ops == sorted(["* 2", "+ 0.5", "** 3", "/ 4", "2 -", "1 /", "+ -1.25", "3 **",
                          "-", "+", "+", "+", "sum + 3 + 0.5"])


def test_folded_constants_are_in_the_op_node_label() -> None:
    x = Value(1.5)
    labels = set(_labels(fastgrad.draw_dot((x * 2) ** 3 - 1)).values())
    assert {"* 2", "** 3", "+ -1"} <= labels


def test_a_value_without_operands_is_drawn_from_prev_with_the_op_alone() -> None:
    engine = pytest.importorskip("micrograd.engine")  # micrograd's own Value: no _operands
    graph = fastgrad.draw_dot((engine.Value(1.5) * 2) ** 3 - 1)
    ops = sorted(label for label in _labels(graph).values() if "data" not in label)
    assert ops == ["*", "**3", "+"]
    assert len(_labels(graph)) == 6 + 3  # x, 2 and -1 as Values, x*2, its cube, the sum


@renders
def test_a_fused_dot_is_drawn_with_its_inputs() -> None:
    w = [Value(0.5, label="w0"), Value(-1.0, label="w1"), Value(2.0, label="w2")]
    x1 = Value(3.0, label="x1")
    b = Value(0.1, label="b")
    out = dot(w, [4.0, x1, -0.5], b)
    out.backward()
    graph = fastgrad.draw_dot(out)
    nodes = dict(_svg(graph))
    assert len(nodes) == 6 + 1
    into = [(a, b) for a, b in _edges(graph) if b.startswith("n0_op")]
    assert len(into) == 5  # w0, w1, x1, w2, b: every Value operand
    assert nodes["n0_op"] == ["dot", "* 4", "*", "* -0.5", "+"]
    names = {label.split(" | ")[0][2:]: name for name, label in _labels(graph).items()}
    assert sorted((names_of(names, a), b) for a, b in into) == [
        ("b", "n0_op:b"), ("w0", "n0_op:p0"), ("w1", "n0_op:p1"), ("w2", "n0_op:p2"),
        ("x1", "n0_op:p1")]


def names_of(names: dict[str, str], node: str) -> str:
    return next(label for label, name in names.items() if name == node)


@renders
def test_an_mlp_call_is_one_box_feeding_its_output_neurons() -> None:
    random.seed(1)
    model = nn.MLP(2, [3, 3, 2])
    outs = model([Value(0.5, label="x0"), Value(-1.5, label="x1")])
    (outs[0] * outs[1]).backward()
    graph = fastgrad.draw_dot(outs)  # several roots
    nodes = _svg(graph)
    boxes = [t for _, t in nodes if t and t[0] == "mlp"]
    assert boxes == [["mlp", "fused hidden layers"]]
    hidden = 2 * 3 + 3 + 3 * 3 + 3
    records = [t for _, t in nodes if any(s.startswith("data") for s in t)]
    assert len(records) == 2 + hidden + 2 * (3 + 1) + 2  # inputs, weights, outputs
    assert [" ".join(t) for _, t in nodes].count("dot") == 2  # the linear output neurons
    for v in outs:
        assert f"data {v.data:.4f}" in [s for t in records for s in t]
    box = next(name for name, t in nodes if t and t[0] == "mlp")
    assert sum(1 for a, b in _edges(graph) if b == box) == 2 + hidden
    assert sum(1 for a, b in _edges(graph) if a == box) == 2


@renders
@pytest.mark.parametrize("nonlin", ["relu", "tanh"])
def test_an_expanded_mlp_call_draws_its_hidden_neurons_as_micrograd_does(nonlin: str) -> None:
    random.seed(1)
    model = nn.MLP(2, [3, 2, 1], nonlin=nonlin)
    out = model([Value(0.5, label="x0"), -1.5])  # a constant input is written in its field
    out.backward()
    graph = fastgrad.draw_dot(out, expand=True)
    nodes = _svg(graph)
    texts = [" ".join(s for s in t if s.strip()) for _, t in nodes]  # unlabelled: no label
    assert not any(t.startswith("mlp") for t in texts)
    record = fastgrad.engine.mlp_record(next(v for v in out._prev if v._op == "mlp"))
    for k, layer in enumerate(record.layers):
        for j, n in enumerate(layer.neurons):
            assert f"L{k}.N{j} data {n.data:.4f} grad {n.grad:.4f}" in texts
            assert f"data {n.dot:.4f} grad {n.dot_grad:.4f}" in texts  # its dot's record
    assert texts.count(nonlin) == 3 + 2  # an activation node per hidden neuron
    assert texts.count("dot * * -1.5 +") == 3 and texts.count("dot * * * +") == 2
    weights = 3 * (2 + 1) + 2 * (3 + 1) + (2 + 1)
    assert len([t for t in texts if "data" in t]) == 1 + weights + 2 * (3 + 2) + 1
    # per hidden neuron: its weights, its Value inputs, dot -> record -> activation ->
    # record; the output neuron: its weights, the last hidden layer, op -> record
    assert len(_edges(graph)) == 3 * (3 + 1 + 3) + 2 * (4 + 3 + 3) + (3 + 2 + 1)
    assert graph.pipe(format="png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_expanded_drawing_of_a_graph_without_mlp_calls_is_the_plain_one() -> None:
    assert fastgrad.draw_dot(_lecture(), expand=True).source == fastgrad.draw_dot(
        _lecture()).source


def test_an_activated_output_neuron_names_its_activation() -> None:
    random.seed(2)
    model = nn.MLP(2, [2, 1])
    for n in model.layers[-1].neurons:
        n.nonlin = "tanh"
    assert "tanh(dot)" in _labels(fastgrad.draw_dot(model([1.0, 2.0]))).values()


def test_deep_graphs_need_no_recursion() -> None:
    x = Value(0.0)
    for _ in range(20000):
        x = x + 1
    graph = fastgrad.draw_dot(x)
    assert len(_labels(graph)) == 2 * 20000 + 1


@renders
def test_labels_are_shown_as_written() -> None:
    a = Value(1.0, label='<a|b> {c} "d" \\')
    graph = fastgrad.draw_dot(a * 2)
    texts = [s for _, t in _svg(graph) for s in t]
    assert '<a|b> {c} "d" \\' in texts


@renders
@pytest.mark.parametrize("fmt, mimetype, magic", [
    ("svg", "image/svg+xml", "<?xml"), ("png", "image/png", b"\x89PNG")])
def test_a_notebook_shows_it_in_the_format_asked_for(fmt: str, mimetype: str, magic) -> None:
    graph = fastgrad.draw_dot(_lecture(), format=fmt, rankdir="TB")
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == [mimetype] and bundle[mimetype][:len(magic)] == magic
    assert 'rankdir=TB' in graph.source


def test_bad_arguments_are_refused() -> None:
    v = Value(1.0) * 2
    with pytest.raises(ValueError, match="rankdir"):
        fastgrad.draw_dot(v, rankdir="up")
    with pytest.raises(ValueError, match="format"):
        fastgrad.draw_dot(v, format="nope")
    with pytest.raises(TypeError, match="Value"):
        fastgrad.draw_dot([v, 2.0])


# -- Value._operands, the accessor draw_dot reads constants and operand order from --------

def test_operands_give_each_operand_or_its_folded_constant_in_order() -> None:
    x, y = Value(1.5), Value(-2.0)
    cases = [
        (x + y, (x, y)), (x + 2, (x, 2.0)), (2 + x, (x, 2.0)), (x - 2, (x, -2.0)),
        (2 - x, (2.0, x)), (x - y, (x, y)), (x * 3, (x, 3.0)), (-x, (x, -1.0)),
        (x / 4, (x, 4.0)), (4 / x, (4.0, x)), (x ** 3, (x, 3.0)), (3 ** x, (3.0, x)),
        (x ** y, (x, y)), (x * x, (x, x)), (x.relu(), (x,)), (x.exp(), (x,)), (abs(x), (x,)),
        (fastgrad.sum([x, 1.0, y]), (x, 1.0, y)),
        (dot([x, 0.5], [2.0, y], 0.25), (x, 2.0, 0.5, y, 0.25)),
        (dot([x], [y]), (x, y, 0.0)), (x, ()),
    ]
    for v, want in cases:
        got = v._operands
        assert type(got) is tuple and len(got) == len(want), (v._op, got)
        for g, w in zip(got, want):
            assert g is w if isinstance(w, Value) else (type(g) is float and g == w), (v._op, got)
        assert {g for g in got if isinstance(g, Value)} == v._prev
    with no_grad():
        assert (x * 2)._operands == ()


def test_operands_of_a_fused_mlp_call() -> None:
    random.seed(4)
    model = nn.MLP(2, [2, 1])
    head = model([0.5, Value(-1.0)])
    net = head._operands[0]
    assert net._op == "mlp"
    hidden = [s for n in model.layers[0].neurons for s in n.w + [n.b]]
    assert net._operands[0] == 0.5 and net._operands[1]._prev == set()
    assert list(net._operands[2:]) == hidden
    top = model.layers[1].neurons[0]
    assert list(head._operands[1:]) == top.w + [top.b]


def _program(engine, nn_module) -> list:
    """One graph of every kind, built on the given engine and nn."""
    x, y = engine.Value(1.5, label="x"), engine.Value(-2.0, label="y")
    z = (2 - x * y) ** 2 / 3 + engine.sum([x, 1.0, y]) + engine.dot([x, 0.5], [2.0, y], 0.25)
    random.seed(6)
    outs = nn_module.MLP(2, [3, 2])([x, 0.75])
    (z * outs[0] + outs[1].tanh()).backward()
    return [z, *outs]


def test_both_backends_draw_the_same_graph() -> None:
    if fastgrad.backend != "fast":
        pytest.skip("a run of the pure backend has no compiled one to compare with")
    from fastgrad import pure
    drawn = [fastgrad.draw_dot(_program(engine, nn_)).source
             for engine, nn_ in [(fastgrad, nn), (pure, pure.nn)]]
    assert drawn[0] == drawn[1]
