"""`python -m fastgrad run SCRIPT.py` behaves as `python SCRIPT.py`: the same module
attributes, argv and path, the same tracebacks, warnings and exit status, multiprocessing
workers served the same micrograd, and `--compare` children fed the same stdin."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import fastgrad
from command_line import fastgrad_cli, python

FAILING = '''\
import warnings

warnings.warn("a warning from the script")


def divide(x):
    return 1 / x


def wrap():
    try:
        divide(0)
    except ZeroDivisionError as exc:
        raise ValueError("wrapped") from exc


print("before")
wrap()
'''


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def same_as_python(tmp_path: Path, script: str, *args: str) -> tuple:
    """(status, stdout, stderr) of `python -m fastgrad run` and of `python`, from tmp_path."""
    ours = fastgrad_cli("run", script, *args, cwd=tmp_path)
    theirs = python(script, *args, cwd=tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)
    return ours.returncode, ours.stdout, ours.stderr


def test_traceback_shows_the_scripts_frames_only(tmp_path: Path) -> None:
    write(tmp_path, "sub/failing.py", FAILING)
    status, out, err = same_as_python(tmp_path, "sub/failing.py")
    assert status == 1 and out == "before\n"
    assert "fastgrad" not in err and "runpy" not in err
    assert err.count('File "') == 4 and "The above exception was the direct cause" in err
    # warnings and frames name the script by its absolute path, as python does
    assert f"{tmp_path / 'sub' / 'failing.py'}:3: UserWarning: a warning from the script" in err


def test_syntax_error_prints_as_python_prints_it(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "x = 1\ndef f(\n    y = 2\n")
    status, _, err = same_as_python(tmp_path, "broken.py")
    assert status == 1 and "Traceback" not in err
    assert err.startswith(f'  File "{tmp_path / "broken.py"}", line 2')
    assert err.endswith("SyntaxError: '(' was never closed\n")


def test_exit_status_and_keyboard_interrupt(tmp_path: Path) -> None:
    write(tmp_path, "exits.py", "import sys\nsys.exit('bye')\n")
    assert same_as_python(tmp_path, "exits.py")[0] == 1  # the message on stderr, status 1
    write(tmp_path, "interrupted.py", "raise KeyboardInterrupt\n")
    ours = fastgrad_cli("run", "interrupted.py", cwd=tmp_path)
    theirs = python("interrupted.py", cwd=tmp_path)
    assert ours.stderr == theirs.stderr and ours.stderr.endswith("KeyboardInterrupt\n")
    assert ours.returncode == 130  # python ends by the signal itself: a shell says 130 too


def test_module_attributes_argv_and_path(tmp_path: Path) -> None:
    write(tmp_path, "sub/where.py", '''\
        """The docstring."""
        import os, pickle, sys
        class Point:
            pass
        print(__name__, __file__, os.path.isabs(__file__), __doc__, __spec__, __cached__)
        print(type(__loader__).__name__, type(__builtins__).__name__, sys.argv, sys.path[0])
        print(sys.modules["__main__"].__file__, type(pickle.loads(pickle.dumps(Point()))))
    ''')
    _, out, _ = same_as_python(tmp_path, "sub/where.py", "--flag", "x")
    assert str(tmp_path / "sub" / "where.py") in out and "['sub/where.py', '--flag', 'x']" in out


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
@pytest.mark.parametrize("backend", ["auto", "pure"])
def test_multiprocessing_workers_get_fastgrads_micrograd(tmp_path: Path, method: str,
                                                         backend: str) -> None:
    write(tmp_path, "workers.py", f'''\
        import multiprocessing
        from micrograd.engine import Value
        from micrograd.nn import MLP

        def work(x):
            return (Value(x) ** 2).data, Value.__module__, MLP.__module__

        if __name__ == "__main__":
            with multiprocessing.get_context("{method}").Pool(2) as pool:
                print(Value.__module__)
                for row in pool.map(work, [1.5, 2.0]):
                    print(*row)
    ''')
    proc = fastgrad_cli("run", "--backend", backend, "workers.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    parent, *rows = proc.stdout.splitlines()
    assert parent == ("fastgrad.pure.engine" if backend == "pure" else fastgrad.Value.__module__)
    assert [row.split()[:2] for row in rows] == [["2.25", parent], ["4.0", parent]]
    assert all(row.split()[2].startswith("fastgrad.") for row in rows)


def test_compare_gives_both_runs_the_same_stdin(tmp_path: Path) -> None:
    pytest.importorskip("micrograd")
    write(tmp_path, "reads.py", '''\
        import sys
        from micrograd.engine import Value
        name = input("name? ")
        total = sum(Value(float(t)) for t in sys.stdin.read().split())
        print(name, total.data)
    ''')
    proc = fastgrad_cli("run", "--compare", "reads.py", cwd=tmp_path, input="moons\n1.5 2.5\n-1\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("name? moons 3.0\n")
    verdict = next(line for line in proc.stdout.splitlines() if line.startswith("output:"))
    assert verdict.startswith("output: identical")


def test_compare_reports_the_scripts_failure_as_python_would(tmp_path: Path) -> None:
    write(tmp_path, "failing.py", FAILING)
    proc = fastgrad_cli("run", "--compare", "failing.py", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == "before\n"
    assert proc.stderr == python("failing.py", cwd=tmp_path).stderr
