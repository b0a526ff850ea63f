"""A table of computed values: published by a notebook (publish_table), placed with its
caption and label (\\valuetable), numbers formatted as everywhere in the report, booktabs
rules, a link to it, no hyperref warning; one wider than the text is an error at its line."""

import re

from conftest import pdf_to_text
from test_errors import add_template_line, append_cell, failing, first_error
from workspace import Workspace


def test_a_published_table_is_placed_with_its_caption_label_and_link(workspace: Workspace) -> None:
    append_cell(
        workspace,
        "from pipeline.publish import publish_table\n"
        "publish_table('sizes', [['small', 1234, 0.5], ['large', 2, 1e-7]], header=['name', 'n', 'x'])",
    )
    placed = "\\valuetable{tab:ex2-sizes}{Sizes.}{\\VAR{ex2.sizes}}"
    add_template_line(workspace, "As Table~\\ref{tab:ex2-sizes} shows.\n" + placed)
    workspace.make()
    text = pdf_to_text(workspace.pdf, raw=True)
    assert re.search(r"Table (\d+): Sizes\.", text), text
    assert "small 1,234 0.500" in text
    assert "large 2 1.00 × 10−7" in text  # format_number's power of ten
    number = re.search(r"Table (\d+): Sizes\.", text).group(1)
    assert f"As Table {number} shows." in text
    log = (workspace.layout.build / "submission.log").read_text(encoding="utf-8", errors="replace")
    assert "Package hyperref Warning" not in log
    rendered = (workspace.layout.build / "ex2.tex").read_text(encoding="utf-8")
    assert "\\toprule" in rendered and "\\midrule" in rendered and "\\bottomrule" in rendered


def test_a_table_wider_than_the_text_is_an_error_at_its_line(workspace: Workspace) -> None:
    row = "[123456.7 + i for i in range(20)]"
    append_cell(workspace, f"from pipeline.publish import publish_table\npublish_table('wide', [{row}])")
    line = add_template_line(workspace, "\\valuetable{tab:ex2-wide}{Wide.}{\\VAR{ex2.wide}}")
    path, at, said = first_error(failing(workspace))
    assert (path, at) == ("templates/ex2.tex", line)
    wider = r"error: Package report Error: the table tab:ex2-wide is [\d.]+pt wider than the text\."
    assert re.fullmatch(wider, said), said
