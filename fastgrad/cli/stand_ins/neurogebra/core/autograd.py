"""neurogebra.core.autograd under `python -m fastgrad run`: fastgrad's Value.

neurogebra's Value has micrograd's API (the README lists where it differs from
fastgrad's); its numpy-backed Tensor has no fastgrad counterpart and is not served.
"""
from fastgrad.cli.common import served_modules as _served_modules

Value = _served_modules()[0].Value
del _served_modules


def __getattr__(name: str) -> object:
    if name == "Tensor":
        raise ImportError("fastgrad serves neurogebra.core.autograd's Value only: its Tensor "
                          "has no fastgrad counterpart (run the script with neurogebra)",
                          name=__name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
