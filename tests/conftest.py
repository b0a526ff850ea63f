"""Shared fixtures: the engine's own small sheet, built once, and this sheet's real PDF.

tests/engine/ runs on `engine`, a copy of the engine with the sheet of
tests/engine/fixture/ (built once per test session, whatever the number of workers);
tests/sheet/ reads `built_pdf`, this checkout's report/submission.pdf.
"""

import fcntl
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from workspace import Workspace, copy_project, engine_project

from pipeline.paths import PROJECT


@pytest.fixture(scope="session")
def built_pdf() -> Path:
    """report/submission.pdf, brought up to date by the real `make` (a `make` run by
    another test worker at the same time waits for it: the build holds report/.lock)."""
    subprocess.run(
        ["make", "--no-print-directory", "-C", str(PROJECT.root)], check=True, stdin=subprocess.DEVNULL
    )
    return PROJECT.pdf


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The engine with the fixture's sheet, built by the real `make`. Test workers share
    one (the first to get here builds it, the others wait for it); tests copy it before
    they change anything (`workspace`)."""
    shared = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # a pytest-xdist worker
        shared = shared.parent  # the session's folder, above each worker's own
    with open(shared / "engine.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        project = Workspace(shared / "engine")
        if not (project.root / "report" / "submission.pdf").exists():
            engine_project(project.root).make()
        fcntl.flock(lock, fcntl.LOCK_UN)
    yield project


@pytest.fixture
def workspace(tmp_path: Path, engine: Workspace) -> Workspace:
    """A copy of the built engine project that a test may edit or break."""
    return copy_project(tmp_path / "project", engine.root)


@pytest.fixture(scope="session")
def engine_text(engine: Workspace) -> str:
    return pdf_to_text(engine.pdf)


def pdf_to_text(pdf: Path, *, raw: bool = False) -> str:
    """The PDF's text as pdftotext reads it, with whitespace runs folded to one space.
    `raw` keeps the order in which the text was typeset (columns of a table stay rows)."""
    command = ["pdftotext", "-enc", "UTF-8", *(["-raw"] if raw else []), str(pdf), "-"]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    # pdftotext guesses the space around × from the glyph gaps, which TeX shrinks on tight
    # lines; one spelling (as_printed's) makes the numbers comparable.
    return re.sub(r"\s*×\s*", " × ", re.sub(r"\s+", " ", text))


@pytest.fixture(scope="session")
def pdf_text(built_pdf: Path) -> str:
    return pdf_to_text(built_pdf)


@pytest.fixture(scope="session")
def results(built_pdf: Path) -> dict[str, dict]:
    """Each notebook's published values, by notebook name (`results["ex1"]["name"]`)."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))["values"]
        for path in PROJECT.results.glob("ex*.json")
    }


def bookmarks_of(pdf: Path) -> dict[str, int]:
    """Every bookmark's title and the page (from 1) it leads to."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    found: dict[str, int] = {}

    def walk(entries: list) -> None:
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                found[entry.title] = reader.get_destination_page_number(entry) + 1

    walk(reader.outline)
    return found


def as_printed(latex_number: str) -> str:
    """How pdftotext reads a number formatted by pipeline.texify.format_number."""
    text = (
        latex_number.removeprefix(r"\ensuremath{").removesuffix("}")
        if "ensuremath" in latex_number
        else latex_number
    )
    text = text.replace("{,}", ",").replace("-", "−")
    return re.sub(r"\\times 10\^\{(.*?)\}", r" × 10\1", text)
