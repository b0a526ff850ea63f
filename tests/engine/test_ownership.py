"""The build owns only what it made: nothing a person put under report/ is deleted.

Each test puts a person's file where people put them (a drawing in report/figures/, notes
in report/, a report/ that is a link to a synced folder), runs the real build and
`make clean`, and checks the file is still there, byte for byte, and named once.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import pdf_to_text
from workspace import Workspace, checksum

EXERCISE = "\\section{Extra}\n{text}\n"


def add_exercise(workspace: Workspace, number: int, notebook: str, template: str) -> None:
    """A new exercise of its own (figures_src/ex<N>.py and templates/ex<N>.tex), so that
    the test depends on no exercise of the sheet."""
    workspace.write(f"figures_src/ex{number}.py", notebook)
    workspace.write(f"templates/ex{number}.tex", EXERCISE.replace("{text}", template))


def warnings_about(said: str, name: str) -> list[str]:
    return [line for line in said.splitlines() if line.startswith(f"{name}: warning:")]


def test_a_drawing_put_in_report_figures_is_kept_and_named(workspace: Workspace) -> None:
    drawing = workspace.layout.figures / "my-diagram.pdf"
    drawing.write_bytes(workspace.pdf.read_bytes())
    before = checksum(drawing)
    for _ in range(2):  # the build that finds it, and a build with nothing to do
        done = workspace.make()
        assert checksum(drawing) == before
        assert len(warnings_about(done.stderr, "report/figures/my-diagram.pdf")) == 1, done.stderr
    assert "templates/figures/" in done.stderr


def test_make_clean_removes_only_what_the_build_made(workspace: Workspace) -> None:
    notes = workspace.layout.report / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    kept = workspace.layout.report / "mine" / "data.csv"
    kept.parent.mkdir()
    kept.write_text("1,2\n", encoding="utf-8")
    draft = workspace.layout.build / "draft.tex"  # beside the rendered templates
    draft.write_text("my draft\n", encoding="utf-8")
    workspace.write("templates/ex9.tex", "\\section{Nine}\nA render and a compile.\n")
    workspace.make()
    assert draft.read_text(encoding="utf-8") == "my draft\n"
    done = workspace.make("clean")
    assert notes.read_text(encoding="utf-8") == "my notes\n"
    assert kept.read_text(encoding="utf-8") == "1,2\n"
    for name in ("report/notes.txt", "report/mine/data.csv", "report/build/draft.tex"):
        assert len(warnings_about(done.stderr, name)) == 1, done.stderr
    left = sorted(workspace.layout.shown(p) for p in workspace.layout.report.rglob("*") if p.is_file())
    assert left == [
        "report/.gitignore",
        "report/.lock",
        "report/build/draft.tex",
        "report/mine/data.csv",
        "report/notes.txt",
    ]
    workspace.make()
    assert workspace.pdf.exists()
    assert notes.read_text(encoding="utf-8") == "my notes\n"


def test_make_clean_in_a_report_linked_to_a_synced_folder_keeps_its_other_files(
    workspace: Workspace, tmp_path: Path
) -> None:
    synced = tmp_path / "Sync Folder"
    (synced / "old").mkdir(parents=True)
    (synced / "old" / "submission-v1.pdf").write_bytes(b"%PDF- an earlier hand-in")
    (synced / "todo.txt").write_text("ask the tutor\n", encoding="utf-8")
    elsewhere = tmp_path / "pictures"
    elsewhere.mkdir()
    (elsewhere / "holiday.jpg").write_bytes(b"not the build's")
    report = workspace.layout.report
    for path in sorted(report.iterdir()):
        path.rename(synced / path.name)
    report.rmdir()
    report.symlink_to(synced)
    (synced / "figures" / "pictures").symlink_to(elsewhere)  # a link inside report/
    workspace.make()
    workspace.make("clean")
    assert (synced / "old" / "submission-v1.pdf").read_bytes() == b"%PDF- an earlier hand-in"
    assert (synced / "todo.txt").read_text(encoding="utf-8") == "ask the tutor\n"
    assert (elsewhere / "holiday.jpg").read_bytes() == b"not the build's"
    assert not (synced / "submission.pdf").exists()
    assert not (synced / "results").exists()


def test_a_report_from_before_the_record_is_adopted_as_the_builds(workspace: Workspace) -> None:
    """A checkout built before report/stamps/made.json existed: all of report/ was the
    build's (it deleted everything else), so nothing there is named as a stranger's."""
    workspace.layout.made.unlink()
    done = workspace.make()
    assert "warning:" not in done.stderr, done.stderr
    workspace.make("clean")
    assert sorted(p.name for p in workspace.layout.report.rglob("*")) == [".gitignore", ".lock"]


def test_a_clean_build_names_no_file_as_a_strangers(workspace: Workspace) -> None:
    workspace.make("clean")
    done = workspace.make()
    assert "not made by the build" not in done.stderr, done.stderr
    recorded = set(json.loads(workspace.layout.made.read_text(encoding="utf-8")))
    assert {"report/submission.pdf", "report/build/submission.aux"} <= recorded


WRITER = """# %% Data for the next exercise
from pathlib import Path

Path("../report/data").mkdir(exist_ok=True)
Path("../report/data/shared.txt").write_text("{value}")
"""
READER = """# %% Reads what the other exercise wrote
from pathlib import Path

from pipeline.publish import publish

publish("shared", Path("../report/data/shared.txt").read_text())
"""


def test_a_file_one_notebook_writes_under_report_and_another_reads_is_tracked(
    workspace: Workspace, tmp_path: Path
) -> None:
    add_exercise(workspace, 8, WRITER.format(value="first-value"), "Written.")
    add_exercise(workspace, 9, READER, "Shared: \\VAR{ex9.shared}.")
    workspace.make()
    assert "Shared: first-value." in pdf_to_text(workspace.pdf)
    shared = workspace.layout.report / "data" / "shared.txt"
    shared.write_text("edited-by-hand", encoding="utf-8")  # the writer's output: it runs again
    workspace.make()
    assert "Shared: first-value." in pdf_to_text(workspace.pdf)
    assert shared.read_text(encoding="utf-8") == "first-value"
    workspace.edit("figures_src/ex8.py", "first-value", "second-value")
    done = workspace.make()
    assert "Shared: second-value." in pdf_to_text(workspace.pdf), done.stdout
    workspace.edit("figures_src/ex8.py", "second-value", "third-value")
    workspace.make()
    assert "Shared: third-value." in pdf_to_text(workspace.pdf)
    incremental = workspace.pdf.read_bytes()
    shutil.copytree(workspace.root, tmp_path / "fresh", symlinks=True)
    fresh = Workspace(tmp_path / "fresh")
    fresh.make("clean")
    fresh.make()
    assert fresh.pdf.read_bytes() == incremental


SET_ORDER = """# %% A set's order
from pipeline.publish import publish

words = {f"word{i}" for i in range(30)}
publish("order", " ".join(words))
"""


def test_a_sets_order_is_the_same_on_every_run(workspace: Workspace) -> None:
    add_exercise(workspace, 9, SET_ORDER, "Order: \\VAR{ex9.order}.")
    orders = []
    for _ in range(3):
        workspace.make("figures")
        orders.append(json.loads(workspace.layout.results_of("ex9").read_text(encoding="utf-8"))["values"])
    seeded = subprocess.run(
        [sys.executable, "-c", 'print(" ".join({f"word{i}" for i in range(30)}))'],
        env={"PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert [order["order"] for order in orders] == [seeded] * 3


def test_make_clean_after_a_failed_compile_leaves_only_a_persons_files(workspace: Workspace) -> None:
    workspace.write("templates/ex9.tex", "\\section{Nine}\n\\undefinedcommand\n")
    assert workspace.make(check=False).returncode != 0
    done = workspace.make("clean")
    assert "not made by the build" not in done.stderr, done.stderr
    assert sorted(p.name for p in workspace.layout.report.rglob("*")) == [".gitignore", ".lock"]
