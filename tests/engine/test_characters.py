"""Characters and names a LaTeX writer types: Unicode in a template typesets or is one
error naming the command to type; an undefined value gets the published names closest
to it; a figure name LaTeX would misread is refused where the notebook saves it; a file
two notebooks write is named as a file, in full."""

from conftest import pdf_to_text
from test_errors import add_template_line, append_cell, failing, first_error
from workspace import Workspace


def test_unicode_typed_in_a_template_typesets(workspace: Workspace) -> None:
    add_template_line(workspace, "For all ∀ ‖x‖ ≤ 1 → α, $∀x\\colon x^⊤ x ≤ β$ and ΣΩ.")
    workspace.make()
    text = pdf_to_text(workspace.pdf)
    assert "For all ∀" in text
    assert "α" in text and "β" in text and "≤" in text


def test_a_character_without_a_definition_names_the_command_to_type(workspace: Workspace) -> None:
    line = add_template_line(workspace, "The product $A ⊗ B$.")
    path, at, said = first_error(failing(workspace))
    assert (path, at) == ("templates/ex2.tex", line)
    shown = "error: the PDF cannot show ⊗ (U+2297 CIRCLED TIMES) as typed"
    assert said == shown + r": write \otimes (in math mode) instead"


def test_an_undefined_value_gets_the_closest_published_names(workspace: Workspace) -> None:
    line = add_template_line(workspace, "A count of \\VAR{ex2.coutn}.")
    said = failing(workspace)
    path, at, _message = first_error(said)
    assert (path, at) == ("templates/ex2.tex", line)
    assert "did you mean ex2.count?" in said


def test_a_figure_name_latex_would_misread_is_refused_where_it_is_saved(workspace: Workspace) -> None:
    line = append_cell(workspace, "fig = new_figure()\nsave_figure(fig, 'ex2_loss_curve')")
    path, at, said = first_error(failing(workspace))
    assert (path, at) == ("figures_src/ex2.py", line + 1)
    assert "figure name 'ex2_loss_curve': LaTeX reads its special characters as commands" in said
    assert "'ex2-loss-curve', say" in said


def test_a_file_two_notebooks_write_is_named_as_a_file(workspace: Workspace) -> None:
    for notebook in ("ex1", "ex2"):
        path = workspace.root / "figures_src" / f"{notebook}.py"
        text = path.read_text(encoding="utf-8")
        workspace.write(
            f"figures_src/{notebook}.py", text + "\n# %%\nopen('run-log.txt', 'w').write('done')\n"
        )
    said = failing(workspace)
    path, _at, message = first_error(said)
    assert path == "figures_src/ex2.py"
    assert "figures_src/ex1.py writes the file figures_src/run-log.txt too" in message
    assert "figure" not in message.replace("figures_src", "")
