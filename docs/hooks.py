"""MkDocs hooks: pages the site takes from outside docs/.

bench/RESULTS.md (the latest benchmark table, which the README and docs/benchmarks.md link
as ../bench/RESULTS.md, so the link works when browsing the repository) becomes the
site's page bench-results.md, and links to it are pointed there. Where matplotlib is
installed, that page opens with the ratio chart `bench --plot` draws, drawn from
bench/results.json (the same run).
"""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

BENCH = Path(__file__).resolve().parents[1] / "bench"
PAGE = "bench-results.md"
CHART = "img/bench-ratios.png"
LINK = re.compile(r"\]\((?:\.\./)+bench/RESULTS\.md(#[^)]*)?\)")
_drawn: list[str] = []  # whether this build has the chart


def _draw_chart(directory: str) -> str | None:
    from fastgrad.bench import plot
    if not plot.available():
        return None
    results, backends = plot.from_json(json.loads((BENCH / "results.json").read_text()))
    return plot.draw(results, backends, "fastgrad", directory)


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, PAGE, abs_src_path=str(BENCH / "RESULTS.md")))
    chart = _draw_chart(tempfile.mkdtemp(prefix="fastgrad-docs-"))
    _drawn[:] = [chart] if chart else []
    if chart:
        files.append(File.generated(config, CHART, abs_src_path=chart))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    prefix = "../" * page.file.src_uri.count("/")
    markdown = LINK.sub(lambda m: f"]({prefix}{PAGE}{m.group(1) or ''})", markdown)
    if page.file.src_uri == PAGE and _drawn:
        title, _, rest = markdown.partition("\n")
        markdown = (f"{title}\n\n![Each backend's figures over fastgrad's, from this run]"
                    f"({CHART})\n{rest}")
    return markdown
