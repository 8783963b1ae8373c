"""Optional dependencies (torch, onnx, graphviz), imported when a function first needs one."""
from __future__ import annotations

import importlib
from types import ModuleType


def need(name: str, extra: str, who: str) -> ModuleType:
    """The module `name`, or an ImportError saying which fastgrad extra installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"{who} needs {name}: pip install 'fastgrad[{extra}]'") from exc
