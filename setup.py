"""Build of the compiled core: csrc/ (plain C) and the Cython facade fastgrad/_core.pyx."""
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

CSRC = ["csrc/graph.c", "csrc/ops.c", "csrc/sweep.c", "csrc/net.c", "csrc/kernels.c"]

# -ffp-contract=off: no fused multiply-add, so C rounds exactly as Python's floats do
# (bitwise equality with the pure backend). No -march=native: the wheel must run anywhere.
if sys.platform == "win32":
    compile_args = ["/O2", "/fp:precise"]
else:
    compile_args = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c99"]
compile_args += os.environ.get("FASTGRAD_CFLAGS", "").split()
link_args = os.environ.get("FASTGRAD_LDFLAGS", "").split()

extension = Extension(
    "fastgrad._core",
    sources=["fastgrad/_core.pyx", *CSRC],
    include_dirs=["csrc"],
    depends=["csrc/graph.h", "csrc/ops.h", "csrc/sweep.h", "csrc/net.h", "csrc/kernels.h", "fastgrad/_graph.pxd"],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(
    ext_modules=cythonize([extension], language_level=3),
)
