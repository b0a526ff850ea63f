"""Every bad input gets one `path:line: error: message` line an editor can jump to.

Each test feeds a copy of the project something a user gets wrong, runs the real build
and reads what it says the way Vim's quickfix does (`%f:%l: %m`): the first entry must
name the right file and line, no Python traceback may appear (but a notebook cell's
own), and report/submission.pdf must be what it was.
"""

import codecs
import re
from pathlib import Path

import pytest
from conftest import pdf_to_text
from workspace import Workspace, checksum, quickfix

from pipeline.notebook import OUTPUT_LINES
from pipeline.paths import Layout


def failing(workspace: Workspace, **env: str) -> str:
    """Run make, expect it to fail, keep the PDF; return what it said on stderr."""
    before = checksum(workspace.pdf)
    done = workspace.run(["make", "--no-print-directory"], **env)
    assert done.returncode != 0, done.stdout
    assert checksum(workspace.pdf) == before
    return done.stderr


def first_error(said: str) -> tuple[str, int, str]:
    entries = quickfix(said)
    assert entries, f"no path:line: entry in:\n{said}"
    return entries[0]


def append_cell(workspace: Workspace, code: str) -> int:
    """Add a cell to ex2; return the line of its first code line."""
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    head = notebook + "\n# %% A cell added by the test\n"
    workspace.write("figures_src/ex2.py", head + code + "\n")
    return len(head.splitlines()) + 1


def add_template_line(workspace: Workspace, text: str) -> int:
    """Put `text` right after the \\section line of ex2's template; return its line."""
    lines = (workspace.root / "templates" / "ex2.tex").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(r"\section{")) + 1
    workspace.write("templates/ex2.tex", "\n".join([*lines[:at], text, *lines[at:]]) + "\n")
    return at + 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("float('nan')", "cell 11 raised PublishError: odd is nan: only finite numbers can be printed"),
        ("np.inf", "cell 11 raised PublishError: odd is inf: only finite numbers can be printed"),
        ("{'a': 1}", "cell 11 raised PublishError: odd: cannot publish dict"),
        ("None", "cell 11 raised PublishError: odd: cannot publish NoneType"),
        ("[1, 'two']", "cell 11 raised PublishError: odd[1]: cannot publish str"),
    ],
)
def test_publish_refuses_what_the_report_cannot_print(workspace: Workspace, value: str, message: str) -> None:
    line = append_cell(workspace, f"import numpy as np\npublish('odd', {value})")
    path, at, said = first_error(failing(workspace))
    assert (path, at) == ("figures_src/ex2.py", line + 1)
    assert said.startswith("error: " + message.replace("cell 11", f"cell {_cells(workspace)}"))


@pytest.mark.parametrize("name", ["values", "items", "keys"])
def test_publish_refuses_a_name_a_template_would_read_as_a_method(workspace: Workspace, name: str) -> None:
    line = append_cell(workspace, f"publish({name!r}, 1.0)")
    path, at, said = first_error(failing(workspace))
    assert (path, at) == ("figures_src/ex2.py", line)
    assert f"would read as the dictionary method {name}()" in said


def _cells(workspace: Workspace) -> int:
    from pipeline.notebook import split_cells

    return len(split_cells((workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")))


def test_published_text_arrays_and_latex_print_as_meant(workspace: Workspace) -> None:
    append_cell(
        workspace,
        "import numpy as np\nfrom pylatex.utils import NoEscape\n"
        "publish('progress', '50% done, {braces} & more_than_that')\n"
        "publish('widths', np.array([1.23456, 2.5, 3000]))\n"
        "publish('fraction', NoEscape(r'$\\tfrac{1}{2}$'))\n",
    )
    add_template_line(
        workspace, r"Text \VAR{ex2.progress} stays; list \VAR{ex2.widths}; half \VAR{ex2.fraction}."
    )
    workspace.make()
    text = pdf_to_text(workspace.pdf)
    assert "Text 50% done, {braces} & more_than_that stays; list 1.23, 2.5, 3,000; half 1" in text


def test_num_on_text_is_an_error_at_the_template_line(workspace: Workspace) -> None:
    append_cell(workspace, "publish('label', 'words')")
    line = add_template_line(workspace, r"A number: \VAR{ex2.label|num}.")
    said = failing(workspace)
    assert first_error(said) == (
        "templates/ex2.tex",
        line,
        "error: TypeError: a number is needed here, got str 'words'",
    )
    assert "Traceback" not in said


@pytest.mark.parametrize(
    ("relative", "bad_line"),
    [("templates/ex2.tex", 3), ("figures_src/ex2.py", 2), ("report.toml", 11)],
)
def test_a_file_saved_as_latin_1_is_an_error_at_its_first_bad_byte(
    workspace: Workspace, relative: str, bad_line: int
) -> None:
    path = workspace.root / relative
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[bad_line - 1] += " # Grüße" if relative.endswith(".py") else " % Grüße"
    if relative == "report.toml":
        lines[bad_line - 1] = 'name = "Jürgen Groß"'
    path.write_bytes("\n".join(lines).encode("latin-1") + b"\n")
    said = failing(workspace)
    assert first_error(said)[:2] == (relative, bad_line)
    assert "not UTF-8 text (byte 0xFC)" in said
    assert "Traceback" not in said


@pytest.mark.parametrize("relative", ["templates/ex2.tex", "figures_src/ex2.py", "report.toml"])
def test_a_byte_order_mark_is_no_text(workspace: Workspace, relative: str) -> None:
    """Some Windows editors start a UTF-8 file with the bytes EF BB BF: still the same file."""
    path = workspace.root / relative
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    done = workspace.make()
    assert "warning" not in done.stderr, done.stderr


def test_bytes_a_cell_writes_past_python_reach_the_terminal(workspace: Workspace) -> None:
    """os.write to the real stdout and stderr, bytes that are no UTF-8 among them."""
    append_cell(workspace, "import os\nos.write(1, b'out \\xff\\xfe\\n')\nos.write(2, b'err \\xff\\n')")
    done = workspace.make()
    assert "out \\xff\\xfe" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("epoch", ["", "yesterday", "-5"])
def test_a_bad_source_date_epoch_is_one_line(workspace: Workspace, epoch: str) -> None:
    said = failing(workspace, SOURCE_DATE_EPOCH=epoch)
    assert said.startswith(
        f"error: SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got {epoch!r}"
    )
    assert "Traceback" not in said


def test_cell_output_is_shown_as_a_terminal_shows_it(workspace: Workspace) -> None:
    append_cell(
        workspace,
        "title = '\\x1b]0;a window title\\x07'\n"
        "for shown in [title + '\\x1b[31mcoloured\\x1b[0m', 'nul:\\x00', 'ab\\bc', '10%\\r100%']:\n"
        "    print(shown)\n"
        "for i in range(5000):\n    print('line', i)",
    )
    workspace.make()
    code = pdf_to_text(Layout(workspace.root).code_pdf_of("ex2"))
    assert "coloured nul:^@ ac 100% line 0" in code
    last = OUTPUT_LINES - 4 - 1  # the four lines above, then the loop's from line 0
    assert f"line {last} ... {5004 - OUTPUT_LINES} more lines" in code


def test_a_long_unbroken_code_line_is_broken_not_cut(workspace: Workspace) -> None:
    url = "https://example.org/" + "a" * 200 + "/end"
    append_cell(workspace, f"URL = {url!r}")
    workspace.make()
    log = (workspace.layout.code / "build" / "ex2.log").read_text(encoding="utf-8")
    assert "Overfull" not in log
    code = re.sub(r"\s|,→|⌋", "", pdf_to_text(Layout(workspace.root).code_pdf_of("ex2")))
    assert url in code


def test_a_figure_larger_than_the_text_area_is_an_error_at_the_line_that_saved_it(
    workspace: Workspace,
) -> None:
    line = append_cell(workspace, "fig = new_figure(width=1.0, aspect=2.0)\nsave_figure(fig, 'ex2-tall')")
    path, at, said = first_error(failing(workspace))
    assert (path, at) == ("figures_src/ex2.py", line + 1)
    assert "figure ex2-tall is 15.0 x 30.0 cm, larger than the text area of 15 x 24 cm" in said


def test_two_notebooks_saving_one_figure_name_is_an_error_where_it_is_saved(workspace: Workspace) -> None:
    """They would overwrite each other's figure at every build, the PDF showing either."""
    line = append_cell(workspace, "fig = new_figure()\nsave_figure(fig, 'ex1-wave')")
    path, at, said = first_error(failing(workspace))
    assert (path, at) == ("figures_src/ex2.py", line + 1)
    assert "figures_src/ex1.py saves ex1-wave too" in said
    assert first_error(failing(workspace))[:2] == (path, at)  # and at the next make, too


def test_an_include_of_a_missing_file_is_an_error_at_its_line(workspace: Workspace) -> None:
    line = add_template_line(workspace, "\\BLOCK{include 'parts/nosuch.tex'}")
    path, at, said = first_error(failing(workspace))
    assert (path, at) == ("templates/ex2.tex", line)
    assert "TemplateNotFound: parts/nosuch.tex is not in templates/" in said and "Traceback" not in said


def test_a_missing_package_is_an_error_at_its_usepackage_line(workspace: Workspace) -> None:
    preamble = (workspace.root / "templates" / "preamble.tex").read_text(encoding="utf-8")
    workspace.write(
        "templates/preamble.tex", preamble.replace(r"\usepackage{needspace}", r"\usepackage{nosuchpkg}")
    )
    line = preamble.splitlines().index(r"\usepackage{needspace}") + 1
    said = failing(workspace)
    assert first_error(said)[:2] == ("templates/preamble.tex", line)
    assert "apt-file search nosuchpkg.sty" in said


@pytest.mark.parametrize(
    ("lines", "error_line"),
    [
        ([r"Math $x^2 left open and", "still going.", ""], 2),  # noticed at the paragraph's end
        ([r"Some \textbf{bold text that never", "closes here.", ""], 1),  # noticed at the file's end
    ],
)
def test_a_latex_error_noticed_later_is_reported_at_its_template_line(
    workspace: Workspace, lines: list[str], error_line: int
) -> None:
    first = add_template_line(workspace, "\n".join(lines))
    said = failing(workspace)
    assert first_error(said)[:2] == ("templates/ex2.tex", first + error_line - 1)


def test_a_misspelt_key_in_report_toml_suggests_the_right_one(workspace: Workspace) -> None:
    config = (workspace.root / "report.toml").read_text(encoding="utf-8")
    workspace.write("report.toml", config.replace('name = "Alan Turing"', 'nmae = "Alan Turing"'))
    line = config.splitlines().index('name = "Alan Turing"') + 1
    said = failing(workspace)
    assert first_error(said) == ("report.toml", line, "error: unknown key 'nmae' in [[members]]")
    assert "did you mean 'name'?" in said


def test_a_venv_from_another_python_is_made_anew_with_a_line_saying_why(
    workspace: Workspace, tmp_path: Path
) -> None:
    other = tmp_path / "other-python" / "python3"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")  # a Python that is not 3.11
    other.chmod(0o755)
    done = workspace.make(f"PYTHON={other}", check=False)
    assert done.returncode != 0
    assert (
        "[setup] .venv was made by another Python or from another requirements.txt; making it anew"
        in done.stdout
    )
    assert f"error: {other} is not Python 3.11 or newer" in done.stderr
    assert (workspace.root / ".venv").is_symlink(), "the venv was removed before a usable Python was found"
