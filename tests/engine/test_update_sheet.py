"""A fix to the engine reaches an older sheet in one command, and nothing of the sheet's
own is touched or lost."""

import subprocess
import sys
from pathlib import Path

import pytest
from workspace import Workspace

from pipeline.paths import PROJECT

DETAILS = ["--course", "Deep Learning", "--sheet", "Sheet 1", "--group", "4", "--member", "Grace Hopper"]


def git(sheet: Workspace, *arguments: str) -> str:
    done = sheet.run(["git", "-c", "user.name=Grace", "-c", "user.email=grace@example.org", *arguments])
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def old_sheet(tmp_path: Path) -> Workspace:
    """A sheet made by an older engine: one module changed since, one added since, one
    dropped since; and work of its own, committed."""
    destination = tmp_path / "sheet 1"
    done = Workspace(tmp_path).run([sys.executable, "-m", "pipeline.new_sheet", str(destination), *DETAILS])
    assert done.returncode == 0, done.stderr
    sheet = Workspace(destination)
    sheet.write("pipeline/texify.py", "# the older engine's number formatting\n")
    (sheet.root / "pipeline" / "made.py").unlink()
    sheet.write("pipeline/legacy.py", "# a module the engine has dropped since\n")
    sheet.write("figures_src/ex1.py", "# %% The student's own notebook\nprint('mine')\n")
    git(sheet, "init", "-q")
    git(sheet, "add", "-A")
    git(sheet, "commit", "-qm", "sheet 1")
    return sheet


def update(sheet: Workspace) -> subprocess.CompletedProcess:
    return Workspace(sheet.root.parent).run([sys.executable, "-m", "pipeline.update_sheet", str(sheet.root)])


def test_the_engine_reaches_an_older_sheet_and_its_own_files_stay(old_sheet: Workspace) -> None:
    done = update(old_sheet)
    assert done.returncode == 0, done.stderr
    for module in ("pipeline/texify.py", "pipeline/made.py"):
        assert (old_sheet.root / module).read_bytes() == (PROJECT.root / module).read_bytes()
        assert f"[update] {module}" in done.stdout
    assert (old_sheet.root / "pipeline/legacy.py").exists()
    assert "pipeline/legacy.py: warning: not in this engine, so left alone" in done.stdout
    notebook = (old_sheet.root / "figures_src/ex1.py").read_text(encoding="utf-8")
    assert notebook == "# %% The student's own notebook\nprint('mine')\n"
    changed = git(old_sheet, "status", "--porcelain").split("\n")
    assert sorted(line[3:] for line in changed if line) == ["pipeline/made.py", "pipeline/texify.py"]
    assert (
        update(old_sheet)
        .stdout.splitlines()[-1]
        .endswith(": 0 engine files brought in; `git diff` there shows them")
    )


def test_an_engine_file_changed_since_the_last_commit_stops_the_update(old_sheet: Workspace) -> None:
    old_sheet.write("pipeline/texify.py", "# fixed by hand, not committed\n")
    done = update(old_sheet)
    assert done.returncode == 1
    assert "error: has engine files changed since its last commit: pipeline/texify.py" in done.stderr
    assert (old_sheet.root / "pipeline/texify.py").read_text(
        encoding="utf-8"
    ) == "# fixed by hand, not committed\n"
    assert not (old_sheet.root / "pipeline/made.py").exists(), "the update wrote before it stopped"


def test_a_sheet_without_git_is_not_updated(tmp_path: Path, old_sheet: Workspace) -> None:
    (old_sheet.root / ".git").rename(tmp_path / "elsewhere.git")
    done = update(old_sheet)
    assert done.returncode == 1
    assert "error: is not a git repository" in done.stderr
    assert not (old_sheet.root / "pipeline/made.py").exists()


def test_make_update_sheet_takes_a_folder_with_a_space(old_sheet: Workspace) -> None:
    done = Workspace(PROJECT.root).run(
        ["make", "--no-print-directory", "update-sheet", f"DEST={old_sheet.root}"]
    )
    assert done.returncode == 0, done.stderr
    assert "[update] pipeline/made.py" in done.stdout
