"""Star imports give what they give elsewhere: `from fastgrad import *` shadows no builtin,
and under `python -m fastgrad run` micrograd's modules hold micrograd's names (only the
modules micrograd has are served: a fork's other submodules load from the fork)."""
from __future__ import annotations

import builtins
import importlib
import json
import textwrap
from pathlib import Path

import pytest

import fastgrad
from command_line import fastgrad_cli, python

USER_MODULES = ("fastgrad", "fastgrad.engine", "fastgrad.nn", "fastgrad.optim", "fastgrad.losses",
                "fastgrad.arrays", "fastgrad.datasets")


@pytest.mark.parametrize("name", USER_MODULES)
def test_star_import_shadows_no_builtin(name: str) -> None:
    module = importlib.import_module(name)
    assert set(module.__all__) & set(dir(builtins)) == set()
    assert all(hasattr(module, n) for n in module.__all__)


def test_builtin_sum_survives_a_star_import() -> None:
    ns: dict = {}
    exec("from fastgrad import *\n"  # noqa: S102 - the user's line under test
         "acc = [1, 0, 1, 1]\n"
         "mean = sum(acc) / len(acc)\n"
         "total = sum((Value(x) for x in (1.0, 2.0)), Value(0.5))\n", ns)
    assert ns["mean"] == 0.75 and type(ns["mean"]) is float
    assert ns["total"].data == 3.5 and "sum" not in ns
    assert fastgrad.sum is fastgrad.engine.sum  # still there by its qualified name


STAR_NAMES = '''\
import json, sys
names = {}
for module in ("micrograd", "micrograd.engine", "micrograd.nn"):
    ns = {}
    exec(f"from {module} import *", ns)
    names[module] = sorted(n for n in ns if n != "__builtins__")
import micrograd
print(json.dumps({"names": names, "file": micrograd.__file__,
                  "Value": micrograd.engine.Value.__module__}))
'''


def test_star_imports_match_micrograds(tmp_path: Path) -> None:
    pytest.importorskip("micrograd")
    (tmp_path / "names.py").write_text(STAR_NAMES)
    theirs = json.loads(python("names.py", cwd=tmp_path).stdout)
    ours_proc = fastgrad_cli("run", "names.py", cwd=tmp_path)
    assert ours_proc.returncode == 0, ours_proc.stderr
    ours = json.loads(ours_proc.stdout)
    assert ours["names"] == theirs["names"]
    assert ours["names"]["micrograd.engine"] == ["Value"]
    assert ours["names"]["micrograd.nn"] == ["Layer", "MLP", "Module", "Neuron", "Value", "random"]
    assert Path(ours["file"]).is_file() and ours["Value"] == fastgrad.Value.__module__


def test_a_forks_other_submodules_load_from_the_fork(tmp_path: Path) -> None:
    fork = tmp_path / "micrograd"
    fork.mkdir()
    (fork / "__init__.py").write_text("")
    (fork / "engine.py").write_text("raise RuntimeError('the fork engine is not served')\n")
    (fork / "graph.py").write_text(textwrap.dedent('''\
        from micrograd.engine import Value

        def double(v):
            return v * 2
    '''))
    (tmp_path / "uses_fork.py").write_text(textwrap.dedent('''\
        import micrograd.graph
        from micrograd.engine import Value
        from micrograd.graph import double
        print(micrograd.graph.__file__)
        print(type(double(Value(1.5))).__module__, double(Value(1.5)).data)
    '''))
    proc = fastgrad_cli("run", "uses_fork.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(fork / "graph.py"),
                                        f"{fastgrad.Value.__module__} 3.0"]


def test_only_micrograds_modules_are_served(tmp_path: Path) -> None:
    (tmp_path / "missing.py").write_text("import micrograd.graph\n")
    proc = fastgrad_cli("run", "missing.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.endswith("ModuleNotFoundError: No module named 'micrograd.graph'\n")
