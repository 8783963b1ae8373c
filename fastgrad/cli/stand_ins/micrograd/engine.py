"""micrograd.engine under `python -m fastgrad run`: fastgrad's Value, the one name
micrograd's module has."""
from fastgrad.cli.common import served_modules as _served_modules

Value = _served_modules()[0].Value
del _served_modules
