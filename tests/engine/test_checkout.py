"""A checkout knows where it is: copied, moved or renamed, it runs its own code.

Each test copies the whole checkout with its .venv (hard links: fast, and the same files
a `cp -a` gives), then runs a notebook outside the build and `make` there.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from workspace import SKIPPED, Workspace, clean_environment

from pipeline.paths import PROJECT

PROBE = """# %% A figure that says where it was written
from pipeline.publish import new_figure, save_figure

save_figure(new_figure(width=0.2, aspect=1), "ex9-probe")
"""


@pytest.fixture
def copied(tmp_path: Path, engine: Workspace) -> Workspace:
    """A copy of the checkout in a folder with a space in its name, .venv included."""
    root = tmp_path / "my copy"
    shutil.copytree(engine.root, root, ignore=SKIPPED, symlinks=True)
    subprocess.run(["cp", "-al", str(PROJECT.root / ".venv"), str(root / ".venv")], check=True)
    (root / "figures_src" / "ex9.py").write_text(PROBE, encoding="utf-8")
    (root / "templates" / "ex9.tex").write_text("\\section{Probe}\nA probe.\n", encoding="utf-8")
    return Workspace(root)


def run_probe_by_hand(python: Path, checkout: Workspace, cwd: Path) -> subprocess.CompletedProcess:
    """`python path/to/ex9.py` from another folder, as a person runs a notebook outside the build."""
    return subprocess.run(
        [str(python), str(checkout.root / "figures_src" / "ex9.py")],
        cwd=cwd,
        env=clean_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_copied_checkout_writes_its_figures_into_itself(copied: Workspace, tmp_path: Path) -> None:
    done = run_probe_by_hand(copied.root / ".venv/bin/python", copied, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (copied.layout.figures / "ex9-probe.pdf").exists()
    assert not (PROJECT.figures / "ex9-probe.pdf").exists()
    made = copied.make()
    assert "[setup]" not in made.stdout, made.stdout  # the copied .venv serves the copy as it is


def test_a_moved_checkout_still_builds(copied: Workspace, tmp_path: Path) -> None:
    moved = Workspace(copied.root.rename(tmp_path / "moved"))
    done = run_probe_by_hand(moved.root / ".venv/bin/python", moved, tmp_path)
    assert done.returncode == 0, done.stderr
    moved.write("figures_src/ex9.py", PROBE + '\n# %% Edited after the move\nprint("moved")\n')
    made = moved.make()
    assert "ex9.py: 2 cells" in made.stdout, made.stdout


def test_a_notebook_run_with_another_checkouts_python_is_refused(copied: Workspace, tmp_path: Path) -> None:
    done = run_probe_by_hand(PROJECT.root / ".venv/bin/python", copied, tmp_path)
    assert done.returncode != 0
    assert f"belongs to the checkout {copied.root}" in done.stderr
    assert not (PROJECT.figures / "ex9-probe.pdf").exists()
    assert not (copied.layout.figures / "ex9-probe.pdf").exists()
