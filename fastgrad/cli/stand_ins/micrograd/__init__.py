"""micrograd, as `python -m fastgrad run` serves it: micrograd.engine and micrograd.nn come
from fastgrad; any other submodule (a local fork's micrograd/graph.py, say) loads from
wherever micrograd lies on sys.path, as it would without fastgrad. Empty, as micrograd's."""
from pkgutil import extend_path as _extend_path

__path__ = _extend_path(__path__, __name__)
del _extend_path
