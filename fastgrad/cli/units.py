"""Human-readable durations and sizes for the CLI's output."""
from __future__ import annotations


def duration(seconds: float) -> str:
    """3 significant digits in the largest unit that keeps the number at least 1."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def size(nbytes: float) -> str:
    """Bytes, in B, KB, MB or GB (powers of 1024), 3 significant digits."""
    for unit, scale in (("GB", 2.0 ** 30), ("MB", 2.0 ** 20), ("KB", 2.0 ** 10)):
        if abs(nbytes) >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B" if abs(nbytes) >= 100 else f"{nbytes:.3g} B"
