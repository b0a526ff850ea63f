"""Every figure of the answers names what it shows: each colour bar and each axis carries
its quantity, and the schematic each input of its boxes, read back from the figure's own
text (pdftotext), as a reader searching the PDF would find it."""

import re
import subprocess
from pathlib import Path

import pytest

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


def test_the_sweep_plots_in_at_least_three_and_a_half_centimetres(built_pdf: Path) -> None:
    """A plot strip too low to read its slope was marked; the figure's box bounds the plot area."""
    from pypdf import PdfReader

    box = PdfReader(PROJECT.figures / "ex1-sweep.pdf").pages[0].mediabox
    assert float(box.height) / 72 * 2.54 >= 3.5 + 1.0  # the plot area plus the x axis' ticks and label
