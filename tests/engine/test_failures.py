"""Bad input gets a clear error naming the file and line, and the last good PDF survives.

Each test breaks a copy of the project the way a user might, runs the real build, and
checks the message and that report/submission.pdf is byte for byte what it was.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import pdf_to_text
from workspace import Workspace, checksum, quickfix

from pipeline.diagnostics import explain_missing_file

TEMPLATE = "templates/ex2.tex"
HEAD = '[submission]\ncourse = "c"\nsheet = "s"\ntutorial_group = "1"\n'


def insert_after_section(workspace: Workspace, text: str) -> int:
    """Put `text` on its own line right after the exercise's \\section line; return its line."""
    path = workspace.root / TEMPLATE
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(r"\section{")) + 1
    workspace.write(TEMPLATE, "\n".join([*lines[:at], text, *lines[at:]]) + "\n")
    return at + 1


def failing_build(workspace: Workspace) -> str:
    """Run make, expect it to fail and leave the PDF untouched; return what it said."""
    before = checksum(workspace.pdf)
    done = workspace.make(check=False)
    assert done.returncode != 0, done.stdout
    assert checksum(workspace.pdf) == before
    assert "last good one" in done.stderr
    return done.stderr


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        (r"\BLOCK{if}", "TemplateSyntaxError"),
        (r"\VAR{ex2.no_such_value}", "no_such_value"),
        (r"\VAR{1 | no_such_filter}", "no_such_filter"),
        (r"A \nosuchmacro here.", "unknown command"),
        (r"Subscripts x_1 outside math.", "math outside math mode"),
        (r"\includegraphics{ex2-no-such-figure}", "no figure or file named ex2-no-such-figure"),
        (r"See Figure~\ref{fig:no-such-label}.", "undefined reference: fig:no-such-label"),
    ],
)
def test_template_errors_name_the_template_line(workspace: Workspace, bad_line: str, expected: str) -> None:
    line = insert_after_section(workspace, bad_line)
    message = failing_build(workspace)
    assert expected in message
    assert quickfix(message)[0][:2] == (TEMPLATE, line), message
    assert f"\n    {bad_line}\n" in message


def test_a_brace_left_open_names_the_template(workspace: Workspace) -> None:
    insert_after_section(workspace, r"\textbf{never closed")
    message = failing_build(workspace)
    assert TEMPLATE in message
    assert "{ without its }" in message


def test_the_fix_after_a_failure_builds_without_make_clean(workspace: Workspace) -> None:
    original = (workspace.root / TEMPLATE).read_text(encoding="utf-8")
    insert_after_section(workspace, r"\textbf{never closed")
    failing_build(workspace)
    workspace.write(TEMPLATE, original + "\nFixed again.\n")
    workspace.make()
    assert "Fixed again." in pdf_to_text(workspace.pdf)


def test_overfull_lines_are_warnings_with_their_template_line(workspace: Workspace) -> None:
    line = insert_after_section(workspace, "Word" * 60 + ".")
    done = workspace.make()
    assert f"{TEMPLATE}:{line}: warning: a line sticks out" in done.stderr
    assert "pt into the margin" in done.stderr


def test_a_missing_package_names_its_debian_package(workspace: Workspace) -> None:
    assert "texlive-latex-extra" in explain_missing_file("File `fvextra.sty' not found.")
    path = workspace.root / "templates" / "preamble.tex"
    text = path.read_text(encoding="utf-8")
    workspace.write(
        "templates/preamble.tex", text.replace(r"\usepackage{needspace}", r"\usepackage{nosuchpkg}")
    )
    message = failing_build(workspace)
    assert "templates/preamble.tex:" in message
    assert "apt-file search nosuchpkg.sty" in message


def test_missing_tex_names_the_debian_packages(workspace: Workspace) -> None:
    workspace.edit("templates/ex2.tex", r"\section{", "Edited.\n\\section{")
    before = checksum(workspace.pdf)
    python = str(workspace.root / ".venv" / "bin" / "python")
    done = workspace.run([python, "build.py"], PATH=str(Path(os.__file__).parent), SOURCE_DATE_EPOCH="0")
    assert done.returncode != 0
    assert "apt-get install -y --no-install-recommends latexmk texlive-latex-base" in done.stderr
    path, line, _ = quickfix(done.stderr)[0]
    assert (workspace.root / path).read_text(encoding="utf-8").splitlines()[line - 1].startswith("latexmk")
    assert checksum(workspace.pdf) == before


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, "report.toml: error: file not found"),
        ('[submission]\ncourse = "x\n', "report.toml:2: error: TOML syntax error"),
        (HEAD + '[[members]]\nmatriculation = "7"\n', "report.toml:5: error: 'name' is missing or empty"),
        (HEAD + '[[members]]\nname = "  "\n', "report.toml:6: error: 'name' is missing or empty"),
        (
            '[submission]\ncourse = "c"\nsheet = ["s"]\ntutorial_group = "1"\n[[members]]\nname = "A"\n',
            "report.toml:3: error: 'sheet' must be text, got list",
        ),
        ('[[members]]\nname = "A"\n', "report.toml:1: error: the table [submission] is missing"),
    ],
)
def test_config_errors_are_one_clear_message(workspace: Workspace, config: str | None, expected: str) -> None:
    path = workspace.root / "report.toml"
    if config is None:
        path.unlink()
    else:
        workspace.write("report.toml", config)
    assert expected in failing_build(workspace)


def test_a_single_member_is_a_warning_not_an_error(workspace: Workspace) -> None:
    text = (workspace.root / "report.toml").read_text(encoding="utf-8")
    workspace.write("report.toml", text[: text.rindex("[[members]]")])
    done = workspace.make()
    assert "warning: 1 member(s) listed" in done.stderr


def test_a_notebook_that_raises_leaves_no_partial_figure(workspace: Workspace) -> None:
    notebook = workspace.root / "figures_src" / "ex2.py"
    workspace.write(
        "figures_src/ex2.py",
        notebook.read_text(encoding="utf-8")
        + "\n# %%\nfig = new_figure()\nfig.add_subplot().plot([1, 2])\nfig.suptitle(r'$\\undefinedmath$')\n"
        + "save_figure(fig, 'ex2-broken')\n",
    )
    message = failing_build(workspace)
    assert quickfix(message)[0][0] == "figures_src/ex2.py"
    assert ": error: cell " in message
    assert not list(workspace.layout.figures.glob("*.partial"))
    assert not (workspace.layout.figures / "ex2-broken.pdf").exists()


def test_a_compile_killed_midway_recovers_on_the_next_make(workspace: Workspace) -> None:
    before = checksum(workspace.pdf)
    workspace.edit("templates/ex2.tex", r"\section{", "Interrupted edit.\n\\section{")
    build = subprocess.Popen(
        ["make", "--no-print-directory"],
        cwd=workspace.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    build_dir = workspace.layout.build
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and build.poll() is None
        and not (build_dir / ".submission.compiling").exists()
    ):
        time.sleep(0.005)
    time.sleep(0.2)  # well inside pdflatex
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    assert checksum(workspace.pdf) == before
    assert build.returncode != 0, "the build finished before it could be killed"
    # What a kill during a pass can leave behind: a truncated .aux.
    (build_dir / "submission.aux").write_text("\\relax\n\\newlabel{broken", encoding="utf-8")
    workspace.make()
    assert "Interrupted edit." in pdf_to_text(workspace.pdf)
