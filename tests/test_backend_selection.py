"""Which engine `import fastgrad` picks, and why it says it fell back to the pure one.

The case users hit: a non-editable install, then Python started inside the checkout,
whose fastgrad/ (no compiled core) comes first on sys.path and shadows the install."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastgrad
from fastgrad import engine

PACKAGE = Path(fastgrad.__file__).parent


def test_the_reason_matches_the_backend() -> None:
    if engine.backend == "fast":
        assert engine.fallback_reason is None
    elif os.environ.get("FASTGRAD_PURE", "") not in ("", "0"):
        assert engine.fallback_reason == "FASTGRAD_PURE is set in the environment"
    else:
        assert engine.fallback_reason


def _copy(root: Path, with_core: bool) -> Path:
    """A copy of this fastgrad under root: an install (with the built core), or a source
    checkout (a _core.pyx, no built core)."""
    skip = ("__pycache__",) if with_core else ("__pycache__", "_core.*.so", "_core.*.pyd")
    shutil.copytree(PACKAGE, root / "fastgrad", ignore=shutil.ignore_patterns(*skip))
    if not with_core:
        (root / "fastgrad" / "_core.pyx").touch()
    return root / "fastgrad"


def test_a_checkout_shadowing_an_install_is_named_with_the_fix(tmp_path: Path) -> None:
    if not engine._has_core(str(PACKAGE)):
        pytest.skip("this fastgrad has no compiled core to copy")
    installed = _copy(tmp_path / "site", with_core=True)
    checkout = _copy(tmp_path / "checkout", with_core=False)
    # -S: no site-packages .pth files, so no editable install's finder answers for
    # fastgrad; the path is the checkout (the current directory), the install, numpy.
    path = [str(installed.parent), str(Path(np.__file__).parents[1])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    env.pop("FASTGRAD_PURE", None)
    code = "import fastgrad.engine as e; print(e.backend); print(e.fallback_reason)"
    proc = subprocess.run([sys.executable, "-S", "-c", code], cwd=checkout.parent, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    backend, reason = proc.stdout.splitlines()
    assert backend == "pure"
    assert f"the source checkout {checkout}, which has no compiled core, shadows" in reason
    assert f"the installed fastgrad in {installed}" in reason
    assert "run from outside the checkout" in reason and "pip install -e ." in reason
    assert reason in proc.stderr and "RuntimeWarning" in proc.stderr


def test_a_checkout_alone_is_told_to_build(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = _copy(tmp_path, with_core=False)
    monkeypatch.setattr(engine, "_PACKAGE", str(checkout))
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    reason = engine._missing_core_reason(ImportError("No module named 'fastgrad._core'"))
    assert reason == (f"the source checkout {checkout} has no compiled core; build it in "
                      "place with `pip install -e .`")


def test_other_import_failures_keep_the_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fastgrad").mkdir()  # an install: no _core.pyx beside it
    monkeypatch.setattr(engine, "_PACKAGE", str(tmp_path / "fastgrad"))
    reason = engine._missing_core_reason(ImportError("undefined symbol: fg_new"))
    assert reason == "the compiled core failed to import (undefined symbol: fg_new)"
