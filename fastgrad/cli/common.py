"""What the CLI's commands share: option types, the backend choice, child interpreters'
environment, and durations and sizes for people to read."""
from __future__ import annotations

import argparse
import math
import os
from types import ModuleType

# -- option types: each refuses a value it cannot use, so argparse says so before any work

# A subprocess wait is poll()ed in int milliseconds: past ~24.8 days it overflows.
MAX_SECONDS = 24 * 24 * 3600.0


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed(text: str) -> int:
    """A seed numpy's legacy generator takes (the datasets use it): 0 to 2**32 - 1."""
    value = _whole_number(text)
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {value}")
    return value


def seconds(text: str) -> float:
    """A finite, positive duration a wait can take (nan, inf and 0 mean nothing here)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text}")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SECONDS:.0f} (24 days), got {text}")
    return value


def output_file(text: str) -> str:
    """A path a file can be written to: checked now, so a long run cannot fail at its end."""
    directory = os.path.dirname(os.path.abspath(text))
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    if not os.path.isdir(directory):
        raise argparse.ArgumentTypeError(f"no such directory: {os.path.dirname(text) or '.'}")
    if not os.access(directory, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {os.path.dirname(text) or '.'}")
    return text


# -- backends ------------------------------------------------------------------------------

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
            f"the compiled core is not in use: {fastgrad.engine.fallback_reason}; "
            "use --backend pure"
        )
    if backend not in ("auto", "fast"):
        raise ValueError(f"unknown backend {backend!r}; use one of {BACKEND_CHOICES}")
    return fastgrad.engine, fastgrad.nn


def pure_requested() -> bool:
    """FASTGRAD_PURE as fastgrad.engine reads it."""
    return os.environ.get("FASTGRAD_PURE", "") not in ("", "0")


def served_modules() -> tuple[ModuleType, ModuleType]:
    """(engine, nn) that `run` serves as micrograd's: what `import fastgrad` gives, or the
    pure twin where FASTGRAD_PURE was set after fastgrad chose its compiled core (`run
    --backend pure`). The environment decides, so the script's multiprocessing workers
    serve the same engine."""
    engine, nn = modules("auto")
    return modules("pure") if pure_requested() and engine.backend == "fast" else (engine, nn)


def name(engine: ModuleType) -> str:
    """"fast" or "pure" for an engine module returned by modules()."""
    return "pure" if engine.__name__ == "fastgrad.pure.engine" else engine.backend


# -- child interpreters ------------------------------------------------------------------

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child_env(pure: bool | None = None, **extra: str) -> dict[str, str]:
    """os.environ with fastgrad's directory first on PYTHONPATH: children import this
    very fastgrad. pure=True sets FASTGRAD_PURE=1, pure=False removes it, None passes it."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
    if pure is True:
        env["FASTGRAD_PURE"] = "1"
    elif pure is False:
        env.pop("FASTGRAD_PURE", None)
    return env


# -- units ---------------------------------------------------------------------------------

def duration(secs: float) -> str:
    """3 significant digits in the largest unit that keeps the number at least 1."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(secs) >= scale:
            return f"{secs / scale:.3g} {unit}"
    return f"{secs / 1e-9:.3g} ns"


def size(nbytes: float) -> str:
    """Bytes, in B, KB, MB or GB (powers of 1024), 3 significant digits."""
    for unit, scale in (("GB", 2.0 ** 30), ("MB", 2.0 ** 20), ("KB", 2.0 ** 10)):
        if abs(nbytes) >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B" if abs(nbytes) >= 100 else f"{nbytes:.3g} B"
