"""One bench cell group: a workload on a backend, in a process of its own.

    python -m fastgrad.bench.worker BACKEND WORKLOAD CONFIG_JSON

prints one JSON object: {"values": {metric: number}, "na": {metric: [short, detail]}},
or {"unavailable": reason} when the backend cannot be loaded here.
"""
from __future__ import annotations

import json
import sys
from typing import Callable

from fastgrad.bench.measure import NA
from fastgrad.bench.spec import Config
from fastgrad.bench.workloads import (
    ENGINE_WORKLOADS, FLOAT_WORKLOADS, Result, Unavailable, load_kit,
)


def workload(backend: str, name: str) -> Callable[[Config], Result]:
    """The function measuring `name` on `backend` in this process."""
    if backend == "floats":
        return FLOAT_WORKLOADS[name]
    if backend == "torch":
        try:
            from fastgrad.bench import torch_workloads
        except ImportError as exc:
            raise Unavailable(f"torch is not importable ({exc})") from None
        return torch_workloads.WORKLOADS[name]
    kit = load_kit(backend)
    return lambda config: ENGINE_WORKLOADS[name](kit, config)


def main(argv: list[str]) -> None:
    backend, name, config_json = argv
    config = Config(**json.loads(config_json))
    try:
        measure = workload(backend, name)
    except Unavailable as exc:
        print(json.dumps({"unavailable": str(exc)}))
        return
    result = measure(config)
    print(json.dumps({
        "values": {k: v for k, v in result.items() if not isinstance(v, NA)},
        "na": {k: [v.short, v.detail] for k, v in result.items() if isinstance(v, NA)},
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
