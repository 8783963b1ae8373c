"""Pick the engine and nn modules the CLI commands run on."""
from __future__ import annotations

from types import ModuleType

BACKEND_CHOICES = ("auto", "fast", "pure")


class BackendUnavailable(RuntimeError):
    """The requested backend cannot be used in this process."""


def modules(backend: str = "auto") -> tuple[ModuleType, ModuleType]:
    """(engine, nn) for "auto" (what `import fastgrad` chose), "fast" or "pure"."""
    if backend == "pure":
        import fastgrad.pure.engine
        import fastgrad.pure.nn
        return fastgrad.pure.engine, fastgrad.pure.nn
    import fastgrad.engine
    import fastgrad.nn
    if backend == "fast" and fastgrad.engine.backend != "fast":
        raise BackendUnavailable(
            "the compiled core is not in use (FASTGRAD_PURE is set, or the extension "
            "was not built); use --backend pure"
        )
    if backend not in ("auto", "fast"):
        raise ValueError(f"unknown backend {backend!r}; use one of {BACKEND_CHOICES}")
    return fastgrad.engine, fastgrad.nn


def name(engine: ModuleType) -> str:
    """"fast" or "pure" for an engine module returned by modules()."""
    return "pure" if engine.__name__ == "fastgrad.pure.engine" else engine.backend
