"""The submission's length and look, read from the real PDF: with the default report.toml (the
appendix shows the cited cells) the answers end by page 8 and the whole PDF has at most 16
pages; the answers keep a figure only where it carries the answer; no answer page is left
largely blank, no heading is left alone at a page's foot, and no word of the build shows."""

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import bookmarks_of
from pypdf import PdfReader

from pipeline.config import Settings, load_settings
from pipeline.page import TEXT_HEIGHT_CM, TEXT_WIDTH_CM
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


# An answer page may be at most this share blank, unless an exercise ends on it.
MAX_BLANK_SHARE = 0.25
# 10 pixels per inch: one pixel row is 7.2 pt, so the leading between the lines of a
# paragraph is not white, while the gap a figure leaves when it does not fit is.
BLANK_DPI = 10
WHITE = 250  # of 255: a row is white if no pixel of it is darker
A4_CM = (21.0, 29.7)


def white_rows(pdf: Path, page: int) -> list[bool]:
    """Each pixel row of the page's text block (the area geometry centres on A4, without
    the head and the page number), rendered by pdftoppm: whether it is all white."""
    with tempfile.TemporaryDirectory() as folder:
        command = ["pdftoppm", "-gray", "-r", str(BLANK_DPI), "-f", str(page), "-l", str(page)]
        subprocess.run([*command, "-singlefile", str(pdf), f"{folder}/page"], check=True)
        data = Path(folder, "page.pgm").read_bytes()
    _, width, height, _, pixels = data.split(maxsplit=4)  # binary PGM: P5 width height maxval data
    width, height = int(width), int(height)
    margin_x = (A4_CM[0] - TEXT_WIDTH_CM) / 2 / A4_CM[0]
    margin_y = (A4_CM[1] - TEXT_HEIGHT_CM) / 2 / A4_CM[1]
    left, right = round(margin_x * width), round((1 - margin_x) * width)
    rows = range(round(margin_y * height), round((1 - margin_y) * height))
    return [min(pixels[row * width + left : row * width + right]) >= WHITE for row in rows]


@pytest.fixture(scope="module")
def page_texts(built_pdf: Path) -> list[str]:
    """Each page's text as laid out (pdftotext -layout separates pages with form feeds)."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(built_pdf), "-"], capture_output=True, text=True, check=True
    )
    return text.stdout.split("\f")


def text_lines(page_text: str) -> list[str]:
    """The page's lines of text, without the page number at its foot."""
    lines = [line for line in page_text.splitlines() if line.strip()]
    return lines[:-1] if lines and lines[-1].strip().isdigit() else lines


def test_no_answer_page_is_more_than_a_quarter_blank(
    built_pdf: Path, bookmarks: dict[str, int], page_texts: list[str]
) -> None:
    """A figure too tall for what is left of a page leaves a blank below the text, which a
    tutor marks; only a page after which the next exercise (or the appendix) starts on a
    fresh page may stay emptier."""
    appendix = page_of(bookmarks, "A Code and output")
    shares = {}
    for page in range(1, appendix):
        rows = white_rows(built_pdf, page)
        shares[page] = sum(rows) / len(rows)
    ends_an_exercise = {
        page
        for page in shares
        if re.match(
            r"\s*(\d+|A)\s{2,}\S", (text_lines(page_texts[page]) or [""])[0]
        )  # the next page's first line
    }
    too_blank = {page: f"{share:.0%}" for page, share in shares.items() if share > MAX_BLANK_SHARE}
    assert not too_blank.keys() - ends_an_exercise, f"blank share of the text block: {too_blank}"


def test_no_heading_stands_alone_at_the_foot_of_a_page(
    bookmarks: dict[str, int], page_texts: list[str]
) -> None:
    """Every heading (exercise, task, references, appendix section) has at least two lines
    of its text under it on its page."""
    for title, page in bookmarks.items():
        numbered = re.match(r"(\d+(?:\([a-z]\))?|[A-Z]) (\S+)", title)
        words = [numbered.group(1), numbered.group(2)] if numbered else title.split()[:1]
        start = re.compile(r"^\s*" + r"\s{2,}".join(re.escape(word) for word in words))
        lines = text_lines(page_texts[page - 1])
        at = next((index for index, line in enumerate(lines) if start.match(line)), None)
        assert at is not None, f"p. {page}: no heading {title!r}"
        assert len(lines) - at - 1 >= 2, f"p. {page} ends with the heading {title!r}"


# Words of the machinery that makes the PDF, which a reader of the answers has no use for.
BUILD_WORDS = [
    "report.toml",
    ".toml",
    "template",
    "jinja",
    "latexmk",
    "pdflatex",
    "report/",
    "results/",
    ".json",
    "stamps",
    "build.py",
    "make test",
    r"\VAR",
    r"\coderef",
]


def test_the_pdf_names_nothing_of_how_it_is_built(pdf_text: str) -> None:
    """The answers and the appendix speak of the sheet, its notebooks and their code; the
    names of the build's files and tools (its settings, templates, folders) stay out."""
    text = pdf_text.lower()
    found = [word for word in BUILD_WORDS if word.lower() in text]
    assert not found, [
        pdf_text[max(0, text.index(w.lower()) - 60) : text.index(w.lower()) + 60] for w in found
    ]
