"""Every figure of the answers names what it shows: each colour bar and each axis carries
its quantity, and the schematic each input of its boxes, read back from the figure's own
text (pdftotext), as a reader searching the PDF would find it. Every figure the PDF shows
is readable in print: its labels are set in at least 7 pt and each plot area is at least
3.5 cm high, read from the figure's PDF drawing (figures print at their own size)."""

import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from pipeline.page import TEXT_WIDTH_CM
from pipeline.paths import PROJECT

# The words each figure's text must hold, beyond tick numbers: axis and colour-bar labels.
LABELS = {
    "ex1-gram": ["position j", "position i", "(E⊤E)ij", "(E⊤E)ij", "offset i − j"],
    "ex1-scores": ["key i", "query j", "(K⊤Q)ij, both panels", "difference X⊤E + E⊤X", "difference"],
    "ex1-sweep": ["dimension p", "norm of cross terms / rest"],
    # The router's learned centroids drawn as an input of its affinities, not only named.
    "ex3-moe-schematic": ["centroids e1, . . . , eNr (learned)", "affinity"],
}


def figure_text(name: str) -> str:
    pdf = PROJECT.figures / f"{name}.pdf"
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", "", text.stdout)


@pytest.mark.parametrize(("name", "labels"), LABELS.items())
def test_each_axis_and_colour_bar_names_its_quantity(built_pdf: Path, name: str, labels: list[str]) -> None:
    text = figure_text(name)
    for label in labels:
        squeezed = label.replace(" ", "")
        assert text.count(squeezed) >= labels.count(label), f"{name}: no {label!r} in {text!r}"


# Every figure the PDF shows, and how many plot areas it has (colour bars aside).
PLOT_AREAS = {"ex1-gram": 2, "ex1-scores": 3, "ex1-sweep": 1, "ex3-moe-schematic": 0}
SMALLEST_TEXT_PT = 7.0
SMALLEST_PLOT_CM = 3.5
COLOUR_BAR_CM = 1.0  # an axes narrower than this is a colour bar, not a plot
CM_PER_PT = 2.54 / 72


def shown_figures() -> set[str]:
    """The figures the document places, as the rendered LaTeX names them (\\plot in the
    answers, \\codefigure in the appendix)."""
    rendered = "".join(path.read_text(encoding="utf-8") for path in PROJECT.build.glob("*.tex"))
    return set(re.findall(r"^\\(?:plot|codefigure)\{([^}]+)\}", rendered, re.MULTILINE))


@dataclass
class Drawing:
    """What a figure's PDF draws, in printed units: the size each label is set in, and the
    width and height of each white-filled rectangle (matplotlib's axes backgrounds, the
    figure's own background among them)."""

    label_sizes_pt: list[float]
    white_boxes_cm: list[tuple[float, float]]


def _times(a: list[float], b: list[float]) -> list[float]:
    """The product of two PDF matrices [a b c d e f], `a` applied first."""
    return [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]


def drawing_of(name: str) -> Drawing:
    """Read the figure's content stream. A label is one text object (BT ... ET); the size it
    is set in is its first font's, as pdfTeX sets a label's sub- and superscripts after its
    own text, in TeX's smaller script sizes, which the 7 pt rule does not cover."""
    reader = PdfReader(PROJECT.figures / f"{name}.pdf")
    operations = ContentStream(reader.pages[0].get_contents(), reader).operations
    matrix, fill, stack = [1.0, 0, 0, 1.0, 0, 0], (0.0,), []
    text_matrix, sized, path = [1.0, 0, 0, 1.0, 0, 0], True, []
    drawing = Drawing([], [])
    for operands, operator in operations:
        numbers = [float(x) for x in operands if isinstance(x, (int, float))]
        if operator == b"q":
            stack.append((matrix, fill))
        elif operator == b"Q":
            matrix, fill = stack.pop()
        elif operator == b"cm":
            matrix = _times(numbers, matrix)
        elif operator == b"rg":
            fill = tuple(numbers)
        elif operator == b"BT":
            text_matrix, sized = [1.0, 0, 0, 1.0, 0, 0], False
        elif operator == b"Tm":
            text_matrix = numbers
        elif operator == b"Tf" and not sized:
            scale = _times(text_matrix, matrix)
            drawing.label_sizes_pt.append(float(operands[1]) * math.hypot(scale[2], scale[3]))
            sized = True
        elif operator == b"m":
            path = [numbers]
        elif operator == b"l":
            path.append(numbers)
        elif operator in (b"f", b"f*", b"B", b"b") and fill == (1.0, 1.0, 1.0) and len(path) == 5:
            xs = [x * matrix[0] + y * matrix[2] + matrix[4] for x, y in path]
            ys = [x * matrix[1] + y * matrix[3] + matrix[5] for x, y in path]
            drawing.white_boxes_cm.append(((max(xs) - min(xs)) * CM_PER_PT, (max(ys) - min(ys)) * CM_PER_PT))
    return drawing


def test_every_figure_shown_is_checked_below(built_pdf: Path) -> None:
    assert shown_figures() == PLOT_AREAS.keys()


@pytest.mark.parametrize("name", PLOT_AREAS)
def test_each_figure_prints_at_its_own_size_with_text_of_at_least_7_pt(built_pdf: Path, name: str) -> None:
    """A figure no wider than the text is placed at scale 1, so the sizes in its PDF are
    the printed ones."""
    box = PdfReader(PROJECT.figures / f"{name}.pdf").pages[0].mediabox
    assert float(box.width) * CM_PER_PT <= TEXT_WIDTH_CM + 0.05
    sizes = drawing_of(name).label_sizes_pt
    assert sizes, f"{name}: no text read"
    assert min(sizes) >= SMALLEST_TEXT_PT - 0.1, f"{name}: a label set in {min(sizes):.1f} pt"


@pytest.mark.parametrize(("name", "areas"), PLOT_AREAS.items())
def test_each_plot_area_is_at_least_3_5_cm_high(built_pdf: Path, name: str, areas: int) -> None:
    """The plot area is the axes' white background (the figure's own, as large as the
    figure, and the colour bars' narrow ones aside); a strip too low to read was marked."""
    box = PdfReader(PROJECT.figures / f"{name}.pdf").pages[0].mediabox
    size = (float(box.width) * CM_PER_PT, float(box.height) * CM_PER_PT)
    plots = [
        (width, height)
        for width, height in drawing_of(name).white_boxes_cm
        if width >= COLOUR_BAR_CM
        and not (math.isclose(width, size[0], abs_tol=0.05) and math.isclose(height, size[1], abs_tol=0.05))
    ]
    assert len(plots) == areas, f"{name}: plot areas {plots}"
    low = [round(height, 2) for _, height in plots if height < SMALLEST_PLOT_CM]
    assert not low, f"{name}: plot areas {low} cm high"
