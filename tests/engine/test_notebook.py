"""The notebooks' code and output in the PDF, as an exported notebook shows them."""

import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import jupytext
import pytest
from conftest import pdf_to_text
from nbclient import NotebookClient
from workspace import Workspace, quickfix

from pipeline.markdown import markdown_source
from pipeline.notebook import python_source, split_cells
from pipeline.paths import Layout
from pipeline.render import appendix_of, tasks_shown_with

SHORT_LINE = 70  # longer lines may be wrapped in the PDF


def squeezed(text: str) -> str:
    """Text without white space, with compatibility characters folded (² is 2)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def shown_cells(layout: Layout) -> dict[str, list[dict]]:
    """The cells the appendix shows, by notebook (its selection: pipeline/render.py)."""
    cited = {
        task
        for template in layout.templates()
        for task in re.findall(r"\\coderef\{([^}]*)\}", template.read_text(encoding="utf-8"))
    }
    records = {n.stem: json.loads(layout.results_of(n.stem).read_text()) for n in layout.notebooks()}
    return {name: appendix_of(record, cited, everything=False)[0] for name, record in records.items()}


def test_every_line_of_the_shown_cells_is_in_the_pdf(engine: Workspace, engine_text: str) -> None:
    """Short lines appear whole; a long line may be wrapped, so each of its words appears;
    a markdown cell appears as prose, so each of its words does."""
    pdf = squeezed(engine_text)
    for name, cells in shown_cells(engine.layout).items():
        for cell in cells:
            if cell["kind"] == "markdown":
                words = re.sub(r"\$[^$]*\$", " ", markdown_source(cell["source"])).split()  # math aside
                pieces = [re.sub(r"[*`#]", "", word) for word in words]
            else:
                lines = [line for line in cell["source"].splitlines() if line.strip()]
                pieces = [
                    piece for line in lines for piece in ([line] if len(line) <= SHORT_LINE else line.split())
                ]
            missing = [piece for piece in pieces if squeezed(piece) not in pdf]
            assert not missing, f"{name}, cell {cell['number']}: not in the PDF: {missing[:5]}"


def test_a_markdown_cell_is_shown_with_the_task_cell_it_introduces() -> None:
    cells = [
        {"kind": "markdown", "tasks": []},
        {"kind": "code", "tasks": ["1(b)"]},
        {"kind": "markdown", "tasks": []},
        {"kind": "code", "tasks": ["3(c)", "3(d)"]},
        {"kind": "markdown", "tasks": []},
        {"kind": "code", "tasks": []},
    ]
    assert tasks_shown_with(cells) == [["1(b)"], ["1(b)"], ["3(c)", "3(d)"], ["3(c)", "3(d)"], [], []]


def test_markdown_cells_are_prose_not_code(engine: Workspace, engine_text: str) -> None:
    assert "[markdown]" not in engine_text
    markdown = [
        cell for cells in shown_cells(engine.layout).values() for cell in cells if cell["kind"] == "markdown"
    ]
    assert markdown, "no markdown cell shown"
    for cell in markdown:
        first = markdown_source(cell["source"]).splitlines()[0].lstrip("# ")
        words = max(re.split(r"\$[^$]*\$", first), key=len).strip()  # the longest stretch without math
        assert words in engine_text and f"# {first}" not in engine_text


def test_every_printed_output_of_the_shown_cells_is_in_the_pdf(engine: Workspace) -> None:
    pdf = squeezed(pdf_to_text(engine.pdf, raw=True))
    for name, cells in shown_cells(engine.layout).items():
        outputs = [line for cell in cells for line in cell["output"].splitlines() if line.strip()]
        missing = [line for line in outputs if len(line) <= SHORT_LINE and squeezed(line) not in pdf]
        assert not missing, f"{name}: output not in the PDF: {missing[:5]}"


def test_cells_split_at_markers_and_keep_their_line_numbers() -> None:
    source = "import math\n\n# %% 1(b) First\nx = 1\n\n# %%\n\nprint(x)\n"
    cells = split_cells(source)
    assert [(c.number, c.first_line, c.task) for c in cells] == [(1, 1, ""), (2, 3, "1(b)"), (3, 6, "")]
    assert cells[2].source == "# %%\n\nprint(x)"


def test_a_raising_cell_stops_the_build_with_its_cell_number(workspace: Workspace) -> None:
    before = workspace.pdf.read_bytes()
    workspace.write(
        "figures_src/ex2.py",
        (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
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


def test_every_notebook_runs_in_a_kernel_started_in_its_folder_and_shows_its_figures(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As JupyterLab and VS Code run it: a kernel in figures_src/, with the inline backend."""
    monkeypatch.setenv("PYTHONPATH", str(workspace.root))  # the copy's modules, not the checkout's
    monkeypatch.delenv("MPLBACKEND", raising=False)
    for notebook in sorted((workspace.root / "figures_src").glob("ex*.py")):
        document = jupytext.read(notebook)
        NotebookClient(
            document,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(notebook.parent)}},
        ).execute()
        for cell in document.cells:
            if cell.cell_type == "code" and "save_figure(" in cell.source:
                shown = [out for out in cell.outputs if "image/png" in out.get("data", {})]
                assert shown, f"{notebook.name}: a cell saving a figure shows none"


def test_a_notebook_runs_as_a_script_from_any_folder(workspace: Workspace, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(workspace.layout.notebooks_dir / "ex1.py")],
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "agg", "PYTHONPATH": str(workspace.root)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_a_module_in_another_encoding_is_shown_as_python_reads_it(tmp_path: Path) -> None:
    module = tmp_path / "old.py"
    module.write_bytes("# -*- coding: latin-1 -*-\nGREETING = 'Grüße'\n".encode("latin-1"))
    assert "Grüße" in python_source(module)
