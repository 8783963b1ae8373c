"""MkDocs hooks: pages the site takes from outside docs/.

bench/RESULTS.md (the latest benchmark table, which the README and docs/benchmarks.md link
as ../bench/RESULTS.md, so the link works when browsing the repository) becomes the
site's page bench-results.md, and links to it are pointed there.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "RESULTS.md"
PAGE = "bench-results.md"
LINK = re.compile(r"\]\((?:\.\./)+bench/RESULTS\.md(#[^)]*)?\)")


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, PAGE, abs_src_path=str(RESULTS)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    prefix = "../" * page.file.src_uri.count("/")
    return LINK.sub(lambda m: f"]({prefix}{PAGE}{m.group(1) or ''})", markdown)
