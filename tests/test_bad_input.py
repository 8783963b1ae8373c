"""Bad input, everywhere: the documented behaviour, no crash, nothing changed.

Table-driven over the public entry points beyond the engine's arithmetic (whose errors
and IEEE results tests/test_engine_errors.py and test_engine_floats.py cover): labels
and the n-ary engine calls, nn modules, optimizers, losses, state dicts and files,
numpy interop, datasets and the command line. Each bad call must raise an exception
whose message names what was wrong, and leave the store as it was: the live node
count, the data, grads and labels of existing Values, the model's parameters and the
optimizers' state. Where a call is well defined on NaN, infinities and extreme
magnitudes, its result is the one Python floats give. Expected failures mark defects
reported to the owners of the code (see the reasons).
"""
from __future__ import annotations

import itertools
import gc
import math
import random
import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import fastgrad
from fastgrad import Value, arrays, datasets, engine, losses, nn, optim
from fastgrad.cli.common import child_env
from training import live

# earlier modules' cyclic garbage holding Values must not be collected mid-test
pytestmark = pytest.mark.usefixtures("fresh_heap")

PURE = fastgrad.backend == "pure"
SPECIALS = (0.0, -0.0, 1.5, -2.5, 5e-324, -1e-300, 1e300, -1e308, math.inf, -math.inf,
            math.nan)


def same(x: float, y: float) -> bool:
    """Bitwise equal floats, every nan equal to every nan."""
    return (x != x and y != y) or float(x).hex() == float(y).hex()


class World:
    """What a user holds when a bad call comes: Values with grads and labels, a model
    with gradients, two optimizers with state, a saved model and some bad files."""

    def __init__(self, tmp: Path) -> None:
        self.a, self.b = Value(1.5, label="a"), Value(-0.5, label="b")
        random.seed(0)
        self.model = nn.MLP(2, [3, 1])
        self.params = self.model.parameters()
        self.sgd = optim.SGD(self.params, lr=0.1, momentum=0.9)
        self.adam = optim.Adam(self.params, lr=0.01)
        for opt in (self.sgd, self.adam):
            opt.zero_grad()
            (self.model([self.a, self.b]) * self.a).backward()
            opt.step()
        self.a.grad, self.b.grad = 0.25, -4.0
        self.saved = tmp / "model.npz"
        self.model.save(self.saved)
        self.files = {"saved": self.saved, "dir": tmp, "missing": tmp / "missing.npz"}
        for name, content in [("garbage", b"not an archive, just bytes" * 4), ("empty", b""),
                              ("truncated", self.saved.read_bytes()[:60])]:
            self.files[name] = tmp / f"{name}.npz"
            self.files[name].write_bytes(content)
        self.files["npy"] = tmp / "array.npy"
        np.save(self.files["npy"], np.zeros(3))
        self.files["objects"] = tmp / "objects.npz"
        np.savez(self.files["objects"], **{k: np.array([None] * v.size, dtype=object)
                                           for k, v in self.model.state_dict().items()})
        self.files["other"] = tmp / "other.npz"
        nn.MLP(2, [4, 1]).save(self.files["other"])

    def snapshot(self) -> tuple:
        values = [(repr(v.data), repr(v.grad), v.label) for v in [self.a, self.b, *self.params]]
        opts = [{k: repr(np.asarray(x).tolist()) for k, x in o.state_dict().items()}
                for o in (self.sgd, self.adam)]
        return live(), values, opts


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def state_with(w: World, key: str, value: Any) -> dict[str, Any]:
    state = w.model.state_dict()
    state[key] = value
    return state


def defect(reason: str, *, only: bool = True) -> Any:
    """An expected failure: a defect reported to the code's owner (`only`: where it shows)."""
    return pytest.mark.xfail(only, strict=True, reason=reason)


def case(name: str, fn: Callable[[World], Any], error: type, match: str, *marks: Any) -> Any:
    return pytest.param(fn, error, match, id=name, marks=marks)


W0 = "layers.0.weight"
NOT_ITERABLE = "_children must be an iterable"
NOT_A_SCALAR = "0-dimensional|length-1"  # numpy's float(array) message: 2.1 on | 2.0 (Python 3.9)
CASES = [
    # -- engine: labels, n-ary calls, bulk kernels --------------------------------------
    case("Value label int", lambda w: Value(1.0, label=3), TypeError, "label"),
    case("Value label None", lambda w: Value(1.0, label=None), TypeError, "label"),
    case("Value label 4th positional int", lambda w: Value(1.0, (), "", 3), TypeError, "label"),
    case("Value children None", lambda w: Value(1.0, None), TypeError, NOT_ITERABLE),
    case("Value children a number", lambda w: Value(1.0, 3), TypeError, NOT_ITERABLE),
    case("Value children a str label", lambda w: Value(1.0, "b"), TypeError, "hold Values"),
    case("Value child a float", lambda w: Value(1.0, (w.a, 2.0), "+"), TypeError, "not float"),
    case("Value child None", lambda w: Value(1.0, [None]), TypeError, "not NoneType"),
    case("Value op int", lambda w: Value(1.0, (w.a,), 3), TypeError, "_op must be a str"),
    case("_backward set on a leaf", lambda w: setattr(w.a, "_backward", lambda: None),
         AttributeError, "only on a custom node"),
    case("_backward set on a built-in node", lambda w: setattr(w.a * 2, "_backward", lambda: None),
         AttributeError, "only on a custom node"),
    case("label = bytes", lambda w: setattr(w.a, "label", b"x"), TypeError, "label"),
    case("Value(array of 2)", lambda w: Value(np.ones(2)), TypeError, NOT_A_SCALAR),
    case("sum of nested lists", lambda w: fastgrad.sum([[w.a]]), TypeError, "list"),
    case("sum of a 2-D array", lambda w: fastgrad.sum(np.ones((2, 2))), TypeError,
         NOT_A_SCALAR),
    case("dot of ints", lambda w: fastgrad.dot(3, 4), TypeError, "int"),
    case("layer act None", lambda w: fastgrad.layer([[w.a]], [w.b], [1.0], None),
         TypeError, "act"),
    case("layer act list", lambda w: fastgrad.layer([[w.a]], [w.b], [1.0], ["relu"]),
         TypeError, "act"),
    case("layer more rows than biases", lambda w: fastgrad.layer([[w.a], [w.b]], [w.b], [1.0]),
         ValueError, "biases"),
    case("mlp of no layers", lambda w: engine.mlp([], [1.0]), ValueError, "no layers"),
    case("mlp of layers that do not chain", lambda w: engine.mlp(
        [([[w.a]], [w.b], "relu"), ([[w.a, w.b]], [w.b], "linear")], [1.0]), ValueError,
        "takes 2 inputs, got 1"),
    case("Dense of ragged rows", lambda w: engine.Dense([[w.a], [w.a, w.b]], [w.a, w.b], "relu"),
         ValueError, "row 1 has 2 weights"),
    case("Dense called on too many inputs", lambda w: engine.Dense([[w.a]], [w.b], "tanh")(
        [1.0, 2.0]), ValueError, "takes 1 inputs, got 2"),
    case("get_data of a float", lambda w: fastgrad.get_data([w.a, 1.0]), TypeError, "Value"),
    case("set_data of strings", lambda w: fastgrad.set_data([w.a, w.b], ["x", "y"]),
         ValueError, "could not convert string"),
    case("set_data of None", lambda w: fastgrad.set_data([w.a, w.b], None), TypeError, "None"),
    case("set_grad of None", lambda w: fastgrad.set_grad(w.params, None), TypeError, "None"),
    case("set_data of a complex array", lambda w: fastgrad.set_data([w.a], np.array([1 + 2j])),
         TypeError, "complex"),
    # -- nn ------------------------------------------------------------------------------
    case("MLP nin str", lambda w: nn.MLP("2", [3]), ValueError, "nin"),
    case("MLP negative layer size", lambda w: nn.MLP(2, [3, -1]), ValueError, "nout"),
    case("MLP layer size str", lambda w: nn.MLP(2, [3, "4"]), ValueError, "nout"),
    case("MLP layer sizes an int", lambda w: nn.MLP(2, 3), TypeError, "nouts"),
    case("Neuron nin float", lambda w: nn.Neuron(2.0), ValueError, "nin"),
    case("Layer nout negative", lambda w: nn.Layer(2, -3), ValueError, "nout"),
    case("Layer unknown keyword", lambda w: nn.Layer(2, 2, relu=True), TypeError, "relu"),
    case("call with strs", lambda w: w.model(["a", "b"]), TypeError, "str"),
    case("call with None", lambda w: w.model(None), TypeError, "NoneType"),
    case("call with rows", lambda w: w.model([[1.0], [2.0]]), TypeError, "list"),
    case("call with complex", lambda w: w.model([1j, 1.0]), TypeError, "complex"),
    case("call with an int too large", lambda w: w.model([10 ** 400, 1.0]), OverflowError,
         "too large"),
    case("call with a 2-D array", lambda w: w.model(np.ones((1, 2))), ValueError, "2 inputs"),
    case("call with 3 inputs", lambda w: w.model([w.a, w.b, 1.0]), ValueError, "2 inputs"),
    case("predict 1-D", lambda w: w.model.predict(np.ones(2)), ValueError, "2-D"),
    case("predict 3 columns", lambda w: w.model.predict(np.ones((4, 3))), ValueError,
         "2 inputs"),
    case("predict strs", lambda w: w.model.predict([["a", "b"]]), ValueError,
         "could not convert string"),
    case("predict ragged", lambda w: w.model.predict([[1.0, 2.0], [1.0]]), ValueError,
         "inhomogeneous"),
    case("predict complex", lambda w: w.model.predict(np.array([[1j, 1.0]])), TypeError,
         "complex"),
    # -- state dicts, save and load ------------------------------------------------------
    case("load_state_dict None", lambda w: w.model.load_state_dict(None), TypeError, "mapping"),
    case("state of bools",
         lambda w: w.model.load_state_dict(state_with(w, W0, np.ones((3, 2), bool))),
         TypeError, "real numbers"),
    case("state of objects", lambda w: w.model.load_state_dict(state_with(w, W0, [[None] * 2] * 3)),
         TypeError, "real numbers"),
    case("state of ints too large", lambda w: w.model.load_state_dict(
        state_with(w, W0, [[10 ** 400] * 2] * 3)), TypeError, "real numbers"),
    case("state of a scalar", lambda w: w.model.load_state_dict(state_with(w, W0, 1.0)),
         ValueError, "shape"),
    case("state with int keys", lambda w: w.model.load_state_dict({0: np.zeros(3)}), ValueError,
         "missing keys"),
    case("load a missing file", lambda w: w.model.load(w.files["missing"]), FileNotFoundError,
         "missing.npz"),
    case("load a directory", lambda w: w.model.load(w.files["dir"]), IsADirectoryError,
         "directory"),
    case("load None", lambda w: w.model.load(None), TypeError, "NoneType"),
    case("load an .npy", lambda w: w.model.load(w.files["npy"]), ValueError, "not an .npz"),
    case("load another architecture", lambda w: w.model.load(w.files["other"]), ValueError,
         "shape"),
    case("load object arrays", lambda w: w.model.load(w.files["objects"]), ValueError,
         "dtype object"),
    case("load a truncated archive", lambda w: w.model.load(w.files["truncated"]),
         ValueError, "not an .npz"),
    case("load garbage", lambda w: w.model.load(w.files["garbage"]), ValueError, "not an .npz"),
    case("load an empty file", lambda w: w.model.load(w.files["empty"]), ValueError,
         "not an .npz"),
    case("save into a directory", lambda w: w.model.save(w.files["dir"]), IsADirectoryError,
         "directory"),
    case("save to None", lambda w: w.model.save(None), TypeError, "NoneType"),
    # -- optimizers ----------------------------------------------------------------------
    case("SGD of a model", lambda w: optim.SGD(w.model, lr=0.1), TypeError, "MLP"),
    case("SGD of None", lambda w: optim.SGD(None, lr=0.1), TypeError, "NoneType"),
    case("SGD lr nan", lambda w: optim.SGD(w.params, lr=math.nan), ValueError, "lr"),
    case("SGD momentum nan", lambda w: optim.SGD(w.params, lr=0.1, momentum=math.nan),
         ValueError, "momentum"),
    case("SGD lr bool", lambda w: optim.SGD(w.params, lr=True), TypeError, "lr"),
    case("Adam betas None", lambda w: optim.Adam(w.params, betas=None), TypeError, "betas"),
    case("Adam beta nan", lambda w: optim.Adam(w.params, betas=(math.nan, 0.9)), ValueError,
         "beta1"),
    case("Adam beta str", lambda w: optim.Adam(w.params, betas=("a", 0.9)), TypeError, "beta1"),
    case("Adam lr None", lambda w: optim.Adam(w.params, lr=None), TypeError, "lr"),
    case("SGD step after lr = str", lambda w: (setattr(w.sgd, "lr", "0.1"), w.sgd.step()),
         TypeError, "lr"),
    case("Adam state step float", lambda w: w.adam.load_state_dict(
        {**w.adam.state_dict(), "step": 1.5}), ValueError, "step"),
    case("Adam state moments of strs", lambda w: w.adam.load_state_dict(
        {**w.adam.state_dict(), "exp_avg": ["x"] * len(w.params)}), TypeError, "real numbers"),
    case("SGD state buffer too long", lambda w: w.sgd.load_state_dict(
        {**w.sgd.state_dict(), "momentum_buffer": np.zeros(len(w.params) + 1)}), ValueError,
        "shape"),
    case("SGD state lr nan", lambda w: w.sgd.load_state_dict(
        {**w.sgd.state_dict(), "lr": math.nan}), ValueError, "lr"),
    # -- losses --------------------------------------------------------------------------
    case("mse of nothing", lambda w: losses.mse([], []), ValueError, "no predictions"),
    case("mse target None", lambda w: losses.mse([w.a], [None]), TypeError, "NoneType"),
    case("mse target complex", lambda w: losses.mse([w.a], [1j]), TypeError, "complex"),
    case("mse target a numeric str", lambda w: losses.mse([w.a], ["1.5"]), TypeError, "str"),
    case("hinge lengths", lambda w: losses.hinge([w.a, w.b], [1]), ValueError,
         "2 predictions but 1 targets"),
    case("bce of a dict", lambda w: losses.bce_with_logits({"x": 1}, [1.0]), TypeError, "dict"),
    case("cross-entropy empty row", lambda w: losses.softmax_cross_entropy([[]], [0]),
         ValueError, "0 classes"),
    case("cross-entropy negative target", lambda w: losses.softmax_cross_entropy(
        [[w.a, w.b]], [-1]), ValueError, "class index"),
    case("l2 alpha str", lambda w: losses.l2(w.params, "0.1"), TypeError, "alpha"),
    # -- numpy interop -------------------------------------------------------------------
    case("from_array strs", lambda w: arrays.from_array(["a"]), ValueError,
         "could not convert string"),
    case("from_array objects", lambda w: arrays.from_array([object()]), TypeError, "object"),
    case("from_array ragged", lambda w: arrays.from_array([[1.0], [1.0, 2.0]]), ValueError,
         "inhomogeneous"),
    case("from_array int too large", lambda w: arrays.from_array([10 ** 400]), OverflowError,
         "too large"),
    case("from_array None", lambda w: arrays.from_array(None), TypeError, "None"),
    case("from_array complex array", lambda w: arrays.from_array(np.array([1 + 1j])),
         TypeError, "complex"),
    case("data_array of floats", lambda w: arrays.data_array([1.0]), TypeError, "float"),
    case("grad_array ragged", lambda w: arrays.grad_array([[w.a], [w.a, w.b]]), ValueError,
         "rectangular"),
    case("data_array of an object array", lambda w: arrays.data_array(np.array([w.a])),
         TypeError, "ndarray"),
    # -- datasets ------------------------------------------------------------------------
    case("moons n_samples bool", lambda w: datasets.make_moons(True), ValueError, "n_samples"),
    case("moons noise nan", lambda w: datasets.make_moons(noise=math.nan), ValueError, "noise"),
    case("moons noise str", lambda w: datasets.make_moons(noise="0.1"), TypeError, "noise"),
    case("moons random_state float", lambda w: datasets.make_moons(random_state=1.5), TypeError,
         "random_state"),
    case("moons random_state negative", lambda w: datasets.make_moons(random_state=-1),
         ValueError, "[Ss]eed"),
    case("blobs n_features negative", lambda w: datasets.make_blobs(n_features=-2), ValueError,
         "n_features"),
    case("blobs cluster_std nan", lambda w: datasets.make_blobs(cluster_std=math.nan),
         ValueError, "cluster_std"),
    case("blobs centers of strs", lambda w: datasets.make_blobs(centers=[["a", "b"]]),
         ValueError, "could not convert string"),
    case("blobs center_box of one number", lambda w: datasets.make_blobs(center_box=(1.0,)),
         ValueError, "center_box"),
]


def _raised(fn: Callable[[World], Any], w: World) -> BaseException | None:
    """The exception fn(w) raises (with its traceback dropped, so nothing it built
    stays alive through the frames), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a silent lossy conversion is not a refusal
            fn(w)
    except Exception as exc:  # noqa: BLE001 - inspected by the caller
        return exc.with_traceback(None)
    return None


@pytest.mark.parametrize("fn, error, match", CASES)
def test_bad_input_raises_a_clear_error_and_changes_nothing(world: World, fn, error, match) -> None:
    before = world.snapshot()
    exc = _raised(fn, world)
    assert exc is not None, "no exception"
    assert isinstance(exc, error), f"{type(exc).__name__}: {exc}"
    assert re.search(match, str(exc)), f"message {str(exc)!r} lacks {match!r}"
    del exc
    after = world.snapshot()
    assert after[0] == before[0], "a failed call changed the live node count"
    assert after[1] == before[1], "a failed call changed data, grads or labels"
    assert after[2] == before[2], "a failed call changed an optimizer's state"


def test_a_failed_load_leaves_no_file_open(world: World) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert isinstance(_raised(lambda w: w.model.load(w.files["truncated"]), world),
                          ValueError)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_initialising_a_value_again_keeps_one_node() -> None:
    before = live()
    v = Value(1.0)
    v.__init__(2.0)
    assert v.data == 2.0 and live() == before + 1
    del v
    assert live() == before


def test_an_adam_state_with_a_huge_step_count_steps_on() -> None:
    p = Value(1.0)
    opt = optim.Adam([p], lr=0.1)
    opt.load_state_dict({**opt.state_dict(), "step": 2 ** 70})
    p.grad = 1.0
    opt.step()  # bias corrections are 1: m = 0.1, v = 0.001
    assert p.data == pytest.approx(1.0 - 0.1 * 0.1 / (math.sqrt(0.001) + 1e-8), rel=1e-12)


# -- IEEE results where the input is well defined ------------------------------------------

def test_sum_and_dot_of_special_values_are_python_floats() -> None:
    for x, y in itertools.product(SPECIALS, repeat=2):
        want_sum = 0.0 + x + y
        assert same(fastgrad.sum([Value(x), y]).data, want_sum), (x, y)
        want_dot = 0.5 + x * y + y * x
        assert same(fastgrad.dot([Value(x), y], [y, Value(x)], 0.5).data, want_dot), (x, y)


def test_model_outputs_on_special_inputs_are_the_graphs_and_predicts() -> None:
    random.seed(1)
    model = nn.MLP(2, [4, 4, 1])
    rows = [list(p) for p in itertools.product(SPECIALS, repeat=2)]
    predicted = model.predict(np.array(rows))
    for row, p in zip(rows, predicted):
        assert same(model(row).data, p), (row, model(row).data, p)


@pytest.mark.parametrize("x", SPECIALS)
@pytest.mark.parametrize("t", [1.0, -1.0, 0.0, math.inf, math.nan])
def test_losses_on_special_values_are_python_floats(x: float, t: float) -> None:
    d = x - t
    assert same(losses.mse([Value(x)], [t]).data, (0.0 + d * d) * 1.0)
    margin = 1.0 + -t * x
    assert same(losses.hinge([Value(x)], [t]).data, (0.0 + (0.0 if margin < 0.0 else margin)) * 1.0)
    bce = losses.bce_with_logits([Value(x)], [0.5]).data
    assert math.isnan(bce) == (math.isnan(x) or math.isinf(x) and x > 0), (x, bce)


@pytest.mark.parametrize("g", SPECIALS)
def test_sgd_step_on_special_gradients_is_python_floats(g: float) -> None:
    for p0, lr in [(0.5, 0.1), (-1e300, 1e10), (5e-324, 1.0)]:
        p = Value(p0)
        p.grad = g
        optim.SGD([p], lr=lr).step()
        assert same(p.data, p0 - lr * g), (p0, lr, g, p.data)
        q = Value(p0)
        q.grad = g
        optim.SGD([q], lr=lr, momentum=0.9).step()  # the first step's buffer is g itself
        assert same(q.data, p0 - lr * g), (p0, lr, g, q.data)


def test_adam_on_special_gradients_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    grads = [g for g in SPECIALS]
    ps = [Value(0.5) for _ in grads]
    opt = optim.Adam(ps, lr=0.1)
    tp = torch.tensor([0.5] * len(grads), dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.1)
    for _ in range(2):
        for p, g in zip(ps, grads):
            p.grad = g
        opt.step()
        tp.grad = torch.tensor(grads, dtype=torch.float64)
        topt.step()
    for p, want, g in zip(ps, tp.detach().tolist(), grads):
        assert (math.isnan(p.data), math.isinf(p.data)) == (math.isnan(want), math.isinf(want)), g
        if math.isfinite(want):
            assert p.data == pytest.approx(want, rel=1e-12, abs=1e-300), g


# -- empty and degenerate input -----------------------------------------------------------

def test_empty_and_degenerate_input_gives_empty_results() -> None:
    assert fastgrad.sum([]).data == 0.0 and fastgrad.dot([], [], 2.5).data == 2.5
    assert arrays.from_array([]) == [] and arrays.data_array([]).shape == (0,)
    assert losses.l2([], 0.5).data == 0.0
    assert nn.MLP(2, [])([1.0, 2.0]) == [1.0, 2.0]  # micrograd: no layers, the input
    assert nn.Layer(2, 0)([1.0, 2.0]) == []
    assert [v.data for v in nn.MLP(0, [2])([])] == [0.0, 0.0]  # the biases
    assert nn.MLP(2, [3, 1]).predict(np.empty((0, 2))).shape == (0,)
    for make in (datasets.make_moons, datasets.make_blobs):
        X, y = make(0, random_state=0)
        assert X.shape == (0, 2) and y.shape == (0,)
    X, y = datasets.make_moons(1, random_state=0)
    assert X.shape == (1, 2) and y.tolist() == [1]


# -- command line: usage errors exit with status 2, a usage line and no traceback ----------

CLI_CASES: list[tuple[list[str], str, str | None]] = [  # (argv, option named, defect)
    (["--steps", "-5"], "--steps", None), (["--steps", "1.5"], "--steps", None),
    (["--steps", ""], "--steps", None), (["--seed", "x"], "--seed", None),
    (["--seed", "1.5"], "--seed", None), (["--seed", "-1"], "--seed", None),
    (["--seed", str(2 ** 32)], "--seed", None),
    (["--plot", "x.png", "--no-plot"], "--no-plot", None),
    (["--no-plot", "--backend", ""], "--backend", None),
    (["bench", "--budget", "0"], "--budget", None),
    (["bench", "--budget", "nan"], "--budget", None),
    (["bench", "--budget", "-inf"], "--budget", None),
    (["bench", "--repeats", "0"], "--repeats", None),
    (["bench", "--timeout", "-1"], "--timeout", None),
    (["bench", "--workloads", ""], "--workloads", None),
    (["bench", "--workloads", "moons,,x"], "--workloads", None),
    (["bench", "--baseline", "gpu"], "--baseline", None),
    (["bench", "--size", "1e6"], "--size", None),
    (["run", "--backend", "gpu", "x.py"], "--backend", None),
    (["run", "--compare"], "SCRIPT", None),
]


@pytest.fixture(scope="module")
def cli_results() -> dict[str, subprocess.CompletedProcess]:
    """Every CLI case at once, each in its own interpreter (they only parse arguments)."""
    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "fastgrad", *args], capture_output=True,
                              text=True, env=child_env(), timeout=120)
    argvs = [argv for argv, _, _ in CLI_CASES]
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(map(" ".join, argvs), pool.map(run, argvs)))


@pytest.mark.parametrize("args, option", [
    pytest.param(argv, option, id=" ".join(argv), marks=[defect(reason)] if reason else [])
    for argv, option, reason in CLI_CASES])
def test_bad_command_line_arguments_exit_2_with_usage(cli_results, args: list[str],
                                                      option: str) -> None:
    proc = cli_results[" ".join(args)]
    assert proc.returncode == 2, proc.stderr[-800:]
    assert "usage:" in proc.stderr and option in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
