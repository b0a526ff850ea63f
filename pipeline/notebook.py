"""Run one notebook of figures_src/ cell by cell and record what each cell made.

    python -m pipeline.notebook figures_src/ex1.py [--timeout SECONDS]

A notebook is a Python file split into cells at `# %%` lines (the percent format of
VS Code, Jupyter and jupytext; jupytext's own reader splits it here). The cells run
as Jupyter's IPython kernel runs them, one namespace for all, in IPython's own shell
in this process (pipeline/cells.py). For each cell the runner keeps its code, what it
showed (printed text, standard error, values, displays, figures left open) and the
figures it saved; with the values the notebook published, these go to
report/results/<name>.json, which the templates read.

The record also lists every file of the project the run read (modules, `figures_src/`
or `pipeline/`, and data files), found by an audit hook rather than listed by hand,
each with its hash when first read: build.py turns that into the step's stamp, so an
edit to any of them reruns exactly the notebooks that read it.

A cell that does not end well stops the run with its place, `figures_src/exN.py:LINE`:
an exception (with its traceback), `sys.exit()`, `input()` or `breakpoint()` (a build
has no keyboard), or running longer than the timeout. A cell that runs long says so
every PROGRESS_EVERY seconds.
"""

import ast
import base64
import contextlib
import hashlib
import io
import json
import os
import re
import signal
import sys
import threading
import time
import tokenize
import traceback
from dataclasses import asdict, dataclass, field
from importlib.util import source_from_cache
from pathlib import Path

from jupytext.formats import get_format_implementation, long_form_one_format
from jupytext.header import header_to_metadata_and_cell

from pipeline.errors import BuildError, Reported, read_text
from pipeline.paths import PROJECT
from pipeline.stamps import file_digest, write_atomically

# The start of a cell's first line that is not its title (`# %%`, `#%%`, `# %%%`).
CELL_MARKER = re.compile(r"^\s*#\s*%%+\s?")
# The tasks a cell's title starts with: one (`1(b)`), a list (`3(c), 3(d)`, `3(c) and (d)`)
# or a range of one exercise's letters (`3(c)-(e)`: c, d and e). A later label may leave out
# its exercise's number, which is then the one before it.
TASK_LABEL = re.compile(r"^\d+\([a-z]\)(?:\s*(?:,|and|-|\u2013)\s*(?:\d+)?\([a-z]\))*")
TASK_PART = re.compile(r"(-|\u2013)?\s*(\d+)?\(([a-z])\)")
PROGRESS_EVERY = 10.0  # seconds between "still running" lines
OUTPUT_LINES = 60  # of a cell's output, the PDF shows the first lines, then "... N more lines"
OUTPUT_WIDTH = 500  # and of each line, the first characters
# A terminal's control sequences: colours and cursor moves (CSI), and the window title
# or a link (OSC, ended by BEL or ESC \).
ANSI_CODE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
GRACE = 10.0  # seconds a cell past its timeout gets to stop before the process ends
# Modules every notebook imports for plumbing; the report lists the others' code.
PLUMBING = {"figures_src/__init__.py"}
# Where a run's reads do not count as inputs: the build's own bookkeeping and scratch
# folders, and what is not the project's. A file under report/ that another notebook
# wrote (or a person put there) is an input like any other.
NOT_INPUTS = ("report/stamps/", "report/build/", ".venv/", ".git/")
# Of what a cell displays, the PDF shows the first of these forms it has: the order of
# nbconvert's LaTeX export (HTML it cannot show; an object without any of these is left out).
SHOWN_FORMS = ("text/latex", "application/pdf", "image/png", "image/jpeg", "text/markdown", "text/plain")


@dataclass
class Cell:
    number: int
    first_line: int  # of the cell as the file has it, from its `# %%` line
    source: str
    kind: str = "code"  # or `markdown` (prose), or `raw` (neither run nor typeset as prose)
    body: str = ""  # the cell as Jupyter holds it: without its marker, magics uncommented
    body_line: int = 0  # the notebook line the body starts on
    output: str = ""  # what it printed to standard output,
    stderr: str = ""  # and to standard error, as a terminal shows them
    outputs: list[dict] = field(default_factory=list)  # everything it showed, in order, as the PDF shows it
    figures: list[str] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)  # the notebook's modules whose names the cell uses

    @property
    def title(self) -> str:
        """The text after `# %%` on the cell's first line (`1(b) The Gram matrix`), if any."""
        marker = CELL_MARKER.match(self.source.splitlines()[0])
        return self.source.splitlines()[0][marker.end() :].strip() if marker else ""

    @property
    def tasks(self) -> list[str]:
        """The tasks the title starts with, in its order (`3(c)-(d) ...` answers 3(c) and
        3(d): one derivation can answer two tasks), or none."""
        labels = TASK_LABEL.match(self.title)
        tasks: list[str] = []
        exercise = ""
        for dash, number, letter in TASK_PART.findall(labels.group(0) if labels else ""):
            if dash and (not number or number == exercise):
                start = ord(tasks[-1][-2]) + 1
                tasks += [f"{exercise}({chr(code)})" for code in range(start, ord(letter))]
            exercise = number or exercise
            tasks.append(f"{exercise}({letter})")
        return list(dict.fromkeys(tasks))

    @property
    def task(self) -> str:
        """The first task the title names (`1(b)`), or ''."""
        return next(iter(self.tasks), "")

    def as_record(self) -> dict:
        """The cell for the templates: its code, output and figures, and for a task's cell
        each task it answers with the link target of that task's heading, named by its
        letter wherever the task stands (`\\task{b}` of exercise 1 is `subsection.1.2`,
        templates/preamble.tex); `task` is the first of them, the one a cell of one task
        is known by."""
        links = []
        for task in self.tasks:
            exercise, _, letter = task.partition("(")
            links.append({"task": task, "anchor": f"subsection.{exercise}.{ord(letter[0]) - ord('a') + 1}"})
        return {
            **asdict(self),
            "title": self.title,
            "kind": self.kind,
            "task": self.task,
            "tasks": self.tasks,
            "task_links": links,
        }


def split_cells(source: str) -> list[Cell]:
    """The cells as jupytext reads the file (its own cell reader, so the build, VS Code
    and Jupyter agree on every boundary, `#%%` included, and on which cells are
    markdown), each with the lines it spans; a YAML header is no cell, blank cells are
    dropped."""
    fmt = long_form_one_format("py:percent")
    implementation = get_format_implementation(".py", "percent")
    lines = source.splitlines()
    metadata, _, _, position = header_to_metadata_and_cell(lines, "#", "", ".py", False)
    fmt.update(metadata.get("jupytext", {}).get("text_representation", {}))
    cells: list[Cell] = []
    while position < len(lines):
        reader = implementation.cell_reader_class(fmt, "python")
        read, length = reader.read(lines[position:])
        spanned = lines[position : position + length]
        text = "\n".join(spanned).strip("\n")
        if text.strip():
            offset = next(i for i, line in enumerate(spanned) if line.strip())
            marker = reader.start_code_re, reader.alternative_start_code_re
            marked = any(pattern.match(spanned[0]) for pattern in marker)
            cells.append(
                Cell(
                    len(cells) + 1,
                    position + offset + 1,
                    text,
                    kind=read.cell_type,
                    body=read.source,
                    body_line=position + 1 + marked,
                )
            )
        position += length
    return cells


class ReadRecorder:
    """Every file of the project this process reads, with its hash when first read.

    An audit hook (PEP 578) sees each `open`, from `open()`, `numpy.load`, `os.open` or
    the import system, before the file is read, and each folder listed (`glob`,
    `iterdir`, `os.walk`): a file added to a folder a notebook globs is a change. A
    compiled module (`__pycache__/*.pyc`) stands for its source file. Files the build
    makes (report/) are outputs, not inputs; so are the project files a notebook writes.
    """

    def __init__(self) -> None:
        self.digests: dict[str, str | None] = {}
        self.texts: dict[str, str] = {}
        self.written: set[Path] = set()
        self._busy = threading.local()
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if event not in ("open", "os.scandir", "os.listdir") or getattr(self._busy, "on", False):
            return
        if event == "open":
            path, mode, flags = args
            if _writes(mode, flags):
                if isinstance(path, (str, bytes, os.PathLike)):
                    self.wrote(Path(os.fsdecode(path)))
                return
        elif _by_the_import_system():  # it lists every folder on sys.path; the notebook did not
            return
        else:
            path = args[0] if args[0] is not None else "."
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # an open file descriptor
        self._busy.on = True  # hashing opens the file too
        try:
            self.see(Path(os.fsdecode(path)))
        finally:
            self._busy.on = False

    def wrote(self, path: Path) -> None:
        """Note `path` as written if it is one of the project's files: the notebook's
        output, so that a hand edit or a deletion of it reruns the notebook."""
        path = Path(os.path.abspath(path))
        compiled = "__pycache__" in path.parts  # Python's own cache of a module it imported
        partial = path.suffix == ".partial"  # a file written under a temporary name, then renamed
        if (
            path.is_relative_to(PROJECT.root)
            and not PROJECT.shown(path).startswith(NOT_INPUTS)
            and not (compiled or partial)
        ):
            self.written.add(path)

    def see(self, path: Path) -> None:
        """Note `path` as read (with its hash now) if it is one of the project's files."""
        path = Path(os.path.abspath(path))
        if path.suffix == ".pyc":
            with contextlib.suppress(ValueError):
                path = Path(source_from_cache(path))
        name = PROJECT.shown(path)
        if name in self.digests or not path.is_relative_to(PROJECT.root) or name.startswith(NOT_INPUTS):
            return
        self.digests[name] = file_digest(path)
        if path.suffix == ".py" and self.digests[name] is not None:
            self.texts[name] = python_source(path)

    def see_imported_modules(self) -> None:
        """Modules imported before the hook was installed (the runner's own)."""
        for module in list(sys.modules.values()):
            if file := getattr(module, "__file__", None):
                self.see(Path(file))


def python_source(path: Path) -> str:
    """A module's text as Python reads it: UTF-8, or what its `# -*- coding: ... -*-` line says."""
    try:
        with tokenize.open(path) as source:
            return source.read()
    except (SyntaxError, UnicodeDecodeError):  # Python cannot import it either; the cell says so
        return path.read_text(encoding="utf-8", errors="replace")


def _by_the_import_system() -> bool:
    """Whether the folder listing being audited is the import system's (which lists each
    folder of sys.path once, to find modules)."""
    caller = sys._getframe(2)  # past this function and the audit hook
    return caller.f_code.co_filename.startswith("<frozen importlib")


def _writes(mode: str | None, flags: int) -> bool:
    if mode is not None:
        return any(c in mode for c in "wax+")
    return bool(flags & (os.O_WRONLY | os.O_RDWR))


class NoKeyboard(io.TextIOBase):
    """Standard input of a build: asking it for a line is an error that names the cell."""

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]  # typeshed: bytes, via IOBase
        raise RuntimeError(
            "input() has no keyboard to read from while the build runs; set the value in the cell"
        )

    read = readline


def no_debugger(*args: object, **kwargs: object) -> None:
    raise RuntimeError(
        "breakpoint() cannot stop the build; run the notebook in Jupyter or VS Code to debug it"
    )


class Watchdog:
    """Says every PROGRESS_EVERY seconds that a cell still runs, and stops a cell that
    runs past `timeout`: first by interrupting it (so its traceback shows where it
    was), and if it does not stop within GRACE seconds, by ending the process."""

    def __init__(self, notebook: str, timeout: float) -> None:
        self.notebook, self.timeout = notebook, timeout
        self.cell: Cell | None = None
        self.started = 0.0
        self.timed_out = False
        self._changed = threading.Condition()
        self._main_thread = threading.get_ident()  # the cells run in the thread that made the watchdog
        threading.Thread(target=self._watch, daemon=True).start()

    def running(self, cell: Cell | None) -> None:
        with self._changed:
            self.cell, self.started = cell, time.monotonic()
            self._changed.notify()

    def _watch(self) -> None:
        # The cells' output is being captured: these lines go to the process's own streams.
        with self._changed:
            while True:
                cell, started = self.cell, self.started
                if cell is None:
                    self._changed.wait()
                    continue
                elapsed = time.monotonic() - started
                if elapsed >= self.timeout + GRACE:
                    print(
                        f"{self.notebook}:{cell.first_line}: error: cell {cell.number} did not stop "
                        f"{GRACE:.0f} s after its time limit",
                        file=sys.__stderr__,
                        flush=True,
                    )
                    os._exit(1)
                if elapsed >= self.timeout and not self.timed_out:
                    self.timed_out = True
                    # A real SIGINT, unlike _thread.interrupt_main, also ends a sleep or a wait.
                    signal.pthread_kill(self._main_thread, signal.SIGINT)
                elif elapsed >= PROGRESS_EVERY:
                    print(
                        f"[notebook] {self.notebook}: cell {cell.number} (line {cell.first_line}) "
                        f"still running after {elapsed:.0f} s",
                        file=sys.__stdout__,
                        flush=True,
                    )
                deadline = self.timeout + GRACE if self.timed_out else self.timeout
                next_progress = PROGRESS_EVERY * (elapsed // PROGRESS_EVERY + 1)
                self._changed.wait(timeout=max(min(next_progress, deadline) - elapsed, 0.01))


def _cell_line(trace: traceback.StackSummary, path: Path, cell: Cell) -> int:
    """The notebook line where the trouble was: the innermost frame in the notebook."""
    frames = [frame for frame in trace if frame.filename == PROJECT.shown(path)]
    return frames[-1].lineno if frames and frames[-1].lineno else cell.first_line


def run_cells(path: Path, cells: list[Cell], timeout: float) -> tuple[dict, list[Path]]:
    """Execute the code cells one after another in one IPython shell (pipeline/cells.py),
    keeping what each showed; return the values the notebook published and the files it
    wrote (its figures)."""
    from pipeline.cells import Cells  # IPython, loaded only where cells run

    runner = Cells(path)
    from pipeline import publish  # imported after the audit hook and __main__ are in place

    watchdog = Watchdog(PROJECT.shown(path), timeout)
    sys.stdin, sys.breakpointhook = NoKeyboard(), no_debugger
    with runner:
        for cell in (cell for cell in cells if cell.kind == "code"):
            figures_before = len(publish.SAVED_FIGURES)
            watchdog.running(cell)
            try:
                outputs = runner.run(cell.body, cell.body_line)
            except BaseException as error:
                watchdog.running(None)
                raise Reported(_cell_failure(error, path, cell, watchdog)) from None
            watchdog.running(None)
            cell.outputs = shown_outputs(outputs, path.stem, cell.number)
            for stream in ("stdout", "stderr"):
                text = "".join(output["text"] for output in cell.outputs if output["type"] == stream)
                setattr(cell, "output" if stream == "stdout" else "stderr", text)
            cell.figures = publish.SAVED_FIGURES[figures_before:]
    return dict(publish.RESULTS), list(publish.WRITTEN)


def shown_outputs(outputs: list[dict], notebook: str, cell: int) -> list[dict]:
    """What the PDF shows of a cell's outputs (pipeline/cells.py), in their order: each
    stream as a terminal shows it, and of each displayed object the form an exported
    notebook's LaTeX shows (`SHOWN_FORMS`). A picture is written to
    report/code/<notebook>-cell<N>-<K>.<pdf|png|jpeg>, beside the code pages that show it."""
    here = f"{PROJECT.root}{os.sep}"  # paths in the project are shown from its root
    shown: list[dict] = []
    for output in outputs:
        if "stream" in output:
            text = as_a_terminal_shows(output["text"].replace(here, ""))
            shown.append({"type": output["stream"], "text": text})
            continue
        form = next((form for form in SHOWN_FORMS if form in output["data"]), None)
        content = output["data"].get(form)
        if form == "text/plain":
            text = content.replace(here, "") + "\n"
            shown.append({"type": "text", "text": as_a_terminal_shows(text)})
        elif form in ("text/latex", "text/markdown"):
            shown.append({"type": form.removeprefix("text/"), "source": content})
        elif form is not None:
            data = content if isinstance(content, bytes) else base64.b64decode(content)
            target = PROJECT.code / f"{notebook}-cell{cell}-{len(shown) + 1}.{form.partition('/')[2]}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            shown.append(
                {
                    "type": "picture",
                    "path": PROJECT.shown(target),
                    "width_cm": round(_picture_width_cm(data, form), 3),
                    "sha256": hashlib.sha256(data).hexdigest(),  # a new picture re-typesets the code
                }
            )
    return shown


def _picture_width_cm(data: bytes, form: str) -> float:
    """The width a picture is shown at in a notebook: a PDF's own, an image's at 96
    pixels per inch (a browser's CSS pixel)."""
    if form == "application/pdf":
        from pypdf import PdfReader

        return float(PdfReader(io.BytesIO(data)).pages[0].mediabox.width) / 72 * 2.54
    from PIL import Image

    return Image.open(io.BytesIO(data)).width / 96 * 2.54


def _cell_failure(error: BaseException, path: Path, cell: Cell, watchdog: Watchdog) -> str:
    """`figures_src/exN.py:LINE: error: ...` and, indented below it, where the cell was:
    the traceback from the cell's own line inwards (the runner's frames left out; for a
    value publish refused, the notebook's frames only)."""
    from pipeline import cells
    from pipeline.publish import PublishError

    trace = traceback.extract_tb(error.__traceback__)
    while trace and trace[0].filename != str(path):  # the runner's own frames, before the cell's
        trace.pop(0)
    runner = (__file__, cells.__file__)  # and after it (NoKeyboard, no_debugger, exit())
    while trace and trace[-1].filename in runner:
        trace.pop()
    if isinstance(error, PublishError):  # refused at the call: the API's insides do not help
        while trace and trace[-1].filename != str(path):
            trace.pop()
    for frame in trace:
        frame.filename = PROJECT.shown(Path(frame.filename))
    line = _cell_line(trace, path, cell)
    if isinstance(error, SyntaxError) and error.filename == str(path) and error.lineno:
        line, error.filename = error.lineno, PROJECT.shown(path)  # the cell never ran: no traceback
    where = f"{PROJECT.shown(path)}:{line}: error: cell {cell.number}"
    stack = "".join(traceback.format_list(trace)).rstrip().splitlines()
    if isinstance(error, KeyboardInterrupt) and watchdog.timed_out:
        limit = f"{watchdog.timeout / 60:g} minutes" if watchdog.timeout >= 60 else f"{watchdog.timeout:g} s"
        head = f"{where} ran longer than its limit of {limit}"
        stack.append("the limit is cell_timeout_minutes in the [build] table of report.toml")
    elif isinstance(error, KeyboardInterrupt):
        head, stack = f"{where} was interrupted", []
    elif isinstance(error, SystemExit):
        head = f"{where} called exit({error.code!r}): a cell must not end the notebook's run"
    else:
        message = "".join(traceback.format_exception_only(error)).strip().splitlines()
        said = str(error).splitlines()
        head = f"{where} raised {type(error).__name__}" + (f": {said[0]}" if said else "")
        stack = ["Traceback (most recent call last):", *stack, *message]
    return "\n".join([head, *(f"    {line}" for line in stack)])


def as_a_terminal_shows(text: str) -> str:
    """A cell's output as a terminal would show it, and short enough to print: colour
    codes dropped, each line as its last carriage return left it (a progress bar),
    backspaces applied, other control characters made visible (NUL is ^@), tabs
    expanded; at most OUTPUT_LINES lines of at most OUTPUT_WIDTH characters."""
    shown = []
    for raw in ANSI_CODE.sub("", text).split("\n"):
        cells: list[str] = []  # what each column of the terminal line shows
        cursor = 0
        for char in raw.rstrip("\r"):
            if char in "\r\b":  # back to the line's start, or one column back: what follows overwrites
                cursor = 0 if char == "\r" else max(cursor - 1, 0)
                continue
            shown_as = (
                "^" + chr(ord(char) ^ 64) if (ord(char) < 32 and char != "\t") or ord(char) == 127 else char
            )
            cells[cursor : cursor + 1] = [shown_as]
            cursor += 1
        row = "".join(cells).expandtabs(8)
        extra = len(row) - OUTPUT_WIDTH
        shown.append(row if extra <= 0 else f"{row[:OUTPUT_WIDTH]} ... ({extra} more characters)")
    if len(shown) > OUTPUT_LINES + 1:  # the last "line" is what follows the final newline
        hidden = len(shown) - OUTPUT_LINES - (shown[-1] == "")
        shown = [*shown[:OUTPUT_LINES], f"... {hidden} more lines", ""]
    return "\n".join(shown)


def is_shown_module(name: str) -> bool:
    """Whether the appendix may show this file a notebook imported (`name` as
    PROJECT.shown gives it): any Python module of the project, wherever it lives
    (`figures_src/moe_layer.py`, `lib/helpers.py`), but not the build's own code nor the
    plumbing every notebook imports."""
    outside = Path(name).is_absolute() or name.startswith(("pipeline/", *NOT_INPUTS))
    return name.endswith(".py") and not outside and name not in PLUMBING


def mark_modules_used(cells: list[Cell]) -> None:
    """Note in each cell which of the project's modules it uses: a name it reads that a
    cell imported from that module (`from figures_src.moe_layer import MoELayer`). The
    appendix lists a module after the cells shown that use it."""
    trees = [ast.parse(cell.source) for cell in cells]
    imported: dict[str, str] = {}  # a name bound by an import -> the module file it came from
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                bound = {alias.asname or alias.name: node.module for alias in node.names}
            elif isinstance(node, ast.Import):
                bound = {alias.asname or alias.name.split(".")[0]: alias.name for alias in node.names}
            else:
                continue
            for name, module in bound.items():
                origin = getattr(sys.modules.get(module), "__file__", None)
                if origin and is_shown_module(PROJECT.shown(Path(origin))):
                    imported[name] = PROJECT.shown(Path(origin))
    for cell, tree in zip(cells, trees, strict=True):
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        cell.uses = sorted({imported[name] for name in names & imported.keys()} - PLUMBING)


def _mark_task_ranges(records: list[dict]) -> list[dict]:
    """`\\coderef{1(b)}` names the cells of task 1(b), from the first to the last: mark, for
    each cell, the tasks it starts, the tasks it ends (when it is not also their first
    cell) and the tasks whose code its output ends. A cell that answers two tasks is in
    the range of each."""
    for index, record in enumerate(records):
        before = {task for earlier in records[:index] for task in earlier["tasks"]}
        after = {task for later in records[index + 1 :] for task in later["tasks"]}
        record["first_of"] = [task for task in record["tasks"] if task not in before]
        record["last_of"] = [task for task in record["tasks"] if task not in after and task in before]
        record["ends"] = [task for task in record["tasks"] if task not in after]
    return records


def run_notebook(path: Path, timeout: float) -> dict:
    """Run `path` and write its record to report/results/<name>.json; return the record."""
    path = Path(os.path.abspath(path))  # a symlinked notebook keeps its name (figures_src/exN.py)
    recorder = ReadRecorder()
    recorder.see(path)
    cells = split_cells(read_text(path))
    values, written = run_cells(path, cells, timeout)
    recorder.see_imported_modules()
    mark_modules_used(cells)
    notebook = PROJECT.shown(path)
    files = sorted({PROJECT.shown(p) for p in [*written, *recorder.written]})
    modules = sorted(name for name, text in recorder.texts.items() if is_shown_module(name) and text.strip())
    record = {
        "notebook": notebook,
        "values": values,
        "cells": _mark_task_ranges([cell.as_record() for cell in cells]),
        "modules": [{"path": name, "source": recorder.texts[name]} for name in modules if name != notebook],
        "files": files,
        # A file the notebook wrote and read back is its output, not an input.
        "reads": {name: digest for name, digest in sorted(recorder.digests.items()) if name not in files},
    }
    write_atomically(PROJECT.results_of(path.stem), json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--timeout"):
        print(
            "usage: python -m pipeline.notebook figures_src/<notebook>.py [--timeout SECONDS]",
            file=sys.stderr,
        )
        return 2
    timeout = float(argv[2]) if len(argv) == 3 else 600.0
    start = time.perf_counter()
    try:
        record = run_notebook(Path(argv[0]), timeout)
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as error:  # writing the record: a full disk, a read-only folder
        print(BuildError((error.strerror or str(error)).lower(), error.filename), file=sys.stderr)
        return 1
    figures = sum(len(cell["figures"]) for cell in record["cells"])
    print(
        f"[notebook] {record['notebook']}: {len(record['cells'])} cells, {figures} figures, "
        f"{len(record['values'])} values ({time.perf_counter() - start:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
