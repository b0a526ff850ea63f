"""A cell runs in the build as it runs in Jupyter, and the appendix shows what an exported
notebook would show.

A small notebook of its own (figures_src/ex4.py with templates/ex4.tex, in a throw-away
copy of the project) exercises each point: bare expressions of several types, display()
of math, markdown and a figure, logging across cells, a pickled dataclass and a pool of
two processes, `#%%` markers, a helper module outside figures_src/. What Jupyter shows
for these cells was recorded once with nbclient (a python3 kernel, as
`jupyter nbconvert --execute` runs it) and is written out below.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
from conftest import pdf_to_text
from nbclient import NotebookClient
from workspace import Workspace, copy_project, quickfix

from pipeline.notebook import split_cells

NOTEBOOK = """\
# %% [markdown]
# # Exercise 4: cells as Jupyter runs them

# %% Setup
import logging
import pickle
import warnings
from dataclasses import dataclass
from multiprocessing import Pool

import matplotlib.pyplot as plt
import numpy as np
import sympy
from IPython.display import Markdown, Math, display

from pipeline.publish import new_figure, publish, save_figure
from lib.helpers import double

logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
log = logging.getLogger("ex4")

#%% 4(a) Bare expressions
gram = np.arange(9).reshape(3, 3)
gram.shape

# %% 4(a) A value hidden by a semicolon
41 + 1;

# %% 4(a) A formula
x = sympy.Symbol("x")
sympy.expand((x + 1) ** 2)

#%% 4(b) Math, markdown and a figure, displayed
display(Math(r"\\int_0^1 t\\,dt = \\frac{1}{2}"))
display(Markdown("Some **bold** words"))
fig, ax = plt.subplots(figsize=(2, 1))
ax.plot([0, 1], [0, 1])
plt.show()

# %% 4(c) Logging in a later cell, between printed lines
print("before")
log.info("logged in a later cell")
warnings.warn("careful", stacklevel=1)
print("after")


# %% 4(d) A dataclass pickled, a pool of two processes
@dataclass
class Point:
    x: int
    y: int


def square(n: int) -> int:
    return n * n


restored = pickle.loads(pickle.dumps(Point(1, 2)))
with Pool(2) as pool:
    squares = pool.map(square, [1, 2, 3])
publish("doubled", double(21))
restored, squares

# %% 4(e) A figure saved at the end of the cell
fig = new_figure(width=0.3, aspect=0.5)
fig.gca().plot([0, 1], [1, 0])
save_figure(fig, "ex4-line")

# %% 4(f) A figure left open
plt.figure(figsize=(1, 1))
plt.plot([0, 1]);
"""

HELPER = '''\
"""A helper outside figures_src/."""


def double(n: int) -> int:
    """Twice n."""
    return 2 * n
'''

TEMPLATE = r"""\section{Cells}
\task{a}{Values} The shape \coderef{4(a)}; twice 21 is \VAR{ex4.doubled}.
\task{b}{Displays} Displayed \coderef{4(b)}.
\task{c}{Streams} Logged \coderef{4(c)}.
\task{d}{Processes} Pickled \coderef{4(d)}.
\task{e}{Figures} Saved \coderef{4(e)}.
\task{f}{Open figures} Left open \coderef{4(f)}.
"""

# What Jupyter shows under each code cell (by the cell's number in the file), recorded
# with nbclient: a value's text/plain, or the LaTeX that nbconvert's LaTeX export
# prefers to it; a display's markdown; a figure (a PNG of about 200 x 100 pixels).
JUPYTER = {
    2: [],
    3: [{"type": "text", "text": "(3, 3)\n"}],
    4: [],
    5: [{"type": "latex", "source": r"$\displaystyle x^{2} + 2 x + 1$"}],
    6: [
        {"type": "latex", "source": r"$\displaystyle \int_0^1 t\,dt = \frac{1}{2}$"},
        {"type": "markdown", "source": "Some **bold** words"},
        {"type": "picture"},
    ],
    8: [{"type": "text", "text": "(Point(x=1, y=2), [1, 4, 9])\n"}],
    9: [],
    10: [{"type": "picture"}],
}
# Cell 7's streams, as Jupyter shows them: each stream's text. The kernel sends its
# stdout and stderr apart (their order under the cell depends on when it flushes);
# the build keeps the order they were written in. A warning names the notebook's file
# and line where the kernel names a temporary file of its own.
JUPYTER_STREAMS = {
    "stdout": "before\nafter\n",
    "stderr": "INFO:ex4:logged in a later cell\n"
    "{file}:3: UserWarning: careful\n"
    '  warnings.warn("careful", stacklevel=1)\n',
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, engine: Workspace) -> Workspace:
    workspace = copy_project(tmp_path_factory.mktemp("cells") / "project", engine.root)
    workspace.write("figures_src/ex4.py", NOTEBOOK)
    workspace.write("lib/helpers.py", HELPER)
    workspace.write("templates/ex4.tex", TEMPLATE)
    workspace.make()
    return workspace


def record(workspace: Workspace) -> dict:
    return json.loads(workspace.layout.results_of("ex4").read_text(encoding="utf-8"))


def appendix(workspace: Workspace) -> str:
    text = pdf_to_text(workspace.pdf, raw=True)
    return text[text.index("Code and output: figures_src/ex4.py") :]


def between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_each_cell_shows_what_jupyter_shows(built: Workspace) -> None:
    cells = {cell["number"]: cell for cell in record(built)["cells"]}
    for number, expected in JUPYTER.items():
        shown = [
            {key: value for key, value in output.items() if key in ("type", "text", "source")}
            for output in cells[number]["outputs"]
        ]
        assert shown == expected, f"cell {number}"
    # 2 inches wide, cropped to what is drawn as Jupyter's inline backend crops it.
    assert abs(cells[6]["outputs"][2]["width_cm"] - 5.08) < 0.2
    logged = cells[7]
    assert logged["output"] == JUPYTER_STREAMS["stdout"]
    assert logged["stderr"] == JUPYTER_STREAMS["stderr"].replace("{file}:3", "figures_src/ex4.py:43")
    assert [output["type"] for output in logged["outputs"]] == ["stdout", "stderr", "stdout"]


def test_the_appendix_shows_values_math_displays_and_streams_in_order(built: Workspace) -> None:
    text = appendix(built)  # ex4 is the third notebook beside the fixture's ex1 and ex2: cells C.n
    assert "(3, 3)" in between(text, "Cell C.3", "Cell C.4")
    assert "output" not in between(text, "Cell C.4", "Cell C.5")  # `41 + 1;` shows nothing
    assert "x2 + 2x + 1" in between(text, "Cell C.5", "Cell C.6")  # typeset, not x**2 + 2*x + 1
    displayed = between(text, "Cell C.6", "Cell C.7").partition(" output ")[2]
    assert "t dt =" in displayed and "Some bold words" in displayed and "**" not in displayed
    assert all(tick in displayed for tick in ("0.0", "0.5", "1.0"))  # the figure's axes, in vector
    streams = between(text, "Cell C.7", "Cell C.8").partition(" output ")[2]
    lines = [
        "before",
        "INFO:ex4:logged in a later cell",
        "figures_src/ex4.py:43: UserWarning: careful",
        "after",
    ]
    assert [streams.index(line) for line in lines] == sorted(streams.index(line) for line in lines)
    assert "(Point(x=1, y=2), [1, 4, 9])" in between(text, "Cell C.8", "Cell C.9")
    assert "twice 21 is 42" in pdf_to_text(built.pdf)


def test_a_cell_ending_in_save_figure_shows_the_figure_and_no_path(built: Workspace) -> None:
    saved = record(built)["cells"][8]
    assert (saved["number"], saved["outputs"], saved["figures"]) == (9, [], ["ex4-line"])
    text = appendix(built)
    assert "ex4-line.pdf, shown as" in text
    assert "PosixPath" not in text and str(built.root) not in text


def test_a_module_outside_figures_src_is_shown_after_the_cells_using_it(built: Workspace) -> None:
    cells = record(built)["cells"]
    assert [cell["number"] for cell in cells if "lib/helpers.py" in cell["uses"]] == [8]
    assert "Module lib/helpers.py, used by the cells above" in appendix(built)


def test_cells_are_where_jupytext_puts_them() -> None:
    """`#%%` starts a cell; a marker inside a string does not; markdown as jupytext says."""
    source = NOTEBOOK + '\n#%% A string\ntext = """\n# %% not a cell\n"""\n# %% [md]\n# *prose*\n'
    cells = split_cells(source)
    notebook = jupytext.reads(source, fmt="py:percent")
    assert [(cell.kind, cell.body) for cell in cells] == [(c.cell_type, c.source) for c in notebook.cells]
    lines = source.splitlines()
    for cell in (cell for cell in cells if cell.kind == "code"):  # the code runs at the file's lines
        assert (
            lines[cell.body_line - 1 : cell.body_line - 1 + len(cell.body.splitlines())]
            == cell.body.splitlines()
        )
    assert [cell.title for cell in cells][2:4] == [
        "4(a) Bare expressions",
        "4(a) A value hidden by a semicolon",
    ]


def test_the_notebook_runs_as_a_script_from_any_folder_with_the_same_values(
    built: Workspace, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, str(built.root / "figures_src" / "ex4.py")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(built.root), "MPLBACKEND": "agg", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # the pickled dataclass and the pool too
    shown = [
        "<IPython.core.display.Math object>",
        "<IPython.core.display.Markdown object>",
        "before",
        "after",
    ]
    assert done.stdout.splitlines() == shown  # display() without a front end prints
    assert "INFO:ex4:logged in a later cell" in done.stderr


@pytest.mark.parametrize(
    ("code", "line", "message"),
    [
        ("y = 2\nvalue = 1 / 0\n", 8, "raised ZeroDivisionError: division by zero"),
        ("y = (\n", 7, "raised SyntaxError: incomplete input (ex5.py, line 7)"),
        ("\nexit(3)\n", 8, "called exit(3): a cell must not end the notebook's run"),
    ],
)
def test_a_failing_cell_is_named_at_its_own_line(
    built: Workspace, code: str, line: int, message: str
) -> None:
    built.write("figures_src/ex5.py", f"# %% A\nprint('a')\n\n# %% B\n\n# comment\n{code}")
    command = [sys.executable, "-m", "pipeline.notebook", "figures_src/ex5.py"]
    done = built.run(command, PYTHONPATH=str(built.root))
    (built.root / "figures_src" / "ex5.py").unlink()
    assert quickfix(done.stderr)[0] == ("figures_src/ex5.py", line, f"error: cell 2 {message}")
    assert "pipeline/" not in done.stderr and str(built.root) not in done.stderr
    assert re.match(r"figures_src/ex5\.py:\d+: error", done.stderr)


def test_a_tikz_picture_is_shown_inline_in_a_kernel(
    built: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As JupyterLab and VS Code run a cell: a kernel in figures_src/, the inline backend."""
    monkeypatch.setenv("PYTHONPATH", str(built.root))  # the copy's modules, not the checkout's
    monkeypatch.delenv("MPLBACKEND", raising=False)
    source = (
        "# %%\nfrom pipeline.publish import save_tikz\n\n"
        '# %%\nsave_tikz(r"\\begin{tikzpicture}\\draw (0,0) -- (2.54,1);\\end{tikzpicture}", "ex6-line")\n'
    )
    notebook = jupytext.reads(source, fmt="py:percent")
    folder = str(built.root / "figures_src")
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": folder}}
    ).execute()
    outputs = notebook.cells[1].outputs
    assert [output["output_type"] for output in outputs] == ["display_data"]  # and no value
    assert outputs[0]["data"]["image/png"]
    # At its printed size: an inch (96 CSS pixels), its line and the 1 pt borders.
    assert 96 < outputs[0]["metadata"]["image/png"]["width"] < 102


def test_the_shell_adds_no_reads(built: Workspace) -> None:
    """What the notebook read decides when it reruns: IPython's own files are none of it."""
    reads = record(built)["reads"]
    assert {"figures_src/ex4.py", "lib/helpers.py"} <= reads.keys()
    assert [name for name, digest in reads.items() if digest is None] == []
