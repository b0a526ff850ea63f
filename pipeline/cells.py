"""Cells run as Jupyter's IPython kernel runs them, in the runner's own process.

A kernel is a separate process that talks to Jupyter over ZeroMQ; the build needs none
of that, only what the kernel does with a cell. So IPython's own `InteractiveShell`
runs each cell here: the value of a cell's last bare expression is its output, as
IPython formats it (`;` at the end hides it), `display()` and IPython's display
objects work, magics (`# %time ...`, as jupytext writes them) mean what they mean in
Jupyter, and the cells' namespace is a real module, `sys.modules["__main__"]`, so
that pickle and multiprocessing find what a cell defines, as in `python exN.py`.

What a kernel would send to the front end is kept instead, in order, as the running
cell's outputs (`CellOutputs`): what it writes to standard output and standard error
(warnings and logging included: the streams are the same two objects for the whole
run, so a logging handler made in the first cell writes under the cell running now),
what it displays, and the figures still open when it ends (as the inline backend of
Jupyter shows them). `pipeline/notebook.py` turns them into what the appendix shows.
"""

import ast
import atexit
import io
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path
from typing import cast

from IPython.core.compilerop import CachingCompiler
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.formatters import DisplayFormatter
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from traitlets.config import Config

# matplotlib's backend for the cells: figures are drawn as PDF, and `plt.show()`
# displays them under the cell (pipeline/cell_figures.py).
BACKEND = "module://pipeline.cell_figures"


class CellOutputs:
    """The outputs of the cell running now: `{"stream": "stdout", "text": ...}` or
    `{"data": {mime type: content}}`, in the order the cell made them. Consecutive
    writes to one stream are one output, as Jupyter merges them."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def stream(self, name: str, text: str) -> None:
        if self.items and self.items[-1].get("stream") == name:
            self.items[-1]["text"] += text
        else:
            self.items.append({"stream": name, "text": text})

    def display(self, data: dict) -> None:
        self.items.append({"data": data})

    def take(self) -> list[dict]:
        """The outputs so far, leaving none for the next cell."""
        items, self.items = self.items, []
        return items


class CellStream(io.TextIOBase):
    """`sys.stdout` or `sys.stderr` while the cells run: what is written lands under the
    cell running at the time, even through a reference kept from an earlier cell."""

    def __init__(self, name: str, outputs: CellOutputs) -> None:
        self.name, self.outputs = name, outputs

    @property
    def encoding(self) -> str:  # type: ignore[override]  # TextIOBase's is an attribute in typeshed
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.outputs.stream(self.name, text)
        return len(text)


class CellDisplayHook(DisplayHook):
    """The value of a cell's last bare expression becomes an output, as in a kernel's
    `execute_result`, rather than `Out[N]:` printed to standard output."""

    outputs: CellOutputs

    def start_displayhook(self) -> None:
        pass

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict: dict, md_dict: dict | None = None) -> None:
        self.outputs.display(format_dict)

    def finish_displayhook(self) -> None:
        pass


class CellDisplayPublisher(DisplayPublisher):
    """`display(obj)` becomes an output of the running cell, with every representation
    IPython made of it; `clear_output()` clears the cell's outputs, as in Jupyter."""

    outputs: CellOutputs

    def publish(self, data: dict, metadata: dict | None = None, *args: object, **kwargs: object) -> None:
        self.outputs.display(data)

    def clear_output(self, wait: bool = False) -> None:
        self.outputs.take()


class NotebookCompiler(CachingCompiler):
    """Compiles each cell under the notebook's own file name and at its own lines, so a
    traceback or a SyntaxError names `figures_src/exN.py` and the line there (IPython
    would name a made-up file and count from the cell's first line)."""

    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename
        self.first_line = 1  # the notebook line of the code's first line

    def cache(self, transformed_code: str, number: int = 0, raw_code: str | None = None) -> str:
        # Not put into linecache: tracebacks read the notebook file itself, whose lines these are.
        return self.filename

    def ast_parse(self, source: str, filename: str = "<unknown>", symbol: str = "exec") -> ast.AST:
        try:
            tree = super().ast_parse(source, filename, symbol)
        except SyntaxError as error:
            if error.lineno is not None:
                error.lineno += self.first_line - 1
            if error.end_lineno is not None:
                error.end_lineno += self.first_line - 1
            raise
        return ast.increment_lineno(tree, self.first_line - 1)


class CellShell(InteractiveShell):
    """IPython's shell with the build's display hook and publisher."""

    displayhook_class = CellDisplayHook  # type: ignore[assignment]
    display_pub_class = CellDisplayPublisher  # type: ignore[assignment]


def _exit(code: object = None) -> None:
    """`exit()` and `quit()` in a cell: IPython would only ask its front end to close;
    a script ends, and so does the build's run, with the error naming the cell."""
    raise SystemExit(code)


def _figure_pdf(figure: object) -> bytes:
    """A matplotlib figure as a PDF, for display() and for a figure a cell leaves open:
    cropped to what is drawn, as Jupyter's inline backend shows it (`bbox_inches="tight"`),
    and without a date (the same bytes on every run)."""
    data = io.BytesIO()
    metadata = {"CreationDate": None, "ModDate": None}
    figure.savefig(data, format="pdf", bbox_inches="tight", metadata=metadata)  # type: ignore[attr-defined]
    return data.getvalue()


class Cells:
    """The shell the cells of one notebook run in, one after another."""

    def __init__(self, path: Path) -> None:
        os.environ["MPLBACKEND"] = BACKEND  # read when a cell first imports matplotlib
        self.outputs = CellOutputs()
        self.module = types.ModuleType("__main__")
        self.module.__file__ = str(path)  # as in `python exN.py`
        # IPython keeps its profile nowhere that outlives the process, and no history. The
        # folder goes when the process ends: removing it earlier would be seen by the audit
        # hook of pipeline/notebook.py (rmtree opens by names relative to a folder).
        home = tempfile.mkdtemp(prefix="ipython-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        config = Config()
        config.HistoryManager.enabled = False
        # IPython makes the module sys.modules["__main__"], where pickle looks up what a cell defines.
        self.shell = CellShell.instance(config=config, ipython_dir=home, user_module=self.module)
        self.shell.displayhook.outputs = self.outputs
        self.shell.display_pub.outputs = self.outputs
        self.shell.compile = self.compiler = NotebookCompiler(str(path))
        self.shell.user_ns["exit"] = self.shell.user_ns["quit"] = _exit
        formatter = cast(DisplayFormatter, self.shell.display_formatter).formatters["application/pdf"]
        formatter.for_type_by_name("matplotlib.figure", "Figure", _figure_pdf)

    def __enter__(self) -> "Cells":
        """The cells' streams stand in for standard output and standard error until the
        run ends (then the runner's own lines reach the terminal again)."""
        self._streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = CellStream("stdout", self.outputs), CellStream("stderr", self.outputs)
        return self

    def run(self, code: str, first_line: int) -> list[dict]:
        """Run one cell's code (which starts at the notebook's line `first_line`) and return
        its outputs; an exception in the cell is raised here, with its traceback."""
        lines = code.splitlines()
        blank = next((index for index, line in enumerate(lines) if line.strip()), len(lines))
        # IPython drops a cell's leading blank lines; the line count starts after them.
        self.compiler.first_line = first_line + blank
        result: ExecutionResult = self.shell.run_cell("\n".join(lines[blank:]), store_history=True)
        self.show_open_figures()
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            raise error
        return self.outputs.take()

    def show_open_figures(self) -> None:
        """Figures still open when a cell ends are shown under it and closed, as the
        inline backend does in Jupyter (a figure saved with save_figure is closed)."""
        if "matplotlib.pyplot" in sys.modules:  # a cell drew with pyplot: its backend is loaded
            from pipeline import cell_figures

            cell_figures.show()

    def __exit__(self, *exception: object) -> None:
        sys.stdout, sys.stderr = self._streams
