"""One bench cell group: a workload on a backend, in a process of its own.

    python -m fastgrad.cli.bench.worker BACKEND WORKLOAD CONFIG_JSON

prints one JSON object: {"values": {metric: number}, "na": {metric: [short, detail]}},
or {"unavailable": reason} when the backend cannot be loaded here.
"""
from __future__ import annotations

import json
import sys
from typing import Callable

from fastgrad.cli.bench.measure import NA
from fastgrad.cli.bench.spec import Config
from fastgrad.cli.bench.workloads import ENGINE_WORKLOADS, FLOAT_WORKLOADS, Kit, Result


class Unavailable(Exception):
    pass


def workload(backend: str, name: str) -> Callable[[Config], Result]:
    """The function measuring `name` on `backend` in this process."""
    if backend == "floats":
        return FLOAT_WORKLOADS[name]
    if backend == "torch":
        try:
            from fastgrad.cli.bench import torch_workloads
        except ImportError as exc:
            raise Unavailable(f"torch is not importable ({exc})") from None
        return torch_workloads.WORKLOADS[name]
    kit = load_kit(backend)
    return lambda config: ENGINE_WORKLOADS[name](kit, config)


def load_kit(backend: str) -> Kit:
    if backend == "micrograd":
        try:
            from micrograd.engine import Value
            from micrograd.nn import MLP
        except ImportError as exc:
            raise Unavailable(f"micrograd is not importable ({exc})") from None
        return Kit("micrograd", Value, MLP, no_grad=None, stats=None)
    import fastgrad
    import fastgrad.losses
    import fastgrad.nn
    import fastgrad.optim
    wanted = {"fastgrad": "fast", "pure": "pure"}[backend]
    if fastgrad.backend != wanted:
        raise Unavailable("the compiled core is not built or not importable; "
                          "fastgrad fell back to its pure backend")
    return Kit(f"fastgrad ({wanted})", fastgrad.Value, fastgrad.nn.MLP, fastgrad.no_grad,
               fastgrad.stats, native_memory=wanted == "fast", losses=fastgrad.losses,
               optim=fastgrad.optim)


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
