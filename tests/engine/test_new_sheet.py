"""The next sheet in one command: this engine, a starter exercise that builds, and none of
this sheet's answers."""

import re
import sys
from pathlib import Path, PurePath

import pytest
from conftest import pdf_to_text
from workspace import Workspace

from pipeline import new_sheet
from pipeline.paths import PROJECT

DETAILS = [
    "--course", "Deep Learning", "--sheet", "Exercise Sheet 2", "--group", "4",
    "--member", "Grace Hopper:4711003", "--member", "Edsger Dijkstra",
]  # fmt: skip


def files(root: Path) -> set[PurePath]:
    return {path.relative_to(root) for path in root.rglob("*") if path.is_file()}


def start(destination: Path, *details: str) -> Workspace:
    done = Workspace(destination.parent).run(
        [sys.executable, "-m", "pipeline.new_sheet", str(destination), *details]
    )
    assert done.returncode == 0, done.stderr
    return Workspace(destination)


def test_a_new_sheet_builds_and_passes_its_tests(tmp_path: Path) -> None:
    sheet = start(tmp_path / "sheet2", *DETAILS)
    content = {path for path in files(sheet.root) if new_sheet.is_content(path)}
    starter = files(new_sheet.STARTER)
    assert content == starter | {PurePath("report.toml")}, "content beyond the starter came along"
    assert {path for path in files(sheet.root) - content} >= {
        PurePath("build.py"), PurePath("Makefile"), PurePath("pipeline/publish.py"),
        PurePath("tests/engine/test_pipeline.py"), PurePath("tests/engine/fixture/figures_src/ex1.py"),
    }  # fmt: skip
    (sheet.root / ".venv").symlink_to(PROJECT.root / ".venv")  # the packages installed here
    sheet.make()
    text = pdf_to_text(sheet.pdf)
    for shown in ("Exercise Sheet 2", "Deep Learning", "Grace Hopper", "4711003", "Edsger Dijkstra"):
        assert shown in text
    assert "Tutorial group 4" in text and " 1(a) A first task" in text and "Cell A.3" in text
    some = "TESTS=tests/sheet tests/engine/test_pipeline.py::test_every_task_has_its_heading_in_order"
    done = sheet.make("test", some)
    assert re.search(r"^2 passed", done.stdout, re.MULTILINE), done.stdout


def test_without_a_terminal_the_details_are_options(tmp_path: Path) -> None:
    destination = tmp_path / "sheet2"
    done = Workspace(tmp_path).run(
        [sys.executable, "-m", "pipeline.new_sheet", str(destination), "--course", "Deep Learning"]
    )
    assert done.returncode == 2
    assert "no terminal to ask for --sheet, --group, --member: give them as options" in done.stderr
    assert not destination.exists()


def test_at_a_terminal_it_asks_for_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["Deep Learning", "Exercise Sheet 2", "4", "Grace Hopper:4711003, Edsger Dijkstra"])
    monkeypatch.setattr("builtins.input", lambda question: next(answers))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert new_sheet.main([str(tmp_path / "sheet2")]) == 0
    config = (tmp_path / "sheet2" / "report.toml").read_text(encoding="utf-8")
    assert 'sheet = "Exercise Sheet 2"' in config and 'tutorial_group = "4"' in config
    assert 'name = "Edsger Dijkstra"' in config and 'matriculation = "4711003"' in config


def test_a_folder_in_use_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "sheet2").mkdir()
    (tmp_path / "sheet2" / "notes.txt").write_text("mine", encoding="utf-8")
    done = Workspace(tmp_path).run(
        [sys.executable, "-m", "pipeline.new_sheet", str(tmp_path / "sheet2"), *DETAILS]
    )
    assert done.returncode == 1
    assert "error: is not empty: a new sheet needs a folder of its own" in done.stderr
    assert files(tmp_path / "sheet2") == {PurePath("notes.txt")}
