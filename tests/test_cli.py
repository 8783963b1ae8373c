"""The command line: `python -m fastgrad` (the demo), `run`, `bench`. Each runs in a fresh
interpreter with this process's environment, so FASTGRAD_PURE selects the backend
under test. Nothing here is timed: figures are printed, only their presence checked."""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

import fastgrad
from command_line import fastgrad_cli
from fastgrad.cli.common import child_env
from fastgrad.cli.run import compare_outputs

SCRIPT = Path(__file__).parent / "data" / "micrograd_moons.py"
# micrograd's demo.ipynb prints "step 0 loss 0.8958441028683222, accuracy 50.0%"
NOTEBOOK_FIRST_LOSS = "loss 0.895844  accuracy  50%"


# -- usage -----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["--steps", "0"], ["--steps", "many"], ["--backend", "gpu"], ["frobnicate"],
    ["run"], ["run", "no/such/script.py"],
    ["bench", "--backends", "floats,numba"], ["bench", "--size", "-3"],
    ["bench", "--backends", "pure", "--baseline", "torch"],
])
def test_usage_errors_exit_2_with_usage(args: list[str]) -> None:
    proc = fastgrad_cli(*args)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args, says", [
    (["bench", "--timeout", "inf"], "argument --timeout: must be a finite number greater than 0"),
    (["bench", "--timeout", "nan"], "argument --timeout: must be a finite number greater than 0"),
    (["bench", "--timeout", "0"], "argument --timeout: must be a finite number greater than 0"),
    (["bench", "--timeout", "1e9"], "argument --timeout: must be at most"),
    (["bench", "--budget", "inf"], "argument --budget: must be a finite number greater than 0"),
    (["bench", "--budget", "-1"], "argument --budget: must be a finite number greater than 0"),
    (["bench", "--budget", "5", "--timeout", "2"], "--timeout 2 leaves no time"),
    (["bench", "--quick", "--timeout", "0.1"], "--timeout 0.1 leaves no time"),
    (["bench", "--size", "inf"], "argument --size: expected a whole number"),
    (["bench", "--repeats", "-2"], "argument --repeats: must be at least 1"),
    (["bench", "--json", "{tmp}/missing/bench.json"],
     "argument --json: no such directory: {tmp}/missing"),
    (["bench", "--json", "{tmp}"], "argument --json: {tmp} is a directory"),
    (["--plot", "{tmp}/missing/boundary.png"], "argument --plot: no such directory: {tmp}/missing"),
    (["--plot", "{tmp}"], "argument --plot: {tmp} is a directory"),
    (["--steps", "inf"], "argument --steps: expected a whole number"),
    (["--seed", "-1"], "argument --seed: must be between 0"),
])
def test_unusable_options_are_refused_up_front_in_one_line(args: list[str], says: str,
                                                            tmp_path: Path) -> None:
    proc = fastgrad_cli(*(a.format(tmp=tmp_path) for a in args), timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""  # nothing ran
    usage, error = proc.stderr.rstrip("\n").rsplit("\n", 1)
    assert usage.startswith("usage:")
    assert error.startswith("python -m fastgrad") and says.format(tmp=tmp_path) in error
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_usage_shows_runs_arguments_as_optional() -> None:
    for args in (["run", "--help"], ["run"]):
        proc = fastgrad_cli(*args)
        usage = (proc.stdout or proc.stderr).split("\n\n")[0]
        assert "SCRIPT.py [ARGS ...]" in " ".join(usage.split())
    assert "SCRIPT.py [ARGS...]" in fastgrad_cli("--help").stdout
    error = fastgrad_cli("run").stderr.rstrip("\n").rsplit("\n", 1)[1]
    assert error.endswith("the following arguments are required: SCRIPT.py")


def test_importing_main_does_nothing() -> None:
    proc = subprocess.run([sys.executable, "-c", "import fastgrad.__main__"], capture_output=True,
                          text=True, env=child_env(), timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_console_script_names_a_function() -> None:
    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("not run from a source checkout")
    target = tomllib.loads(pyproject.read_text())["project"]["scripts"]["fastgrad"]
    module, _, function = target.partition(":")
    main = getattr(importlib.import_module(module), function)
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0


def test_fast_backend_refused_when_pure_is_forced() -> None:
    proc = subprocess.run([sys.executable, "-m", "fastgrad", "--backend", "fast", "--steps", "1"],
                          capture_output=True, text=True, env=child_env(pure=True), timeout=300)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and "--backend fast" in proc.stderr


@pytest.mark.parametrize("args, words", [
    (["--help"], ["--steps", "--seed", "--backend", "--plot", "run", "bench"]),
    (["run", "--help"], ["--compare", "SCRIPT.py", "1e-09"]),
    (["bench", "--help"], ["--quick", "--json", "--backends", "--baseline"]),
])
def test_help_explains_options(args: list[str], words: list[str]) -> None:
    proc = fastgrad_cli(*args)
    assert proc.returncode == 0
    for word in words:
        assert word in proc.stdout


# -- the demo --------------------------------------------------------------------------

def test_demo_trains_a_few_steps_and_draws_the_boundary() -> None:
    proc = fastgrad_cli("--steps", "3")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"({fastgrad.backend} backend)" in out and "337 parameters" in out
    assert f"step 1/3  {NOTEBOOK_FIRST_LOSS}" in out  # the notebook's first step, exactly
    assert "step 3/3" in out and "final accuracy" in out and "time per step" in out
    if fastgrad.backend == "fast":
        assert "pure backend:" in out and "bit-identical losses" in out and "speed-up" in out
    else:
        assert "speed-up over pure: n/a" in out
    assert "\r" not in out  # not a terminal: plain lines
    plot = [line for line in out.splitlines() if line.startswith("|")]
    assert len(plot) > 10 and len({len(line) for line in plot}) == 1
    body = "".join(plot)
    assert body.count("o") + body.count("x") > 50 and "." in body


def test_demo_replays_a_recording_by_default_and_builds_every_step_when_dynamic() -> None:
    compiled = fastgrad_cli("--steps", "3", "--no-plot")
    assert compiled.returncode == 0, compiled.stderr
    assert "(median of 3, compiled)" in compiled.stdout
    assert "dynamic path:" in compiled.stdout and "compiled is" in compiled.stdout
    assert "LOSSES DIFFER" not in compiled.stdout
    dynamic = fastgrad_cli("--steps", "3", "--no-plot", "--dynamic")
    assert dynamic.returncode == 0, dynamic.stderr
    assert "(median of 3, dynamic)" in dynamic.stdout and "dynamic path:" not in dynamic.stdout
    losses = [[line for line in p.stdout.splitlines() if line.startswith("step")]
              for p in (compiled, dynamic)]
    assert losses[0] == losses[1] and len(losses[0]) == 3


def test_demo_rewrites_its_progress_line_on_a_terminal() -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "fastgrad", "--steps", "2", "--no-plot"],
                            stdout=slave, stderr=subprocess.PIPE, env=child_env())
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=300) == 0
    out = b"".join(chunks).decode()
    assert "\rstep 1/2" in out and "\rstep 2/2" in out


def test_demo_seed_changes_the_run() -> None:
    proc = fastgrad_cli("--steps", "1", "--seed", "7", "--no-plot")
    assert proc.returncode == 0, proc.stderr
    assert "step 1/1" in proc.stdout and NOTEBOOK_FIRST_LOSS not in proc.stdout
    assert "|" not in proc.stdout  # --no-plot


def test_demo_pure_backend_option() -> None:
    proc = fastgrad_cli("--steps", "1", "--backend", "pure", "--no-plot")
    assert proc.returncode == 0, proc.stderr
    assert "(pure backend)" in proc.stdout and NOTEBOOK_FIRST_LOSS in proc.stdout


def test_demo_png_plot(tmp_path: Path) -> None:
    path = tmp_path / "boundary.png"
    proc = fastgrad_cli("--steps", "2", "--plot", str(path))
    if importlib.util.find_spec("matplotlib") is None:
        assert proc.returncode == 2 and "matplotlib" in proc.stderr and not path.exists()
    else:
        assert proc.returncode == 0, proc.stderr
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- run -------------------------------------------------------------------------------

def test_run_serves_micrograd_imports_and_passes_arguments(tmp_path: Path) -> None:
    script = tmp_path / "which.py"
    script.write_text(
        "import sys\n"
        "import micrograd\n"
        "from micrograd.engine import Value\n"
        "from micrograd import nn\n"
        "print(Value.__module__, nn.MLP.__module__, micrograd.engine.Value is Value)\n"
        "print(sys.argv[1:])\n"
        "sys.exit(3)\n")
    proc = fastgrad_cli("run", str(script), "--flag", "x")
    assert proc.returncode == 3, proc.stderr
    modules, argv = proc.stdout.splitlines()
    assert modules.split()[0].startswith("fastgrad") and modules.split()[1].startswith("fastgrad")
    assert modules.endswith("True")
    assert argv == "['--flag', 'x']"


def test_run_the_typical_micrograd_script() -> None:
    proc = fastgrad_cli("run", str(SCRIPT), "--steps", "3", "--samples", "20")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("MLP of [Layer of [ReLUNeuron(2)")
    assert lines[1] == "number of parameters 105"
    assert [line.split()[:2] for line in lines[2:]] == [["step", "0"], ["step", "1"], ["step", "2"]]


def test_run_compare_against_micrograd() -> None:
    pytest.importorskip("micrograd")
    proc = fastgrad_cli("run", "--compare", str(SCRIPT), "--steps", "3", "--samples", "20")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "step 2 loss" in out  # the fastgrad run's own output comes first
    assert "micrograd:" in out and "ratio: fastgrad is" in out
    verdict = next(line for line in out.splitlines() if line.startswith("output:"))
    assert verdict.split()[1] in ("identical", "close")


def test_agreement_verdicts() -> None:
    assert compare_outputs("a 1.5\n", "a 1.5\n").verdict == "identical"
    close = compare_outputs("loss 0.30000000000000004 grad=0.0", "loss 0.3 grad=0")
    assert close.verdict == "close" and "2 numbers" in close.detail
    assert compare_outputs("loss 0.3", "loss 0.31").verdict == "differ"
    assert compare_outputs("loss 0.3", "cost 0.3").verdict == "differ"
    assert compare_outputs("a\nb", "a").verdict == "differ"
    assert compare_outputs("nan inf -1e-300", "nan inf -1e-300 ").verdict == "differ"
    assert compare_outputs("x nan", "x nan").verdict == "identical"
    assert compare_outputs("v 1e-12", "v 1.0000000000001e-12").verdict == "close"


# -- bench -----------------------------------------------------------------------------

def test_bench_quick_on_a_tiny_size(tmp_path: Path) -> None:
    ours = "fastgrad" if fastgrad.backend == "fast" else "pure"
    out_json = tmp_path / "bench.json"
    proc = fastgrad_cli("bench", "--quick", "--backends", f"floats,{ours}", "--baseline", ours,
                        "--workloads", "per-op,moons,deep-chain,memory,mesh", "--size", "2000",
                        "--budget", "0.01", "--json", str(out_json))
    assert proc.returncode == 0, proc.stderr
    assert "per-op forward" in proc.stdout and "ratio to " in proc.stdout
    assert ("fastgrad's targets" in proc.stdout) == (ours == "fastgrad")  # targets are fastgrad's
    doc = json.loads(out_json.read_text())
    assert doc["config"]["chain_ops"] == 2000
    assert doc["command"].startswith("python -m fastgrad bench --quick")
    results = doc["results"]
    for key in ("op_forward", "op_backward", "moons_step", "chain_forward", "chain_backward",
                "mem_node", "mesh_graph", "mesh_no_grad", "mesh_array"):
        assert results[key][ours] > 0, key
    assert results["op_forward"]["floats"] > 0 and "floats" not in results["op_backward"]
    assert results["mem_release_nodes"][ours] == 0  # the dropped graph is reclaimed


def test_bench_says_why_micrograd_cannot_run_a_deep_chain(tmp_path: Path) -> None:
    pytest.importorskip("micrograd")
    out_json = tmp_path / "bench.json"
    proc = fastgrad_cli("bench", "--quick", "--backends", "micrograd", "--baseline", "micrograd",
                        "--workloads", "deep-chain", "--size", "4000", "--budget", "0.01",
                        "--json", str(out_json))
    assert proc.returncode == 0, proc.stderr
    assert "RecursionError" in proc.stdout
    cell = json.loads(out_json.read_text())["results"]["chain_backward"]["micrograd"]
    assert cell["na"] == "RecursionError" and "recursion" in cell["detail"]


def test_docs_list_the_targets_the_bench_checks() -> None:
    from fastgrad.bench.report import targets
    docs = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
    if not docs.exists():
        pytest.skip("not run from a source checkout")
    rows = [line.split(" | ")[:2] for line in docs.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| figure")]
    assert [[f"| {t.figure}", t.target] for t in targets({})] == rows
