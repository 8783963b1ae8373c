"""Record the bench on this machine into bench/RESULTS.md and bench/results.json.

    python bench/run.py [more `python -m fastgrad bench` options]

Runs `python -m fastgrad bench --markdown --json bench/results.json ...` from this
checkout (the extension built in place), prints the tables, and rewrites the part of
bench/RESULTS.md between its `bench:begin` and `bench:end` markers: the command, the
machine, the headline figures and the tables. The prose around the markers is kept.
"""
import contextlib
import io
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fastgrad.cli import main  # noqa: E402 - after the checkout is on the path
from fastgrad.cli.common import duration, size  # noqa: E402

RESULTS_MD = os.path.join(HERE, "RESULTS.md")
RESULTS_JSON = os.path.join(HERE, "results.json")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def headline(doc: dict) -> str:
    """The figures the README quotes, in a sentence each; a figure not measured is left out."""
    r = doc["results"]

    def get(key: str, backend: str) -> float | None:
        v = r.get(key, {}).get(backend)
        return v if isinstance(v, float) else None

    lines = []
    step = get("moons_step", "fastgrad")
    vs_mg, vs_torch = get("moons_over_fastgrad", "micrograd"), get("moons_over_fastgrad", "torch")
    if step:
        line = ("- micrograd's moons demo step (user code unchanged but the import): "
                f"{duration(step)}")
        if vs_mg:
            line += f", **{vs_mg:.0f}x faster than micrograd**"
        pure = get("moons_step", "pure")
        if pure:
            line += f", {pure / step:.0f}x faster than fastgrad.pure"
        if vs_torch:
            line += (f"; **{vs_torch:.2f}x PyTorch's speed** on batched tensors"
                     f" ({'faster' if vs_torch > 1 else 'slower'} than torch)")
        lines.append(line + ".")
    fwd, over, bwd = get("op_forward", "fastgrad"), get("op_over_floats", "fastgrad"), \
        get("op_backward", "fastgrad")
    if fwd and over:
        lines.append(f"- a user-level operation: {duration(fwd)} forward, **{over:.2f}x the same "
                     f"loop on Python floats**; backward {duration(bwd)}, "
                     f"{bwd / fwd:.2f}x forward.")
    node = get("mem_node", "fastgrad")
    if node:
        mg = get("mem_node", "micrograd")
        lines.append(f"- memory: **{size(node)} per node**"
                     + (f" (micrograd {size(mg)})" if mg else "")
                     + f"; after a dropped graph, {get('mem_release_nodes', 'fastgrad'):+.0f} "
                       f"nodes and {size(get('mem_release', 'fastgrad'))} still held.")
    return "\n".join(lines)


def section(doc: dict, tables: str) -> str:
    m = doc["machine"]
    return "\n".join([
        BEGIN,
        f"- **Command:** `{doc['command']}`, at {doc['time']}",
        f"- **Machine:** {m['cpu']}; {m['platform']}",
        f"- **Python:** {m['python']}; numpy {m['numpy']}, torch {m['torch']}, "
        f"micrograd {m['micrograd']}, scikit-learn {m['scikit-learn']}; fastgrad {m['fastgrad']}"
        f"{_commit()}",
        "",
        "### Headline",
        "",
        headline(doc),
        "",
        tables.strip(),
        END,
    ])


def _commit() -> str:
    """' at commit X' for this checkout ('+' if it has uncommitted changes), or ''."""
    git = ["git", "-C", os.path.dirname(HERE)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f" at commit {head}{'+' if dirty else ''}"


def record() -> int:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["bench", "--markdown", "--json", RESULTS_JSON, *sys.argv[1:]])
    text = out.getvalue()
    print(text, end="")
    if status != 0:
        return status
    start = text.index("\n", text.index("\nmachine: ") + 1)
    tables = text[start:text.rindex("\nresults written to")]
    with open(RESULTS_JSON, encoding="utf-8") as f:
        doc = json.load(f)
    doc["command"] = " ".join(["python bench/run.py", *sys.argv[1:]])
    with open(RESULTS_MD, encoding="utf-8") as f:
        md = f.read()
    md = md[:md.index(BEGIN)] + section(doc, tables) + md[md.index(END) + len(END):]
    with open(RESULTS_MD, "w", encoding="utf-8") as f:
        f.write(md)
    print(f"{RESULTS_MD} updated")
    return 0


if __name__ == "__main__":
    sys.exit(record())
