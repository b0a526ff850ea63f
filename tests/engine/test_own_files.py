"""A LaTeX writer's own files in templates/ (and its subfolders): a package, a part a
template inputs, a picture. Each is found by its plain name, is an input of the document
(an edit rebuilds it), a package in the preamble goes into the preamble format without
making it stale, and a missing one is named as missing from templates/."""

import shutil

from conftest import pdf_to_text
from test_errors import failing, first_error
from workspace import Workspace

TASK_B = "Rows of four hold four times as many as there are rows"


def use_package(workspace: Workspace, body: str) -> None:
    """templates/mymacros.sty defining \\ownword, loaded by the preamble, used in ex2."""
    workspace.write("templates/mymacros.sty", "\\ProvidesPackage{mymacros}\n" + body + "\n")
    workspace.edit(
        "templates/preamble.tex", "\\usepackage{booktabs}", "\\usepackage{booktabs}\n\\usepackage{mymacros}"
    )
    workspace.edit("templates/ex2.tex", TASK_B, f"\\ownword. {TASK_B}")


def test_an_own_package_is_found_and_goes_into_a_format_that_follows_it(workspace: Workspace) -> None:
    use_package(workspace, r"\newcommand{\ownword}{Macro made here}")
    done = workspace.make()
    assert "Macro made here. Rows of four" in pdf_to_text(workspace.pdf)
    assert "latexmk" not in done.stderr  # compiled from the preamble format
    workspace.edit("templates/mymacros.sty", "Macro made here", "Macro edited here")
    done = workspace.make()
    assert "Macro edited here. Rows of four" in pdf_to_text(workspace.pdf)
    assert "latexmk" not in done.stderr
    assert "up to date" in workspace.make().stdout


def test_a_part_and_a_picture_in_subfolders_are_found_by_plain_name(workspace: Workspace) -> None:
    workspace.write("templates/parts/counting.tex", "A part of its own.\n\\includegraphics{own-picture}\n")
    (workspace.root / "templates" / "pictures").mkdir()
    shutil.copy(
        workspace.layout.figures / "ex1-wave.pdf", workspace.root / "templates/pictures/own-picture.pdf"
    )
    workspace.edit("templates/ex2.tex", TASK_B, "\\input{parts/counting}\n" + TASK_B)
    workspace.make()
    assert "A part of its own." in pdf_to_text(workspace.pdf)
    workspace.edit("templates/parts/counting.tex", "A part of its own.", "An edited part.")
    workspace.make()
    assert "An edited part." in pdf_to_text(workspace.pdf)


def test_a_missing_own_package_names_templates(workspace: Workspace) -> None:
    workspace.edit(
        "templates/preamble.tex", "\\usepackage{booktabs}", "\\usepackage{booktabs}\n\\usepackage{mymacross}"
    )
    said = failing(workspace)
    path, _at, message = first_error(said)
    assert (path, message) == (
        "templates/preamble.tex",
        "error: LaTeX Error: File `mymacross.sty' not found.",
    )
    assert "meaning: no mymacross.sty in templates/ (your own packages go there" in said


def test_a_missing_part_names_templates_and_not_figures(workspace: Workspace) -> None:
    workspace.edit("templates/ex2.tex", TASK_B, "\\input{parts/countin}\n" + TASK_B)
    said = failing(workspace)
    path, _at, message = first_error(said)
    assert (path, message) == ("templates/ex2.tex", "error: LaTeX Error: File `parts/countin.tex' not found.")
    assert "no parts/countin.tex in templates/: your own parts go in a subfolder" in said
    assert "figure" not in said
