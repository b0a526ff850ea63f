"""Figures and scanned answers made by hand: templates/figures/, placed like generated ones.

`\\plot{name}{label}{caption}` places a hand-made PDF, PNG or JPG as it places a notebook's
figure, and `\\scan{name}` puts a scanned answer (a PDF of one or more pages, or an image)
in its task's place. Such files are sources: an edit rebuilds the PDF, and one that cannot
be placed (missing, empty, cut short, of another type than its name) is an error at the
template line that places it. Each test edits a copy of the project and builds it.
"""

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import bookmarks_of
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from PIL import Image, ImageDraw
from pypdf import PdfReader
from test_numbering import failing, line_of, template_lines, write_lines
from workspace import Workspace, checksum

from pipeline.page import TEXT_HEIGHT_CM, TEXT_WIDTH_CM
from pipeline.paths import Layout

TEXT_WIDTH_PT, TEXT_HEIGHT_PT = (cm / 2.54 * 72 for cm in (TEXT_WIDTH_CM, TEXT_HEIGHT_CM))


def scanned_pdf(pages: int) -> bytes:
    """An A4 scan of `pages` pages, each framed and saying its number."""
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        for number in range(1, pages + 1):
            figure = Figure(figsize=(8.27, 11.69))
            figure.text(0.2, 0.5, f"handwritten page {number}", fontsize=30)
            figure.patch.set(edgecolor="red", linewidth=8)
            pdf.savefig(figure)
    return buffer.getvalue()


def photo(kind: str, size: tuple[int, int] = (3000, 1000)) -> bytes:
    """A photo as a phone takes it: far larger than the page at its own resolution."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle((10, 10, size[0] - 10, size[1] - 10), outline="blue", width=20)
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def put(workspace: Workspace, name: str, data: bytes) -> None:
    path = workspace.root / "templates" / "figures" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)


def under_task(workspace: Workspace, text: str, task: str = "b") -> int:
    """Put `text` right under the heading of exercise 2's task; return its line."""
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, f"\\task{{{task}}}")
    write_lines(workspace, "ex2.tex", [*lines[:at], text, *lines[at:]])
    return at + 1


def drawn_box(pdf: Path, page: int, colour: tuple[int, int, int]) -> tuple[int, int]:
    """Width and height in pt of what is drawn in `colour` on `page` (from 1): the frame
    of a scan or photo, read from the page rendered at 72 dpi (a pixel a point)."""
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", "72", "-f", str(page), "-l", str(page), str(pdf)],
        capture_output=True,
        check=True,
    ).stdout
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    rows, columns = np.nonzero((abs(pixels - colour) < 60).all(axis=2))
    return (int(np.ptp(columns)) + 1, int(np.ptp(rows)) + 1) if len(rows) else (0, 0)


def test_a_scan_of_two_pages_answers_its_task_in_its_place(workspace: Workspace) -> None:
    """Each page as wide as the text or as tall as the page allows, right under the task's
    heading, which keeps its bookmark; the name may have a space in it."""
    put(workspace, "2b notes.pdf", scanned_pdf(2))
    under_task(workspace, r"\scan{2b notes}")
    workspace.make()
    marks = bookmarks_of(workspace.pdf)
    heading = next(page for title, page in marks.items() if title.startswith("2(b)"))
    text = [page.extract_text() for page in PdfReader(workspace.pdf).pages]
    assert "2(b) A task without code" in text[heading - 1]
    assert "handwritten page 1" in text[heading - 1]
    assert "handwritten page 2" in text[heading]
    for page in (heading, heading + 1):
        width, height = drawn_box(workspace.pdf, page, (255, 0, 0))
        assert height <= TEXT_HEIGHT_PT and width <= TEXT_WIDTH_PT
        assert height >= 0.8 * TEXT_HEIGHT_PT  # fitted to the page, not left at A4's size


def test_a_photo_larger_than_the_page_is_fitted_to_the_text_width(workspace: Workspace) -> None:
    put(workspace, "wide-photo.jpg", photo("JPEG"))
    line = under_task(workspace, r"\plot{wide-photo}{fig:photo}{A photo.}")
    workspace.make()
    log = (workspace.layout.build / "submission.log").read_text(encoding="utf-8")
    assert "Overfull \\hbox" not in log, f"line {line}"
    heading = next(page for title, page in bookmarks_of(workspace.pdf).items() if title.startswith("2(b)"))
    widths = [drawn_box(workspace.pdf, page, (0, 0, 255))[0] for page in (heading, heading + 1)]
    assert any(abs(width - TEXT_WIDTH_PT) <= 3 for width in widths), widths


def test_a_hand_made_figure_is_an_input_of_the_document(workspace: Workspace) -> None:
    """Replacing it rebuilds the PDF; so does adding a file beside it."""
    put(workspace, "sketch.png", photo("PNG", (400, 300)))
    under_task(workspace, r"\plot{sketch}{fig:sketch}{A sketch.}")
    workspace.make()
    before = checksum(workspace.pdf)
    put(workspace, "sketch.png", photo("PNG", (300, 400)))
    done = workspace.make()
    assert "up to date" not in done.stdout and checksum(workspace.pdf) != before


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("2b.pdf", b"", "templates/figures/2b.pdf is empty"),
        (
            "2b.pdf",
            photo("PNG", (40, 30)),
            "templates/figures/2b.pdf is a PNG file, not a PDF as its name says",
        ),
        ("2b.png", b"%PDF-1.4 no more", "templates/figures/2b.png is a PDF file, not a PNG as its name says"),
        (
            "2b.jpg",
            b"just some text\n",
            "templates/figures/2b.jpg is not a picture, not a JPEG as its name says",
        ),
        ("2b.pdf", scanned_pdf(1)[:3000], "templates/figures/2b.pdf is cut short: its PDF data ends early"),
        (
            "2b.png",
            photo("PNG", (400, 300))[:500],
            "templates/figures/2b.png is cut short: its PNG data ends early",
        ),
        (
            "2b.jpg",
            photo("JPEG", (400, 300))[:800],
            "templates/figures/2b.jpg is cut short: its JPEG data ends early",
        ),
        (
            "2b.pdf",
            b"%PDF-1.4\ngarbage\nstartxref\n0\n%%EOF\n",
            "templates/figures/2b.pdf cannot be read: xpdf: reading PDF image failed",
        ),
        ("2b.gif", photo("GIF", (40, 30)), r"\scan{2b}: templates/figures/2b.gif is not a PDF, PNG or JPG"),
        ("other.pdf", scanned_pdf(1), r"\scan{2b}: no scan named 2b in templates/figures/"),
    ],
)
def test_a_scan_that_cannot_be_placed_is_an_error_at_its_line(
    workspace: Workspace, name: str, data: bytes, message: str
) -> None:
    put(workspace, name, data)
    line = under_task(workspace, r"\scan{2b}")
    assert failing(workspace) == ("templates/ex2.tex", line, f"error: {message}")


def test_a_broken_hand_made_figure_is_an_error_at_its_plot_line(workspace: Workspace) -> None:
    put(workspace, "sketch.pdf", photo("PNG", (40, 30)))
    line = under_task(workspace, r"\plot{sketch}{fig:sketch}{A sketch.}")
    assert failing(workspace) == (
        "templates/ex2.tex",
        line,
        "error: templates/figures/sketch.pdf is a PNG file, not a PDF as its name says",
    )


def test_a_hand_made_figure_named_like_a_generated_one_is_an_error(workspace: Workspace) -> None:
    """Which one the PDF showed would depend on the order LaTeX looks in its folders."""
    put(workspace, "ex1-wave.png", photo("PNG", (400, 300)))
    lines = template_lines(workspace, "ex1.tex")
    assert failing(workspace) == (
        "templates/ex1.tex",
        line_of(lines, r"\plot{ex1-wave}"),
        "error: two figures are named ex1-wave: templates/figures/ex1-wave.png and one a notebook saves",
    )


def test_two_hand_made_figures_of_one_name_are_an_error(workspace: Workspace) -> None:
    put(workspace, "sketch.png", photo("PNG", (400, 300)))
    line = under_task(workspace, r"\plot{sketch}{fig:sketch}{A sketch.}")
    workspace.make()
    put(workspace, "sketch.jpg", photo("JPEG", (400, 300)))  # added later, used by no template yet
    assert failing(workspace) == (
        "templates/ex2.tex",
        line,
        "error: two figures are named sketch: templates/figures/sketch.jpg and templates/figures/sketch.png",
    )


def test_a_missing_figure_says_where_hand_made_figures_go(workspace: Workspace) -> None:
    line = under_task(workspace, r"\plot{nosuch}{fig:nosuch}{Missing.}")
    done = workspace.run(["make", "--no-print-directory"])
    assert done.returncode != 0
    assert f"templates/ex2.tex:{line}: error:" in done.stderr
    assert "a figure made by hand belongs in templates/figures/ (nosuch.pdf, .png or .jpg)" in done.stderr
    assert "report/figures/nosuch.pdf" in done.stderr


def test_hand_made_figures_are_never_removed_by_the_build(workspace: Workspace) -> None:
    put(workspace, "unused.png", photo("PNG", (40, 30)))
    workspace.make()
    assert (Layout(workspace.root).handmade_figures / "unused.png").exists()
