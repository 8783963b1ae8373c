"""neurogebra, as `python -m fastgrad run` serves it: only neurogebra.core.autograd's Value
comes from fastgrad; other submodules load from an installed neurogebra, if any."""
from pkgutil import extend_path as _extend_path

__path__ = _extend_path(__path__, __name__)
del _extend_path
