"""Run one notebook of figures_src/ cell by cell and record what each cell made.

    python -m pipeline.notebook figures_src/ex1.py

A notebook is a Python file split into cells by lines starting with `# %%` (the
percent format of VS Code, Jupyter and jupytext). All cells share one namespace, as
in a notebook kernel. For each cell the runner keeps its code, what it printed and the
figures it saved; with the values the notebook published, these go to
report/results/<name>.json, which the templates read. It also writes
report/results/<name>.d, the make rule listing every figures_src/ module the notebook
imported, so that editing one of them reruns exactly the notebooks that use it.
"""

import contextlib
import io
import json
import os
import re
import sys
import time
import traceback
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from figures_src import publish
from pipeline.diagnostics import BUILD_FAILED
from pipeline.listing import highlight
from pipeline.texify import untypesettable

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "report" / "results"
CELL_MARKER = "# %%"
TASK_LABEL = re.compile(r"^\d\([a-z]\)")
# Modules every notebook imports for plumbing; the report lists the others' code.
PLUMBING = {"figures_src/__init__.py", "figures_src/publish.py", "figures_src/page.py"}


@dataclass
class Cell:
    number: int
    first_line: int
    source: str
    output: str = ""
    figures: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The text after `# %%` on the cell's first line (`1(b) The Gram matrix`), if any."""
        first = self.source.splitlines()[0]
        return first.removeprefix(CELL_MARKER).strip() if first.startswith(CELL_MARKER) else ""

    @property
    def task(self) -> str:
        """The task label the title starts with (`1(b)`), or ''."""
        label = TASK_LABEL.match(self.title)
        return label.group(0) if label else ""

    def as_record(self) -> dict:
        """The cell for the templates: its code highlighted, its output and figures, and
        for a task's cell the hyperref anchor of that task's heading (`1(b)` is the
        second subsection of section 1: `subsection.1.2`)."""
        anchor = f"subsection.{self.task[0]}.{ord(self.task[2]) - ord('a') + 1}" if self.task else ""
        return {
            **asdict(self),
            "title": self.title,
            "task": self.task,
            "task_anchor": anchor,
            "code": highlight(self.source),
        }


class NotebookError(Exception):
    """A cell raised; the message names the notebook, the cell and the traceback."""


def split_cells(source: str) -> list[Cell]:
    """Cells in order; text before the first marker is a cell too, blank cells are dropped."""
    cells: list[Cell] = []
    lines = source.splitlines()
    start = 0
    for index in range(len(lines) + 1):
        if index == len(lines) or (index > 0 and lines[index].startswith(CELL_MARKER)):
            text = "\n".join(lines[start:index]).strip("\n")
            if text.strip():
                offset = next(i for i, line in enumerate(lines[start:index]) if line.strip())
                cells.append(Cell(len(cells) + 1, start + offset + 1, text))
            start = index
    return cells


def run_cells(path: Path, cells: list[Cell]) -> dict:
    """Execute the cells in one namespace; return the values the notebook published."""
    namespace = {"__name__": "__main__", "__file__": str(path)}
    for cell in cells:
        # Padding with blank lines makes tracebacks point at the notebook's own lines.
        printed = io.StringIO()
        figures_before = len(publish.SAVED_FIGURES)
        try:
            code = compile("\n" * (cell.first_line - 1) + cell.source, str(path), "exec")
            with contextlib.redirect_stdout(printed):
                exec(code, namespace)
        except Exception:
            trace = traceback.format_exc()
            raise NotebookError(
                f"{_shown(path)}: cell {cell.number} (line {cell.first_line}) raised:\n{trace}"
            ) from None
        cell.output = printed.getvalue()
        cell.figures = publish.SAVED_FIGURES[figures_before:]
    return dict(publish.RESULTS)


def imported_sources() -> list[Path]:
    """The figures_src/ files this process imported (the notebook's real prerequisites)."""
    sources = ROOT / "figures_src"
    found = {
        Path(module.__file__).resolve()
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None)
    }
    return sorted(p.relative_to(ROOT) for p in found if p.is_relative_to(sources))


def _mark_task_ranges(records: list[dict]) -> list[dict]:
    """`\\coderef{1(b)}` names the cells of task 1(b), from the first to the last: mark them."""
    tasks = [record["task"] for record in records]
    for index, record in enumerate(records):
        task = record["task"]
        record["first_of_task"] = bool(task) and task not in tasks[:index]
        record["last_of_task"] = bool(task) and task not in tasks[index + 1 :] and not record["first_of_task"]
    return records


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def check_printable(path: Path, cells: list[Cell]) -> None:
    """Every character of the code and its output must be one the PDF can show."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if bad := untypesettable(line):
            raise NotebookError(f"{_shown(path)}:{number}: {_characters(bad)}\n    {line.strip()}")
    for cell in cells:
        if bad := untypesettable(cell.output):
            raise NotebookError(f"{_shown(path)}: cell {cell.number} prints {_characters(bad)}")


def _characters(chars: list[str]) -> str:
    names = ", ".join(f"U+{ord(c):04X} ({unicodedata.name(c, '?')})" for c in chars)
    return (
        f"the PDF cannot show {names}; write it in ASCII, or give it a LaTeX command "
        "in UNICODE_COMMANDS (pipeline/texify.py)"
    )


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def remove_abandoned_figures(results: Path, saved: set[str]) -> None:
    """Delete figures this notebook saved last time but no longer saves (renamed or dropped)."""
    if not results.exists():
        return
    previous = json.loads(results.read_text(encoding="utf-8"))
    for cell in previous["cells"]:
        for figure in set(cell["figures"]) - saved:
            (publish.FIGURE_DIR / f"{figure}.pdf").unlink(missing_ok=True)


def run_notebook(path: Path) -> dict:
    """Run `path`, write its results and make rule; return the results."""
    path = path.resolve()
    cells = split_cells(path.read_text(encoding="utf-8"))
    values = run_cells(path, cells)
    sources = imported_sources()
    for module in [path, *(ROOT / p for p in sources)]:
        check_printable(module, cells if module == path else [])
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    results = RESULTS_DIR / f"{path.stem}.json"
    remove_abandoned_figures(results, {figure for cell in cells for figure in cell.figures})
    modules = [p for p in sources if p.as_posix() not in PLUMBING and p != path.relative_to(ROOT)]
    record = {
        "notebook": path.relative_to(ROOT).as_posix(),
        "values": values,
        "cells": _mark_task_ranges([cell.as_record() for cell in cells]),
        "modules": [
            {"path": p.as_posix(), "code": highlight((ROOT / p).read_text(encoding="utf-8"))} for p in modules
        ],
    }
    _write_atomically(results, json.dumps(record, indent=1, sort_keys=True) + "\n")
    prerequisites = " ".join(str(p) for p in sources)
    _write_atomically(
        results.with_suffix(".d"),
        f"{results.relative_to(ROOT)}: {prerequisites}\n" + "".join(f"{p}:\n" for p in sources),
    )
    return record


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m pipeline.notebook figures_src/<notebook>.py", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        record = run_notebook(Path(argv[0]))
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        print(BUILD_FAILED, file=sys.stderr)
        return 1
    figures = sum(len(cell["figures"]) for cell in record["cells"])
    print(
        f"[notebook] {argv[0]}: {len(record['cells'])} cells, {figures} figures, "
        f"{len(record['values'])} values ({time.perf_counter() - start:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
