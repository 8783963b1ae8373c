from typing import TYPE_CHECKING

from fastgrad._bind import bind

if TYPE_CHECKING:  # the names bind() defines, as the type checker sees them in the source
    from fastgrad.arrays import *  # noqa: F403
bind(globals(), "arrays")
