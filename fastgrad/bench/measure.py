"""Repeat-until-budget timing, medians, process memory, and "not applicable" cells."""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Callable

from fastgrad.bench.spec import Config


@dataclass
class NA:
    """A cell a backend cannot fill: `short` goes in the table, `detail` under it."""
    short: str
    detail: str = ""


def repeat(sample: Callable[[], Sequence[float]], config: Config,
           min_repeats: int | None = None) -> list[float]:
    """Per-component medians of sample()'s results, sampled at least min_repeats times
    and until the config's time budget is spent."""
    runs: list[Sequence[float]] = []
    needed = config.min_repeats if min_repeats is None else min_repeats
    start = time.perf_counter()
    while len(runs) < needed or time.perf_counter() - start < config.budget:
        runs.append(sample())
    return [statistics.median(column) for column in zip(*runs)]


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss() -> int | None:
    """This process's resident set size in bytes, or None where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return None
