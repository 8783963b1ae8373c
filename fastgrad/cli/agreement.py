"""Do two programs' printed outputs agree? Exactly, or number by number within a tolerance."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

# 1e-9 relative: micrograd accumulates gradients in set-iteration order, so its numbers
# differ from fastgrad's by reassociation (1e-16 per operation, DESIGN.md asks 1e-12 per
# evaluation) and training steps amplify that; 1e-9 is issue 3's bar for a loss curve.
REL_TOL = 1e-9

_NUMBER = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)\b)")


@dataclass
class Agreement:
    verdict: str  # "identical", "close" (numbers within REL_TOL) or "differ"
    detail: str


def compare(ours: str, theirs: str, rel_tol: float = REL_TOL) -> Agreement:
    if ours == theirs:
        return Agreement("identical", f"{len(ours.splitlines())} lines, byte for byte")
    a_lines, b_lines = ours.splitlines(), theirs.splitlines()
    if len(a_lines) != len(b_lines):
        return Agreement("differ", f"{len(a_lines)} lines against {len(b_lines)}")
    worst, inexact = 0.0, 0
    for n, (a, b) in enumerate(zip(a_lines, b_lines), 1):
        a_parts, b_parts = _NUMBER.split(a), _NUMBER.split(b)
        # split() with a group alternates text, number, text, ...: odd indices are numbers
        if len(a_parts) != len(b_parts) or a_parts[::2] != b_parts[::2]:
            return Agreement("differ", f"line {n}: {a!r} against {b!r}")
        for x, y in zip(a_parts[1::2], b_parts[1::2]):
            rel = _relative_difference(float(x), float(y))
            if rel > rel_tol:
                return Agreement("differ", f"line {n}: {x} against {y} "
                                           f"(relative difference {rel:.1e})")
            inexact += x != y
            worst = max(worst, rel)
    return Agreement("close", f"{len(a_lines)} lines; {inexact} numbers printed differently, "
                              f"largest relative difference {worst:.1e} (tolerance {rel_tol:g})")


def _relative_difference(x: float, y: float) -> float:
    if x == y or (math.isnan(x) and math.isnan(y)):
        return 0.0
    return abs(x - y) / max(abs(x), abs(y))
