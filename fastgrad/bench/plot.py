"""`bench --plot DIR`: the ratio table as a chart, for the README and the docs.

One horizontal bar per backend and figure, each the backend's value over the baseline's
in the same row (the ratio table's numbers), on a log scale around 1x. Needs matplotlib
(the `plot` extra); drawn with the Agg backend, no display needed.
"""
from __future__ import annotations

import os

from typing import Any

from fastgrad.bench import report
from fastgrad.bench.measure import NA
from fastgrad.bench.spec import BACKEND_TITLES, BACKENDS

CHART = "ratios.png"


def directory(text: str) -> str:
    """A directory the chart can be written to, or one that can be made: checked before
    the run, so a long run cannot fail at its end."""
    path = os.path.abspath(text)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{text} is not a directory")
    existing = path if os.path.isdir(path) else os.path.dirname(path)
    if not os.path.isdir(existing):
        raise ValueError(f"no such directory: {os.path.dirname(text) or '.'}")
    if not os.access(existing, os.W_OK):
        raise ValueError(f"cannot write in {existing}")
    return text


def available() -> bool:
    """Whether matplotlib can be imported (checked before a long run, not after it)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def from_json(doc: dict[str, Any]) -> tuple[report.Results, list[str]]:
    """The results and backends (in table order) of a document `bench --json` wrote."""
    results: report.Results = {
        key: {b: NA(v["na"], v["detail"]) if isinstance(v, dict) else float(v)
              for b, v in row.items()}
        for key, row in doc["results"].items()}
    return results, [b for b in BACKENDS if any(b in row for row in results.values())]


def draw(results: report.Results, backends: list[str], baseline: str, directory: str) -> str:
    """Write directory/ratios.png (making the directory) for `results`; its path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report.ratios(results, [b for b in backends if b != baseline], baseline)
    shown = [b for b in backends if any(b in row for _, row in rows)]
    height = 0.8 / max(len(shown), 1)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.45 * len(rows) * max(len(shown), 1) ** 0.5))
    for k, backend in enumerate(shown):
        ys = [i + (k - (len(shown) - 1) / 2) * height for i, (_, row) in enumerate(rows)
              if backend in row]
        xs = [row[backend] for _, row in rows if backend in row]
        bars = ax.barh(ys, xs, height=height, label=BACKEND_TITLES[backend])
        ax.bar_label(bars, labels=[report._times(x) for x in xs], padding=3, fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [metric.label for metric, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"time or size relative to {BACKEND_TITLES[baseline]} (log scale; "
                  "lower is faster or smaller)")
    ax.set_title(f"fastgrad bench: ratios to {BACKEND_TITLES[baseline]}")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, CHART)
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    return path
