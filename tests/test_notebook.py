"""The notebooks' code and output in the PDF, as an exported notebook shows them."""

import json
import re
import unicodedata
from pathlib import Path

from conftest import pdf_to_text
from workspace import copy_project, quickfix

from pipeline.notebook import split_cells

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "figures_src").glob("ex*.py"))
SHORT_LINE = 70  # longer lines may be wrapped in the PDF


def squeezed(text: str) -> str:
    """Text without white space, with compatibility characters folded (² is 2)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def test_every_notebook_line_is_in_the_pdf(pdf_text: str) -> None:
    """Short lines appear whole; a long line may be wrapped, so each of its words appears."""
    pdf = squeezed(pdf_text)
    for notebook in NOTEBOOKS:
        lines = [line for line in notebook.read_text(encoding="utf-8").splitlines() if line.strip()]
        pieces = [[line] if len(line) <= SHORT_LINE else line.split() for line in lines]
        missing = [piece for line in pieces for piece in line if squeezed(piece) not in pdf]
        assert not missing, f"{notebook.name}: lines not in the PDF: {missing[:5]}"


def test_every_printed_output_is_in_the_pdf(built_pdf: Path) -> None:
    pdf = squeezed(pdf_to_text(built_pdf, raw=True))
    for notebook in NOTEBOOKS:
        results = ROOT / "report" / "results" / f"{notebook.stem}.json"
        record = json.loads(results.read_text(encoding="utf-8"))
        outputs = [line for cell in record["cells"] for line in cell["output"].splitlines() if line.strip()]
        assert outputs, f"{notebook.name} prints nothing"
        missing = [line for line in outputs if len(line) <= SHORT_LINE and squeezed(line) not in pdf]
        assert not missing, f"{notebook.name}: output not in the PDF: {missing[:5]}"


def test_cells_split_at_markers_and_keep_their_line_numbers() -> None:
    source = "import math\n\n# %% 1(b) First\nx = 1\n\n# %%\n\nprint(x)\n"
    cells = split_cells(source)
    assert [(c.number, c.first_line, c.task) for c in cells] == [(1, 1, ""), (2, 3, "1(b)"), (3, 6, "")]
    assert cells[2].source == "# %%\n\nprint(x)"


def test_a_raising_cell_stops_the_build_with_its_cell_number(tmp_path: Path, built_pdf: Path) -> None:
    workspace = copy_project(tmp_path / "project")
    before = workspace.pdf.read_bytes()
    workspace.write(
        "figures_src/ex2.py",
        (ROOT / "figures_src" / "ex2.py").read_text(encoding="utf-8")
        + "\n# %%\nprint('fine')\n\n# %%\nvalue = 1 / 0\n",
    )
    done = workspace.make(check=False)
    source = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    cells = len(split_cells(source))
    assert done.returncode != 0
    line = source.splitlines().index("value = 1 / 0") + 1
    message = f"error: cell {cells} raised ZeroDivisionError: division by zero"
    assert quickfix(done.stderr)[0] == ("figures_src/ex2.py", line, message)
    assert "ZeroDivisionError" in done.stderr
    assert "value = 1 / 0" in done.stderr
    assert workspace.pdf.read_bytes() == before
