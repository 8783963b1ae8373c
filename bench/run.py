"""Record the bench on this machine: the full suite, Markdown tables, results.json.

    python bench/run.py [more `python -m fastgrad bench` options, e.g. --quick]

The same as `python -m fastgrad bench --markdown --json bench/results.json ...`, runnable
from a checkout without installing (the extension built in place). Paste the printed
tables into bench/RESULTS.md with the command and the machine lines.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fastgrad.cli import main  # noqa: E402 - after the checkout is on the path

sys.exit(main(["bench", "--markdown", "--json", os.path.join(HERE, "results.json"), *sys.argv[1:]]))
