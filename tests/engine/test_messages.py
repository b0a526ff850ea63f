"""Small mistakes get their own file, line and one-line message.

Each test makes one mistake in a copy of the project and reads what the build says as an
editor's error list reads it (`path:line: message`).
"""

import pytest
from workspace import Workspace, quickfix


def failing(workspace: Workspace) -> str:
    done = workspace.make(check=False)
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_a_refused_value_is_shown_at_the_call_without_the_apis_insides(workspace: Workspace) -> None:
    workspace.write(
        "figures_src/ex9.py",
        "# %% A value the report cannot print\nfrom pipeline.publish import publish\n\n"
        "publish('gap', float('nan'))\n",
    )
    workspace.write("templates/ex9.tex", "\\section{Nine}\nGap \\VAR{ex9.gap}.\n")
    said = failing(workspace)
    assert quickfix(said)[0] == (
        "figures_src/ex9.py",
        4,
        "error: cell 1 raised PublishError: gap is nan: only finite numbers can be printed",
    )
    assert "publish.py" not in said, said  # the traceback ends at the notebook's call


SUBMISSION = """course = "Generative Neural Networks"
sheet = "Transformers"
tutorial_group = "3"
"""


@pytest.mark.parametrize(
    ("toml", "line", "message"),
    [
        (  # dotted keys at the top of the file
            'submission.course = "C"\nsubmission.sheet = "S"\nsubmission.tutorial_group = "3"\n'
            'submission.tutorail = "x"\n[[members]]\nname = "A"\n[[members]]\nname = "B"\n',
            4,
            "error: unknown key 'tutorail' in [submission]",
        ),
        (  # an array of inline tables over several lines
            'members = [\n  {name = "A"},\n  {name = "B", nmae = "x"},\n]\n[submission]\n' + SUBMISSION,
            3,
            "error: unknown key 'nmae' in [[members]]",
        ),
        (  # an inline table and an inline array on one line each
            "submission = {" + SUBMISSION.strip().replace("\n", ", ") + "}\n"
            'members = [{name = "A"}, {name = ""}]\n',
            2,
            "error: 'name' is missing or empty",
        ),
    ],
)
def test_a_report_toml_mistake_in_any_toml_style_names_its_line(
    workspace: Workspace, toml: str, line: int, message: str
) -> None:
    workspace.write("report.toml", toml)
    assert quickfix(failing(workspace))[0] == ("report.toml", line, message)
