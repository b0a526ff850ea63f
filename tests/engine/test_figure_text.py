"""The text of a figure reads back as drawn: a reader's search and copy of the PDF find
a figure's minus signs and math symbols (pdftotext reads what a viewer's search reads)."""

import subprocess

from test_errors import append_cell
from workspace import Workspace


def test_a_figures_text_layer_gives_the_characters_drawn(workspace: Workspace) -> None:
    append_cell(
        workspace,
        "fig = new_figure(width=0.5, aspect=0.5)\n"
        "ax = fig.add_subplot()\n"
        "ax.plot([-60, 60], [-2, 3])\n"
        r"ax.set_xlabel(r'offset $i-j$ of $E^\top E$ and $\lambda_l$')" + "\n"
        "save_figure(fig, 'ex2-signs')",
    )
    workspace.make()
    figure = workspace.layout.figures / "ex2-signs.pdf"
    text = subprocess.run(["pdftotext", str(figure), "-"], capture_output=True, text=True, check=True).stdout
    assert "−60" in text and "−2" in text  # the ticks' minus signs
    assert "offset i − j of E" in text and "and λl" in text
    assert "⊤" in text  # a superscript: pdftotext puts it on a line of its own
    assert "¡" not in text
