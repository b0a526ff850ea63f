"""Shared fixtures: the real PDF, built once by `make`, and ways to read it back."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from pipeline.paths import PROJECT


@pytest.fixture(scope="session")
def built_pdf() -> Path:
    """report/submission.pdf, brought up to date by the real `make`."""
    subprocess.run(
        ["make", "--no-print-directory", "-C", str(PROJECT.root)], check=True, stdin=subprocess.DEVNULL
    )
    return PROJECT.pdf


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


def as_printed(latex_number: str) -> str:
    """How pdftotext reads a number formatted by pipeline.texify.format_number."""
    text = (
        latex_number.removeprefix(r"\ensuremath{").removesuffix("}")
        if "ensuremath" in latex_number
        else latex_number
    )
    text = text.replace("{,}", ",").replace("-", "−")
    return re.sub(r"\\times 10\^\{(.*?)\}", r" × 10\1", text)
