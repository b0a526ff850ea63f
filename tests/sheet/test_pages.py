"""The submission's length, read from the real PDF: with the default report.toml (the appendix
shows the cited cells) the answers end by page 8 and the whole PDF has at most 16 pages; the
answers keep a figure only where it carries the answer."""

import re
from pathlib import Path

import pytest
from conftest import bookmarks_of
from pypdf import PdfReader

from pipeline.config import Settings, load_settings
from pipeline.paths import PROJECT

MAX_PAGES = 16
LAST_ANSWER_PAGE = 8
# The one figure of each task that has one; no other task shows a figure.
FIGURES_BY_TASK = {
    "1(b)": "fig:ex1-gram",
    "1(c)": "fig:ex1-scores",
    "1(d)": "fig:ex1-sweep",
    "3(a)": "fig:ex3-moe-schematic",
}


@pytest.fixture(scope="module")
def bookmarks(built_pdf: Path) -> dict[str, int]:
    return bookmarks_of(built_pdf)


def page_of(bookmarks: dict[str, int], prefix: str) -> int:
    matching = [page for title, page in bookmarks.items() if title.startswith(prefix)]
    assert len(matching) == 1, f"{len(matching)} bookmarks start with {prefix!r}"
    return matching[0]


def test_the_build_uses_the_default_appendix() -> None:
    """The limits below hold for the appendix of the cited cells, which report.toml keeps."""
    assert load_settings().appendix_show == Settings.appendix_show == "cited"


def test_the_pdf_has_at_most_16_pages(built_pdf: Path) -> None:
    pages = len(PdfReader(built_pdf).pages)
    assert pages <= MAX_PAGES, f"{pages} pages"


def test_the_answers_end_by_page_8(bookmarks: dict[str, int]) -> None:
    """The appendix starts on a page of its own (\\clearpage), so the answers end on the page
    before it; the last task starts before it too."""
    appendix = page_of(bookmarks, "A Code and output")
    assert appendix <= LAST_ANSWER_PAGE + 1, f"the appendix starts on p. {appendix}"
    assert page_of(bookmarks, "3(h) ") < appendix


def test_only_the_tasks_that_need_one_show_a_figure(built_pdf: Path) -> None:
    """Figures in the order of the tasks above, from the .aux the document wrote."""
    aux = (PROJECT.build / "submission.aux").read_text(encoding="utf-8")
    figures = re.findall(r"\\newlabel\{(fig:[^}]+)\}", aux)
    assert figures == list(FIGURES_BY_TASK.values())
