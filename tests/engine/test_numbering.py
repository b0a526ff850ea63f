"""Exercises and tasks keep the sheet's numbers, whatever is left out or moved.

An exercise's number is its file's (templates/ex5.tex is exercise 5), a task's letter is
written with it (`\\task{c}{Title}`), and every link (a cell's "answers 2(c)", a bookmark)
lands on the task it names. Each test edits a copy of the project and builds it for real.
"""

import re
import subprocess
from pathlib import Path

import pytest
from conftest import bookmarks_of, pdf_to_text
from pypdf import PdfReader
from workspace import Workspace, checksum, quickfix

from pipeline.notebook import split_cells


def links(pdf: Path) -> dict[str, list[int]]:
    """Each named link target the pages link to, with the pages (from 1) that link to it."""
    found: dict[str, list[int]] = {}
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action and action.get("/S") == "/GoTo":
                found.setdefault(str(action["/D"]), []).append(number)
    return found


def target_pages(pdf: Path) -> dict[str, int]:
    """Each named link target of the PDF and its page (from 1)."""
    reader = PdfReader(pdf)
    return {
        name: reader.get_destination_page_number(dest) + 1 for name, dest in reader.named_destinations.items()
    }


def failing(workspace: Workspace) -> tuple[str, int, str]:
    """Run make, expect it to fail and keep the PDF; the first path:line: entry it printed."""
    before = checksum(workspace.pdf)
    done = workspace.run(["make", "--no-print-directory"])
    assert done.returncode != 0, done.stdout
    assert checksum(workspace.pdf) == before
    assert "Traceback" not in done.stderr, done.stderr
    entries = quickfix(done.stderr)
    assert entries, done.stderr
    return entries[0]


def template_lines(workspace: Workspace, name: str) -> list[str]:
    return (workspace.root / "templates" / name).read_text(encoding="utf-8").splitlines()


def write_lines(workspace: Workspace, name: str, lines: list[str]) -> None:
    workspace.write(f"templates/{name}", "\n".join(lines) + "\n")


def line_of(lines: list[str], start: str) -> int:
    """The number (from 1) of the first line that starts with `start`."""
    return next(number for number, line in enumerate(lines, start=1) if line.startswith(start))


def without_task(lines: list[str], letter: str) -> list[str]:
    """The template without the task's heading and text (up to the next task)."""
    start = line_of(lines, f"\\task{{{letter}}}") - 1
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("\\task{")), len(lines))
    return lines[:start] + lines[end:]


def test_the_sheet_numbers_and_every_link_resolves(engine: Workspace) -> None:
    titles = [title.split(" ", 1)[0] for title in bookmarks_of(engine.pdf)]
    tasks = [title for title in titles if re.fullmatch(r"\d\([a-z]\)", title)]
    assert tasks == ["1(a)", "1(b)", "1(c)", "2(a)", "2(b)", "2(c)"]  # the fixture's
    targets = target_pages(engine.pdf)
    assert set(links(engine.pdf)) <= set(targets), set(links(engine.pdf)) - set(targets)


def test_a_deleted_task_renumbers_no_other_and_its_cells_still_link_to_it(workspace: Workspace) -> None:
    """Deleting 2(b) leaves 2(c) as 2(c), in the text, the bookmarks and the appendix."""
    write_lines(workspace, "ex2.tex", without_task(template_lines(workspace, "ex2.tex"), "b"))
    workspace.make()
    marks = bookmarks_of(workspace.pdf)
    assert not any(title.startswith("2(b)") for title in marks)
    task_page = next(page for title, page in marks.items() if title.startswith("2(c) A ratio"))
    assert target_pages(workspace.pdf)["subsection.2.3"] == task_page
    assert "subsection.2.3" in links(workspace.pdf)  # the appendix's "answers 2(c)"


def test_moved_tasks_and_a_skipped_letter_keep_their_letters(workspace: Workspace) -> None:
    """Tasks written c, a (b left out) print as 2(c) and 2(a), in that order."""
    lines = without_task(template_lines(workspace, "ex2.tex"), "b")
    a, c = line_of(lines, r"\task{a}") - 1, line_of(lines, r"\task{c}") - 1
    write_lines(workspace, "ex2.tex", lines[:a] + lines[c:] + lines[a:c])
    workspace.make()
    titles = [title.split(" ", 1)[0] for title in bookmarks_of(workspace.pdf)]
    assert titles[titles.index("2") + 1 : titles.index("A")] == ["2(c)", "2(a)"]
    assert set(links(workspace.pdf)) <= set(target_pages(workspace.pdf))


def test_an_exercise_is_numbered_by_its_file_name(workspace: Workspace) -> None:
    """templates/ex5.tex without an ex4.tex is exercise 5, its task (b) is 5(b)."""
    workspace.write(
        "templates/ex5.tex", "\\section{An extra exercise}\n\\task{b}{Only the second task}\nText.\n"
    )
    workspace.make()
    marks = bookmarks_of(workspace.pdf)
    assert "5 An extra exercise" in marks and "5(b) Only the second task" in marks
    assert not any(title.startswith("4") for title in marks)


@pytest.mark.parametrize(
    ("heading", "message"),
    [
        (r"\subsection{Counted}", r"error: a task is written \task{letter}{Title}, not \subsection{Title}"),
        (
            r"\section{A second exercise}",
            r"error: a second \section in an exercise would take the next exercise's number",
        ),
        (r"\task{B}{Upper case}", r"error: \task{B}: a task's letter is one of a to z, as on the sheet"),
        (r"\task{bb}{Two letters}", r"error: \task{bb}: a task's letter is one of a to z, as on the sheet"),
        (r"\task{b}{The same letter again}", "error: task 2(b) is defined twice"),
    ],
)
def test_a_heading_that_would_not_keep_the_sheet_number_is_an_error_at_its_line(
    workspace: Workspace, heading: str, message: str
) -> None:
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, r"\task{c}") - 1
    write_lines(workspace, "ex2.tex", [*lines[:at], heading, "Some text.", *lines[at:]])
    assert failing(workspace) == ("templates/ex2.tex", at + 1, message)


def test_a_task_before_the_exercise_heading_is_an_error_at_its_line(workspace: Workspace) -> None:
    """Without the exercise's \\section first, it would read as 4(a) after exercise 4's tasks."""
    workspace.write("templates/ex5.tex", "\\task{a}{A task}\nText.\n\\section{Late}\n")
    assert failing(workspace) == (
        "templates/ex5.tex",
        1,
        "error: a task before its exercise's \\section{Title}",
    )


def test_a_starred_subsection_and_a_commented_one_are_fine(workspace: Workspace) -> None:
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, r"\task{c}") - 1
    extra = [r"\subsection*{Unnumbered notes}", r"Notes. % \subsection{not a heading}"]
    write_lines(workspace, "ex2.tex", [*lines[:at], *extra, *lines[at:]])
    workspace.make()
    assert "Unnumbered notes Notes." in pdf_to_text(workspace.pdf)


def test_an_early_end_document_is_an_error_at_its_own_line(workspace: Workspace) -> None:
    """TeX stops reading there and would blame a later reference (in ex1.tex) instead."""
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, r"\task{c}") - 1
    write_lines(workspace, "ex2.tex", [*lines[:at], r"\end{document}", *lines[at:]])
    assert failing(workspace) == (
        "templates/ex2.tex",
        at + 1,
        r"error: \end{document} ends the submission here",
    )


def test_a_cell_titled_with_a_task_no_template_defines_is_an_error_at_its_line(workspace: Workspace) -> None:
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    workspace.write("figures_src/ex2.py", notebook + "\n# %% 2(e) A task the sheet does not have\nx = 1\n")
    line = len(notebook.splitlines()) + 2
    assert failing(workspace) == (
        "figures_src/ex2.py",
        line,
        "error: cell titled 2(e), a task no template defines",
    )


def test_deleting_a_task_whose_cells_remain_is_an_error_at_the_first_cell(workspace: Workspace) -> None:
    write_lines(workspace, "ex2.tex", without_task(template_lines(workspace, "ex2.tex"), "c"))
    cells = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8").splitlines()
    line = line_of(cells, "# %% 2(c)")
    assert failing(workspace) == (
        "figures_src/ex2.py",
        line,
        "error: cell titled 2(c), a task no template defines",
    )


def test_a_coderef_to_a_task_without_cells_is_an_error_at_its_line(workspace: Workspace) -> None:
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, r"\task{b}")
    lines[at] += r" \coderef{2(b)}"
    write_lines(workspace, "ex2.tex", lines)
    path, line, message = failing(workspace)
    assert (path, line) == ("templates/ex2.tex", at + 1)
    assert message == r"error: \coderef{2(b)}: no notebook cell is titled # %% 2(b)"


def test_a_link_to_a_target_that_does_not_exist_is_an_error_at_its_line(workspace: Workspace) -> None:
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, r"\task{b}")
    lines[at] += r" See \hyperlink{subsection.2.z}{task 2(z)}."
    write_lines(workspace, "ex2.tex", lines)
    assert failing(workspace) == (
        "templates/ex2.tex",
        at + 1,
        "error: a link to subsection.2.z, a target the document does not have",
    )


def test_a_cell_titled_for_two_tasks_answers_both(workspace: Workspace) -> None:
    """`# %% 2(b)-(c) ...` answers 2(b) and 2(c): its heading names both and links to both
    task headings, and `\\coderef{2(b)}` names it and links to it, as `\\coderef{2(c)}` does."""
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    workspace.write("figures_src/ex2.py", notebook.replace("# %% 2(c) A mean", "# %% 2(b)-(c) A mean"))
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, r"\task{b}")
    lines[at] += r" \coderef{2(b)}"
    write_lines(workspace, "ex2.tex", lines)
    workspace.make()
    pages = subprocess.run(
        ["pdftotext", "-layout", str(workspace.pdf), "-"], capture_output=True, text=True
    ).stdout
    heading = re.compile(r"Cell (B\.\d+)\s+answers\s+2\(b\)\s+and\s+2\(c\)")
    cell_page, cell = next(
        (number, found.group(1))
        for number, page in enumerate(pages.split("\f"), start=1)
        if (found := heading.search(page))
    )
    linked = links(workspace.pdf)
    assert cell_page in linked["subsection.2.2"] and cell_page in linked["subsection.2.3"]
    text = pdf_to_text(workspace.pdf)
    answers = {
        "2(b)": text[text.index("2(b) A task without code") : text.index("2(c) A ratio")],
        "2(c)": text[text.index("2(c) A ratio") : text.index("Code and output")],
    }
    for task, answer in answers.items():
        assert f"(code: cell {cell}, p. {cell_page})" in answer, task
    targets = target_pages(workspace.pdf)
    task_page = targets["subsection.2.2"]
    from_task = {name for name, sources in linked.items() if task_page in sources}
    assert cell_page in {targets[name] for name in from_task if not name.startswith("subsection.")}


def test_each_task_of_a_cell_titled_for_two_must_be_defined(workspace: Workspace) -> None:
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    workspace.write("figures_src/ex2.py", notebook.replace("# %% 2(c) A mean", "# %% 2(c), 2(d) A mean"))
    cells = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8").splitlines()
    assert failing(workspace) == (
        "figures_src/ex2.py",
        line_of(cells, "# %% 2(c), 2(d)"),
        "error: cell titled 2(d), a task no template defines",
    )


@pytest.mark.parametrize(
    ("title", "tasks"),
    [
        ("2(c) A mean", ["2(c)"]),
        ("3(c)-(d) Two messages", ["3(c)", "3(d)"]),
        ("3(c)–(e) A range", ["3(c)", "3(d)", "3(e)"]),
        ("3(c), 3(d) A list", ["3(c)", "3(d)"]),
        ("3(c) and (e) Two", ["3(c)", "3(e)"]),
        ("1(d), 2(a) Across exercises", ["1(d)", "2(a)"]),
        ("Check of 3(g)-(h): no task's cell", []),
        ("2(a) and the rest of the title", ["2(a)"]),
    ],
)
def test_a_title_names_its_tasks(title: str, tasks: list[str]) -> None:
    (cell,) = split_cells(f"# %% {title}\nx = 1\n")
    assert cell.tasks == tasks
    assert cell.task == (tasks[0] if tasks else "")
