"""Every Python block of the documentation (docs/**/*.md and the README) runs, on the
backend under test.

A page's blocks run in order in one namespace, as a reader runs them; a ```text block
right after a ```python block is its printed output, compared exactly. A block fenced
```python {.skip} (the class MkDocs renders; GitHub reads the fence's first word) is not
run: it shows an API that is not there yet."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = ((sorted(DOCS.rglob("*.md")) if DOCS.is_dir() else [])
         + [p for p in [ROOT / "README.md"] if p.is_file()])
FENCE = re.compile(r"^```(\S*)(.*)$")


def blocks(page: Path) -> list[tuple[int, str, str, str | None]]:
    """(first line, info, code, expected output or None) per ```python block of page."""
    lines = page.read_text(encoding="utf-8").split("\n")
    fenced: list[tuple[int, str, str, int]] = []  # (first line, info, body, fence end)
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            fenced.append((i + 1, (m.group(1) + m.group(2)).strip(),
                           "\n".join(lines[i + 1:end]) + "\n", end))
            i = end
        i += 1
    found = []
    for k, (start, info, body, end) in enumerate(fenced):
        if not info.startswith("python"):
            continue
        nxt = fenced[k + 1] if k + 1 < len(fenced) else None
        between = lines[end + 1:nxt[0] - 1] if nxt else []
        output = nxt[2] if nxt and nxt[1] == "text" and not any(between) else None
        found.append((start, info, body, output))
    return found


@pytest.mark.skipif(not PAGES, reason="no docs/ beside these tests")
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_python_block_runs_and_prints_what_the_page_shows(page: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for start, info, code, output in blocks(page):
        if ".skip" in re.findall(r"[^\s{}]+", info):
            continue
        where = f"{page.relative_to(ROOT)}, block at line {start}"
        out = io.StringIO()
        # padded so a traceback's line numbers are the page's
        compiled = compile("\n" * start + code, str(page), "exec")
        with contextlib.redirect_stdout(out):
            exec(compiled, namespace)  # noqa: S102 - the documentation's own examples
        if output is not None:
            got = [line.rstrip() for line in out.getvalue().rstrip("\n").split("\n")]
            want = [line.rstrip() for line in output.rstrip("\n").split("\n")]
            assert got == want, f"{where} prints something else"


def test_the_block_reader_pairs_outputs(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nprint(1)\n```\n\n```text\n1\n```\n```python {.skip}\nx\n```\n"
                    "text\n```text\n2\n```\n```bash\nls\n```\n", encoding="utf-8")
    assert blocks(page) == [(1, "python", "print(1)\n", "1\n"), (8, "python {.skip}", "x\n", None)]
