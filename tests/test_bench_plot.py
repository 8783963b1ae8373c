"""`bench --plot DIR`: the ratio chart, and the checks made before a run."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fastgrad.bench import plot, report
from fastgrad.bench.measure import NA
from fastgrad.cli.common import child_env

RESULTS: report.Results = {
    "op_forward": {"floats": 1.0, "fastgrad": 2.0, "pure": 100.0, "torch": NA("failed", "x")},
    "moons_step": {"fastgrad": 3.0, "torch": 3.3, "micrograd": NA("needs micrograd", "")},
}


def test_ratios_are_the_ratio_tables_numbers() -> None:
    found = {m.key: row for m, row in report.ratios(RESULTS, ["floats", "pure", "torch"],
                                                      "fastgrad")}
    assert found == {"op_forward": {"floats": 0.5, "pure": 50.0},
                     "moons_step": {"torch": 3.3 / 3.0}}
    table = report.ratio_table(RESULTS, ["floats", "pure", "torch"], "fastgrad")
    assert [row[1:] for row in table.rows] == [["0.5x", "50x", ""], ["", "", "1.1x"]]


def test_the_chart_is_drawn_into_a_new_directory(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot.draw(RESULTS, ["floats", "fastgrad", "pure", "torch"], "fastgrad",
                     str(tmp_path / "charts"))
    assert path == str(tmp_path / "charts" / plot.CHART)
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_read_back_from_the_json_document() -> None:
    doc = {"results": {"op_forward": {"fastgrad": 2.0, "torch": {"na": "failed", "detail": "x"}}}}
    results, backends = plot.from_json(doc)
    assert backends == ["fastgrad", "torch"]
    assert results["op_forward"]["fastgrad"] == 2.0
    assert isinstance(results["op_forward"]["torch"], NA)


def test_unusable_directories_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert plot.directory(str(tmp_path / "new")) == str(tmp_path / "new")
    with pytest.raises(ValueError, match="not a directory"):
        plot.directory(str(tmp_path / "file"))
    with pytest.raises(ValueError, match="no such directory"):
        plot.directory(str(tmp_path / "missing" / "new"))


def test_the_command_refuses_before_running(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "fastgrad", "bench", "--plot",
                           str(tmp_path / "missing" / "new")], capture_output=True, text=True,
                          env=child_env(), timeout=120)
    assert proc.returncode == 2 and "--plot: no such directory" in proc.stderr
    assert proc.stdout == ""
