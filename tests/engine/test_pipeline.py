"""The build pipeline end to end: title block, task headings, escaping, determinism,
incremental rebuilds. Every test builds or reads a real PDF of the engine's own sheet
with real TeX."""

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from conftest import pdf_to_text
from workspace import Workspace, checksum

from pipeline.paths import PROJECT

TASK_LABELS = ["1(a)", "1(b)", "1(c)", "2(a)", "2(b)", "2(c)"]  # the fixture's tasks
AWKWARD_NAME = "Jürgen Groß & Ana_María {O'Neil} 100%"


def pdf_info(pdf: Path) -> dict[str, str]:
    text = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"^([^:\n]+):[ \t]*(.*)$", text, flags=re.MULTILINE))


def test_title_block_holds_both_members_and_the_group(engine: Workspace, engine_text: str) -> None:
    config = tomllib.loads(engine.layout.config.read_text(encoding="utf-8"))
    assert len(config["members"]) == 2
    for member in config["members"]:
        assert member["name"] in engine_text
        assert member["matriculation"] in engine_text
    assert f"Tutorial group {config['submission']['tutorial_group']}" in engine_text


def test_every_task_has_its_heading_in_order(engine_text: str) -> None:
    positions = [engine_text.find(f" {label} ") for label in TASK_LABELS]
    assert -1 not in positions, [label for label, at in zip(TASK_LABELS, positions, strict=True) if at < 0]
    assert positions == sorted(positions)


def test_awkward_names_print_exactly_as_written(workspace: Workspace) -> None:
    config = workspace.root / "report.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('"Ada Lovelace"', f'"{AWKWARD_NAME}"'), encoding="utf-8"
    )
    workspace.make()
    assert AWKWARD_NAME in pdf_to_text(workspace.pdf)
    assert AWKWARD_NAME in pdf_info(workspace.pdf)["Author"]


def test_two_clean_builds_are_byte_identical(workspace: Workspace) -> None:
    """The copy's PDF is the engine project's, built from clean (conftest.py's `engine`)."""
    first = checksum(workspace.pdf)
    workspace.make("clean")
    workspace.make("-j2")
    assert checksum(workspace.pdf) == first


def test_noop_make_runs_nothing(workspace: Workspace) -> None:
    workspace.make()
    done = workspace.make()
    assert not re.search(r"^\[\w+\]", done.stdout, flags=re.MULTILINE), done.stdout


def test_each_template_edit_recompiles_without_running_a_notebook(workspace: Workspace) -> None:
    """Two edits with a build after each: each recompiles, the PDF shows it, and a make
    after it has nothing left to do. The second edit is seen only if the stamp the
    recompile wrote holds the template at its new content."""
    workspace.make()
    figures = {p: p.stat().st_mtime_ns for p in workspace.layout.figures.iterdir()}
    template = (workspace.root / "templates" / "ex2.tex").read_text(encoding="utf-8")
    for sentence in ("A first edited sentence.", "A second edited sentence."):
        workspace.write("templates/ex2.tex", template.replace(r"\section{", f"{sentence}\n\\section{{", 1))
        done = workspace.make()
        assert "[notebook]" not in done.stdout
        assert "[latex]" in done.stdout
        assert sentence in pdf_to_text(workspace.pdf)
        assert "up to date" in workspace.make().stdout
    assert {p: p.stat().st_mtime_ns for p in figures} == figures


def test_each_notebook_edit_reruns_only_that_notebook(workspace: Workspace) -> None:
    """Two edits of ex2 with a build after each: each reruns ex2 alone, the PDF shows
    what it computed, and a make after it has nothing left to do. The second edit is seen
    only if the stamp the rerun wrote holds the notebook's own file at its new content."""
    workspace.make()
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    for product, count in (("3 * 5", "15"), ("3 * 7", "21")):
        workspace.write("figures_src/ex2.py", notebook.replace("count = 3 * 4", f"count = {product}", 1))
        done = workspace.make()
        assert re.findall(r"\[notebook\] (\S+): \d+ cells", done.stdout) == ["figures_src/ex2.py"], (
            done.stdout
        )
        assert f"Three rows of four make {count}" in pdf_to_text(workspace.pdf)
        assert "up to date" in workspace.make().stdout


def test_make_figures_reruns_every_notebook_and_no_latex(workspace: Workspace) -> None:
    done = workspace.make("figures")
    notebooks = sorted(
        p.relative_to(workspace.root).as_posix() for p in (workspace.root / "figures_src").glob("ex*.py")
    )
    assert sorted(re.findall(r"\[notebook\] (\S+): \d+ cells", done.stdout)) == notebooks
    assert "[latex]" not in done.stdout


def test_the_format_route_and_the_plain_route_give_the_same_pages(workspace: Workspace) -> None:
    """The preloaded preamble is only a cache: same text, same pixels as latexmk alone."""
    workspace.make()
    fast = workspace.root / "fast.pdf"
    shutil.copy(workspace.pdf, fast)
    build = subprocess.run(
        [str(workspace.root / ".venv" / "bin" / "python"), "-c",
         "from pathlib import Path; from pipeline.latex import compile_document; "
         "compile_document(Path('report/build'), 'submission', 1700000000, plain=True)"],
        cwd=workspace.root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    plain = workspace.layout.build / "submission.pdf"
    assert pdf_to_text(plain) == pdf_to_text(fast)
    for name, pdf in (("fast", fast), ("plain", plain)):
        subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(workspace.root / name)], check=True)
    fast_pages = sorted(workspace.root.glob("fast-*.pgm"))
    plain_pages = sorted(workspace.root.glob("plain-*.pgm"))
    assert len(fast_pages) == len(plain_pages) > 3
    for a, b in zip(fast_pages, plain_pages, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs"


def test_a_broken_format_is_rebuilt_and_never_fails_the_build(workspace: Workspace) -> None:
    workspace.make()
    (fmt,) = workspace.layout.build.glob("preamble-*.fmt")
    fmt.write_bytes(b"not a format")
    workspace.edit("templates/ex2.tex", r"\section{", "After a broken format.\n\\section{")
    workspace.make()
    assert "After a broken format." in pdf_to_text(workspace.pdf)
    assert fmt.stat().st_size > 1_000_000


def test_make_help_lists_every_target() -> None:
    makefile = (PROJECT.root / "Makefile").read_text(encoding="utf-8")
    targets = re.search(r"^\.PHONY: (.*)$", makefile, flags=re.MULTILINE).group(1).split()
    helped = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=PROJECT.root, capture_output=True, text=True, check=True
    )
    listed = re.findall(r"^make(?: ([\w-]+))?\s", helped.stdout, flags=re.MULTILINE)
    assert sorted(name or "all" for name in listed) == sorted(t for t in targets if t != "setup")


def test_a_build_lists_the_printed_values_it_changed(workspace: Workspace) -> None:
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    cell = '\n# %% A value that changes\npublish("changing", {})\n'
    workspace.write("figures_src/ex2.py", notebook + cell.format(1.5))
    line = add_line_after_section(workspace, "templates/ex2.tex", r"Changing: \VAR{ex2.changing}.")
    workspace.make()
    workspace.write("figures_src/ex2.py", notebook + cell.format(2.5))
    done = workspace.make()
    assert f"templates/ex2.tex:{line}: ex2.changing 1.5 -> 2.5" in done.stdout
    assert "Changing: 2.5." in pdf_to_text(workspace.pdf)


def add_line_after_section(workspace: Workspace, template: str, text: str) -> int:
    lines = (workspace.root / template).read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(r"\section{")) + 1
    workspace.write(template, "\n".join([*lines[:at], text, *lines[at:]]) + "\n")
    return at + 1


def test_a_cells_warnings_are_shown_apart_from_its_output(workspace: Workspace) -> None:
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    cell = "\n# %% Warns\nimport warnings\nprint('printed normally')\nwarnings.warn('a careful warning')\n"
    workspace.write("figures_src/ex2.py", notebook + cell)
    workspace.make()
    record = json.loads(workspace.layout.results_of("ex2").read_text(encoding="utf-8"))
    last = record["cells"][-1]
    assert last["output"] == "printed normally\n"
    assert "UserWarning: a careful warning" in last["stderr"]
    assert "figures_src/ex2.py:" in last["stderr"] and str(workspace.root) not in last["stderr"]
    code = pdf_to_text(workspace.layout.code_pdf_of("ex2"))
    assert code.index("printed normally") < code.index("UserWarning: a careful warning")
