"""fastgrad/_core.pyi against the compiled module it types (what mypy's stubtest checks):
the same public names, members of the same kind, and the same parameters wherever the
compiled module can say (Cython gives functions and methods introspectable signatures;
extension types' __init__ and operator slots it does not)."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

core = pytest.importorskip("fastgrad._core")

STUB = ast.parse(Path(core.__file__).with_name("_core.pyi").read_text(encoding="utf-8"))
Def = (ast.FunctionDef, ast.AsyncFunctionDef)


def _members(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """Names a stub body defines: functions, classes, annotated or assigned names."""
    found: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, (*Def, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = node
        elif isinstance(node, ast.Assign):
            found.update((t.id, node) for t in node.targets if isinstance(t, ast.Name))
    return found


STUB_NAMES = _members(STUB.body)
STUB_ALL = ast.literal_eval(STUB_NAMES["__all__"].value)  # type: ignore[attr-defined]
# The module's public names: what it exports, and any other function or class it defines
# (not what it imports, such as np)
PUBLIC = sorted(set(core.__all__) | {
    n for n, v in vars(core).items()
    if not n.startswith("_") and getattr(v, "__module__", None) == core.__name__})
CLASSES = [n for n in PUBLIC if isinstance(STUB_NAMES.get(n), ast.ClassDef)]
FUNCTIONS = [n for n in PUBLIC if isinstance(STUB_NAMES.get(n), Def)]


def _is_property(node: ast.stmt) -> bool:
    return isinstance(node, Def) and any(
        isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list)


def _stub_params(node: ast.FunctionDef) -> list[tuple[str, Any, bool]]:
    """(name, kind, has default) per parameter, as inspect.Parameter would give them."""
    a = node.args
    P = inspect.Parameter
    plain = [(p, P.POSITIONAL_ONLY) for p in a.posonlyargs] + [
        (p, P.POSITIONAL_OR_KEYWORD) for p in a.args]
    defaults = [False] * (len(plain) - len(a.defaults)) + [True] * len(a.defaults)
    params = [(p.arg, kind, d) for (p, kind), d in zip(plain, defaults)]
    if a.vararg:
        params.append((a.vararg.arg, P.VAR_POSITIONAL, False))
    params += [(p.arg, P.KEYWORD_ONLY, d is not None) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        params.append((a.kwarg.arg, P.VAR_KEYWORD, False))
    return params


def _stub_defaults(node: ast.FunctionDef) -> dict[str, Any]:
    """The literal defaults the stub spells out (`...` says nothing)."""
    a = node.args
    pairs = list(zip(a.args[len(a.args) - len(a.defaults):], a.defaults))
    pairs += [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    out = {}
    for p, d in pairs:
        if not (isinstance(d, ast.Constant) and d.value is Ellipsis):
            out[p.arg] = ast.literal_eval(d)
    return out


def _check_signature(stub: ast.FunctionDef, runtime: Any, where: str) -> None:
    try:
        sig = inspect.signature(runtime)
    except (TypeError, ValueError):
        return  # not introspectable (extension slots): nothing to compare
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        return  # a generic (*args, **kwargs) wrapper says nothing about the real parameters
    got = [(p.name, p.kind, p.default is not p.empty) for p in sig.parameters.values()]
    assert _stub_params(stub) == got, f"{where}: stub {_stub_params(stub)} != module {got}"
    for name, value in _stub_defaults(stub).items():
        assert sig.parameters[name].default == value, f"{where}: default of {name}"


def test_the_stub_names_exactly_the_public_names() -> None:
    assert STUB_ALL == core.__all__
    stubbed = {n for n in STUB_NAMES if not n.startswith("_")}
    assert stubbed == set(PUBLIC), "stub-only helpers (type aliases) must be private"
    for name in PUBLIC:
        assert isinstance(getattr(core, name), type) == (name in CLASSES), name


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_signatures_match(name: str) -> None:
    stub = STUB_NAMES[name]
    assert isinstance(stub, ast.FunctionDef)
    _check_signature(stub, getattr(core, name), name)


@pytest.mark.parametrize("name", CLASSES)
def test_class_members_match(name: str) -> None:
    cls = getattr(core, name)
    stub = STUB_NAMES[name]
    assert isinstance(stub, ast.ClassDef)
    members = _members(stub.body)
    runtime = {m for m in vars(cls) if not m.startswith("_")}
    stubbed = {m for m in members if not m.startswith("_")}
    assert stubbed == runtime, f"{name}: stub has {sorted(stubbed)}, module {sorted(runtime)}"
    for member, node in members.items():
        assert hasattr(cls, member), f"{name}.{member} is in the stub only"
        attr = inspect.getattr_static(cls, member)
        if isinstance(node, Def) and not _is_property(node):
            assert callable(attr), f"{name}.{member}: a method in the stub, not in the module"
            if not member.startswith("__"):
                _check_signature(node, getattr(cls, member), f"{name}.{member}")
        else:
            assert not callable(attr) or attr is None, (
                f"{name}.{member}: an attribute in the stub, a method in the module")
