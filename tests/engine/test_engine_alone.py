"""The engine apart from this sheet: its tests need none of this sheet's answers, and
none of its modules imports them."""

import ast
import re

from workspace import engine_only

from pipeline.paths import PROJECT

# One test of each kind: a fresh build's PDF, an incremental rebuild, an error at its line.
REPRESENTATIVE = [
    "tests/engine/test_pipeline.py::test_every_task_has_its_heading_in_order",
    "tests/engine/test_pipeline.py::test_each_notebook_edit_reruns_only_that_notebook",
    "tests/engine/test_errors.py::test_num_on_text_is_an_error_at_the_template_line",
]


def test_the_engine_tests_pass_with_this_sheets_content_deleted(tmp_path) -> None:
    emptied = engine_only(tmp_path / "emptied")
    assert not list(emptied.layout.notebooks()) and not emptied.layout.exercises()
    assert not (emptied.root / "report.toml").exists()
    done = emptied.run(
        [str(PROJECT.root / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         *REPRESENTATIVE],
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(rf"^{len(REPRESENTATIVE)} passed", done.stdout, re.MULTILINE), done.stdout[-3000:]


def test_no_module_of_the_engine_imports_a_sheets_notebooks() -> None:
    """The notebooks import the engine (pipeline.publish), never the other way round."""
    for module in [PROJECT.root / "build.py", *sorted(PROJECT.pipeline_dir.glob("*.py"))]:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )  # fmt: skip
            notebooks = [name for name in names if name.split(".")[0] == "figures_src"]
            assert not notebooks, f"{module.name} imports {notebooks}"
