"""Nothing runs off the bottom of a page: a table, a display or a float taller than the
page stops the build at its template line, as a figure larger than the text area does.
TeX itself only warns (`Overfull \\vbox`, `Float too large`) and prints the rest of it over
the page number or off the paper. Each test breaks a copy of the project and builds it.
"""

import pytest
from test_numbering import failing, line_of, template_lines, write_lines
from workspace import Workspace

ROWS = "\n".join(f"{row} & {row * row} \\\\" for row in range(1, 71))


@pytest.mark.parametrize(
    ("tall", "message"),
    [
        (f"\\begin{{tabular}}{{rr}}\n{ROWS}\n\\end{{tabular}}", "taller than the text area"),
        (
            "\\begin{align*}\n" + "\n".join(f"x_{{{n}}} &= {n} \\\\" for n in range(70)) + "\n\\end{align*}",
            "taller than the text area",
        ),
        ("\\begin{figure}[h]\\centering\\rule{1cm}{30cm}\\caption{Too tall.}\\end{figure}", "a float is"),
        ("\\begin{minipage}{\\linewidth}\\rule{1cm}{28cm}\\end{minipage}", "taller than the text area"),
    ],
    ids=["table", "display", "float", "box"],
)
def test_what_runs_off_the_page_is_an_error_near_its_template_line(
    workspace: Workspace, tall: str, message: str
) -> None:
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, r"\task{b}") + 1
    added = tall.splitlines()
    write_lines(workspace, "ex2.tex", [*lines[:at], "Before it.", "", *added, "", "After it.", *lines[at:]])
    path, line, said = failing(workspace)
    assert path == "templates/ex2.tex"
    assert at + 3 <= line <= at + 2 + len(added), (line, at)  # within what was added
    assert said.startswith("error: ") and message in said and "runs off the page" in said


def test_a_long_table_split_over_pages_is_fine(workspace: Workspace) -> None:
    """The same rows in two tables, each shorter than a page."""
    lines = template_lines(workspace, "ex2.tex")
    at = line_of(lines, r"\task{b}") + 1
    half = ROWS.splitlines()
    tables = [
        f"\\begin{{tabular}}{{rr}}\n{chunk}\n\\end{{tabular}}\n"
        for chunk in ("\n".join(half[:35]), "\n".join(half[35:]))
    ]
    write_lines(workspace, "ex2.tex", [*lines[:at], *tables, *lines[at:]])
    workspace.make()
