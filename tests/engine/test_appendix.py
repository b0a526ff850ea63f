"""The code appendix: the cells the answers cite, with their output, figures and modules.

The selection is read from the templates (`\\coderef{1(b)}`) and the notebooks' records,
never from a list kept by hand; report.toml can ask for every cell instead.
"""

import json
import re

from conftest import pdf_to_text
from workspace import Workspace, quickfix

from pipeline.paths import Layout


def cited(layout: Layout) -> set[str]:
    return {
        task
        for template in layout.templates()
        for task in re.findall(r"\\coderef\{([^}]*)\}", template.read_text(encoding="utf-8"))
    }


def records(layout: Layout) -> dict[str, dict]:
    return {path.stem: json.loads(layout.results_of(path.stem).read_text()) for path in layout.notebooks()}


def shown_cells(pdf_text: str) -> set[str]:
    return set(re.findall(r"\bCell ([A-Z]\.\d+)\b", pdf_text))


def test_the_appendix_shows_the_cited_tasks_and_the_modules_they_use(
    engine: Workspace, engine_text: str
) -> None:
    tasks = cited(engine.layout)
    appendix = engine_text[engine_text.index("Code and output") :]
    assert tasks
    modules_shown = 0
    for record in records(engine.layout).values():
        cell_tasks = {task for cell in record["cells"] for task in cell["tasks"]}
        for task in cell_tasks:
            # A cell's heading names each task it answers: "answers 2(b) and 2(c)".
            named = re.search(rf"answers (?:\d+\([a-z]\)(?:, | and ))*{re.escape(task)}", appendix)
            assert bool(named) == (task in tasks), f"{task}: cited {task in tasks}"
        used = {
            module for cell in record["cells"] if tasks.intersection(cell["tasks"]) for module in cell["uses"]
        }
        for module in record["modules"]:
            assert (f"Module {module['path']}" in appendix) == (module["path"] in used), module["path"]
            modules_shown += module["path"] in used
    assert modules_shown, "no cited cell uses a module"


def test_a_cited_cell_shows_its_output_and_figures(engine: Workspace, engine_text: str) -> None:
    figures = 0
    for record in records(engine.layout).values():
        for cell in record["cells"]:
            if not cited(engine.layout).intersection(cell["tasks"]):
                continue
            first_output = next((line for line in cell["output"].splitlines() if 5 < len(line) < 60), None)
            if first_output:
                assert re.sub(r"\s+", " ", first_output).strip() in engine_text
            for figure in cell["figures"]:
                assert f"{figure}.pdf, shown as Figure" in engine_text
                figures += 1
    assert figures, "no cited cell saves a figure"


def test_report_toml_can_ask_for_every_cell(workspace: Workspace) -> None:
    config = (workspace.root / "report.toml").read_text(encoding="utf-8")
    workspace.write("report.toml", config + '\n[appendix]\nshow = "all"\n')
    workspace.make()
    text = pdf_to_text(workspace.pdf)
    every = {
        f"{'ABC'[index]}.{cell['number']}"
        for index, record in enumerate(records(workspace.layout).values())
        for cell in record["cells"]
        if cell["kind"] == "code"  # a markdown cell is prose, without a label
    }
    assert shown_cells(text) >= every
    for record in records(workspace.layout).values():
        for module in record["modules"]:
            assert f"Module {module['path']}" in text


def test_a_label_defined_twice_is_an_error_at_the_second(workspace: Workspace) -> None:
    template = (workspace.root / "templates" / "ex2.tex").read_text(encoding="utf-8")
    lines = template.splitlines()
    label = next(re.search(r"\\label\{([^}]+)\}", line).group(1) for line in lines if r"\label{" in line)
    lines.append(f"A second target: \\label{{{label}}}")
    workspace.write("templates/ex2.tex", "\n".join(lines) + "\n")
    done = workspace.make(check=False)
    assert done.returncode != 0
    assert quickfix(done.stderr)[0] == (
        "templates/ex2.tex",
        len(lines),
        f"error: the label {label} is defined twice",
    )
