"""neurogebra's autograd tutorial runs unedited under `python -m fastgrad run`, its
`from neurogebra.core.autograd import Value` served by fastgrad, printing what it says.

fixtures/neurogebra/ holds the tutorial's code blocks verbatim, in its order; a block
without an import of its own continues the one before it, as in a notebook.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import fastgrad
from command_line import fastgrad_cli

BLOCKS = Path(__file__).parent / "fixtures" / "neurogebra"

PRINTS = {
    "01_create.py": "Value(data=2.0, grad=0.0)\nValue(data=3.0, grad=0.0)\n",
    "02_forward.py": "a = 2.0\nb = 3.0\nc = a + b = 5.0\nd = a * b = 6.0\ne = c + d = 11.0\n",
    "03_backward.py": "de/da = 4.0\nde/db = 3.0\n",
    "04_supported_ops.py": "",
    "05_neuron.py": ("Output: 0.5498\nGradients:\n  dout/dw1 = 0.4950\n  dout/dw2 = 0.7425\n"
                     "  dout/db  = 0.2475\n"),
    # 100 epochs at lr 0.01 get close to, not onto, the "Expected: y = 2.00x + 1.00"
    "06_training_loop.py": ("Epoch   0: loss = 164.0000, w = 1.4000, b = 0.4800\n"
                            "Epoch  20: loss = 0.0339, w = 2.0757, b = 0.7775\n"
                            "Epoch  40: loss = 0.0209, w = 2.0595, b = 0.8251\n"
                            "Epoch  60: loss = 0.0129, w = 2.0467, b = 0.8626\n"
                            "Epoch  80: loss = 0.0080, w = 2.0367, b = 0.8920\n"
                            "\nLearned: y = 2.03x + 0.91\n"),
    "07_mini_network.py": "Total parameters: 17\n",
    "08_zero_grad.py": ("After first backward: x.grad = 6.0\nAfter second backward: x.grad = 12.0\n"
                        "After zero + backward: x.grad = 6.0\n"),
}


def session(name: str) -> tuple[str, str]:
    """(source of the block and of the blocks it continues, what the earlier ones print)."""
    names = sorted(PRINTS)
    start = names.index(name)
    while "import Value" not in (BLOCKS / names[start]).read_text(encoding="utf-8"):
        start -= 1
    before = names[start:names.index(name)]
    source = "\n".join((BLOCKS / n).read_text(encoding="utf-8") for n in [*before, name])
    return source, "".join(PRINTS[n] for n in before)


def test_every_block_is_checked() -> None:
    assert sorted(p.name for p in BLOCKS.glob("*.py")) == sorted(PRINTS)


@pytest.mark.parametrize("name", sorted(PRINTS))
def test_tutorial_block_runs_unedited(name: str, tmp_path: Path) -> None:
    source, earlier = session(name)
    assert "from neurogebra.core.autograd import Value" in source
    script = tmp_path / name
    script.write_text(source, encoding="utf-8")
    proc = fastgrad_cli("run", str(script))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == earlier + PRINTS[name]


def test_the_served_value_is_fastgrads_and_tensor_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "which.py"
    script.write_text("import neurogebra.core.autograd as ag\n"
                      "print(ag.Value.__module__)\n"
                      "from neurogebra.core.autograd import Tensor\n")
    proc = fastgrad_cli("run", str(script))
    assert proc.returncode == 1 and proc.stdout == f"{fastgrad.Value.__module__}\n"
    assert proc.stderr.splitlines()[-1].startswith(
        "ImportError: fastgrad serves neurogebra.core.autograd's Value only")
