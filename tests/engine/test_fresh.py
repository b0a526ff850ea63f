"""The PDF always matches the sources, whatever people do between and during builds.

Each test does to a copy of the project what a user does (saves during a build, unzips a
partner's file with an old date, starts a second build, deletes a notebook, leaves an
editor's backup, interrupts the build), runs the real build, and reads the real PDF.
"""

import os
import random
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import pdf_to_text
from workspace import Workspace, checksum, clean_environment, copy_project, quickfix

from pipeline.paths import Layout
from pipeline.stamps import write_atomically

MARKER_CELL = """
# %% A value the test changes
from pathlib import Path as _Path

publish("fresh_marker", "{value}")
"""
SLOW_CELL = """
# %% A cell that tells the test when it starts and when it ends, and takes its time between
import time as _time

with open("{started}", "a") as _log:
    _log.write("started\\n")
_time.sleep({seconds})
with open("{started}", "a") as _log:
    _log.write("finished\\n")
"""
# A save that lands after the step it races has ended proves nothing: a test that saves
# during a build checks that it did, and otherwise tries again, at most this often.
RACE_TRIES = 5
Raced = TypeVar("Raced")  # what a build that hit its race tells the test


def start_make(workspace: Workspace, *targets: str) -> subprocess.Popen:
    """`make` in the background, in a process group of its own (for Ctrl-C)."""
    return subprocess.Popen(
        ["make", "--no-print-directory", *targets],
        cwd=workspace.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_environment(),
        start_new_session=True,
    )


def wait_for(condition: Callable[[], object], seconds: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, (
            f"timed out after {seconds} s{' waiting for ' if what else ''}{what}"
        )
        time.sleep(0.01)


def add_marker(workspace: Workspace, value: str, *, slow: float = 0) -> Path:
    """A value published by ex2 and printed by its template; with `slow`, the notebook
    then sleeps that long, between the lines `started` and `finished` that it adds to the
    file returned (`first_run_still_sleeping`)."""
    started = workspace.root / "started"
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    cells = MARKER_CELL.format(value=value)
    if slow:
        cells += SLOW_CELL.format(started=started, seconds=slow)
    workspace.write("figures_src/ex2.py", notebook + cells)
    template = (workspace.root / "templates" / "ex2.tex").read_text(encoding="utf-8")
    if "fresh_marker" not in template:
        workspace.write("templates/ex2.tex", template + "\nThe marker is \\VAR{ex2.fresh_marker}.\n")
    return started


def first_run_still_sleeping(started: Path) -> bool:
    """Whether the slow cell (add_marker) has started once and not yet finished."""
    return started.exists() and started.read_text(encoding="utf-8") == "started\n"


def set_marker(workspace: Workspace, old: str, new: str) -> None:
    workspace.edit(
        "figures_src/ex2.py", f'publish("fresh_marker", "{old}")', f'publish("fresh_marker", "{new}")'
    )


def text(workspace: Workspace) -> str:
    return pdf_to_text(workspace.pdf)


def until_raced(attempt: Callable[[int], Raced | None], where: str) -> Raced:
    """What `attempt(number)` returns for the first build in which the save it makes
    landed while the step it races ran (None: it did not), at most RACE_TRIES builds."""
    for number in range(RACE_TRIES):
        if (raced := attempt(number)) is not None:
            return raced
    raise AssertionError(f"in {RACE_TRIES} builds the save never landed {where}")


def test_a_template_saved_during_the_compile_reaches_the_next_pdf(workspace: Workspace) -> None:
    """The save lands while pdfLaTeX runs, after the template was rendered: the marker
    `.submission.compiling` is there from before the compile to after it, so a marker
    still there after the save proves the race."""
    template = (workspace.root / "templates" / "ex2.tex").read_text(encoding="utf-8")
    compiling = workspace.layout.build / ".submission.compiling"
    assert not compiling.exists()

    def save_during_the_compile(number: int) -> tuple[str, str] | None:
        first, during = f"First edit {number}.", f"Saved during build {number}."
        workspace.write("templates/ex2.tex", template.replace(r"\section{", f"{first}\n\\section{{", 1))
        build = start_make(workspace)
        wait_for(lambda: compiling.exists() or build.poll() is not None)
        workspace.write("templates/ex2.tex", template.replace(r"\section{", f"{during}\n\\section{{", 1))
        raced = compiling.exists() and build.poll() is None
        assert build.wait() == 0
        return (first, during) if raced else None

    first, during = until_raced(save_during_the_compile, "while pdfLaTeX ran")
    assert first in text(workspace) and during not in text(workspace)  # rendered before the save
    done = workspace.make()
    assert "[latex]" in done.stdout
    assert during in text(workspace)


def test_a_notebook_saved_while_it_runs_reruns_in_the_same_build(workspace: Workspace) -> None:
    """The save lands while the notebook's slow cell sleeps (its log says `started` and
    not yet `finished`), and the build says it ran the notebook again for it."""
    started = add_marker(workspace, "unsaved", slow=2)
    shown = "unsaved"

    def save_while_it_runs(number: int) -> tuple[str, str] | None:
        nonlocal shown
        before, after = f"before-the-save-{number}", f"after-the-save-{number}"
        set_marker(workspace, shown, before)
        started.unlink(missing_ok=True)
        build = start_make(workspace)
        wait_for(lambda: started.exists() or build.poll() is not None)
        set_marker(workspace, before, after)
        shown = after
        raced = first_run_still_sleeping(started)
        said, _ = build.communicate()
        assert build.returncode == 0
        return (said, after) if raced else None

    said, after = until_raced(save_while_it_runs, "while the notebook ran")
    runs = re.findall(r"\[notebook\] figures_src/ex2.py: running \((.*)\)", said)
    assert runs[1:] == ["figures_src/ex2.py changed"], said  # run again, in the same build
    assert after in text(workspace)
    assert "up to date" in workspace.make().stdout


def test_a_notebook_symlinked_from_elsewhere_runs_under_its_own_name(workspace: Workspace) -> None:
    """figures_src/ex2.py may be a link to a file of another name outside the project
    (a shared folder, say): it is still ex2, and an edit of the file it points to counts."""
    add_marker(workspace, "linked")
    elsewhere = workspace.root.parent / "shared" / "draft.py"
    elsewhere.parent.mkdir()
    (workspace.root / "figures_src" / "ex2.py").rename(elsewhere)
    (workspace.root / "figures_src" / "ex2.py").symlink_to(elsewhere)
    workspace.make()
    assert "linked" in text(workspace)
    assert not (workspace.layout.results / "draft.json").exists()
    set_marker(workspace, "linked", "edited-through-the-link")
    workspace.make()
    assert "edited-through-the-link" in text(workspace)


def test_a_file_one_notebook_writes_and_another_reads_needs_one_make(workspace: Workspace) -> None:
    """ex1 writes figures_src/shared.txt while ex2, running beside it, reads it: ex2 runs
    again in the same build, so the first `make` already shows what ex1 wrote, even when ex2
    first failed for want of the file. The file is ex1's output: a hand edit is undone."""
    writer = '\n# %% Data for ex2\nimport time\n\ntime.sleep(2)\nPath("shared.txt").write_text("{}")\n'
    ex1 = (workspace.root / "figures_src" / "ex1.py").read_text(encoding="utf-8")
    workspace.write("figures_src/ex1.py", ex1 + "\nfrom pathlib import Path\n" + writer.format("from-ex1"))
    add_marker(workspace, "unused")
    set_marker(workspace, "unused", '" + _Path("shared.txt").read_text() + "')
    first = workspace.make()
    # ex2 looked for the file while ex1 slept, before it was written, and failed: the race.
    assert "[notebook] figures_src/ex2.py: running (again, after the others)" in first.stdout, first.stdout
    assert "The marker is from-ex1." in text(workspace)
    workspace.write("figures_src/shared.txt", "edited-by-hand")
    workspace.make()
    assert "The marker is from-ex1." in text(workspace)
    workspace.edit("figures_src/ex1.py", writer.format("from-ex1"), writer.format("edited-in-ex1"))
    workspace.make()
    assert "The marker is edited-in-ex1." in text(workspace)


@pytest.mark.parametrize(
    ("part", "use"),
    [
        ("templates/ex2-draft.tex", "\\BLOCK{include 'ex2-draft.tex'}"),  # Jinja's include
        ("notes/extra.tex", "\\input{../../notes/extra.tex}"),  # LaTeX's \\input, beside the templates
    ],
)
def test_a_file_a_template_takes_in_is_an_input_of_the_document(
    workspace: Workspace, part: str, use: str
) -> None:
    workspace.write(part, "Text of the part.\n")
    workspace.edit("templates/ex2.tex", r"\section{", use + "\n\\section{")
    first = workspace.make()
    assert "Text of the part." in text(workspace)
    workspace.write(part, "Edited text of the part.\n")
    again = workspace.make()
    assert "Edited text of the part." in text(workspace)
    assert "warning" not in first.stderr + again.stderr  # a part is no stray copy, and in the document


def test_a_file_added_to_a_folder_a_notebook_lists_reruns_it(workspace: Workspace) -> None:
    workspace.write("figures_src/data/a.txt", "")
    add_marker(workspace, "unused")
    listing = '" + ",".join(sorted(p.name for p in _Path("data").glob("*.txt"))) + "'
    set_marker(workspace, "unused", listing)
    workspace.make()
    assert "The marker is a.txt." in text(workspace)
    workspace.write("figures_src/data/b.txt", "")
    workspace.make()
    assert "The marker is a.txt,b.txt." in text(workspace)
    workspace.write("figures_src/data/.c.txt", "")  # glob("*.txt") lists hidden files too
    workspace.make()
    assert "The marker is .c.txt,a.txt,b.txt." in text(workspace)


def test_an_include_of_a_file_made_later_is_noticed(workspace: Workspace) -> None:
    """`include ... ignore missing` of a file that does not exist yet: creating it counts."""
    workspace.edit(
        "templates/ex2.tex", r"\section{", "\\BLOCK{include 'parts/later.tex' ignore missing}\n\\section{"
    )
    workspace.make()
    workspace.write("templates/parts/later.tex", "Written later.\n")
    workspace.make()
    assert "Written later." in text(workspace)


def test_a_source_with_an_old_timestamp_is_still_noticed(workspace: Workspace) -> None:
    """As when unzipping a partner's files, or `cp -p`: the date is older than the PDF."""
    add_marker(workspace, "first")
    workspace.make()
    set_marker(workspace, "first", "from-the-zip")
    workspace.edit("templates/ex1.tex", r"\section{", "Unzipped sentence.\n\\section{")
    for name in ("figures_src/ex2.py", "templates/ex1.tex"):
        os.utime(workspace.root / name, (946684800, 946684800))  # 1 January 2000
    workspace.make()
    assert "from-the-zip" in text(workspace)
    assert "Unzipped sentence." in text(workspace)


def test_a_reverted_edit_rebuilds_the_original(workspace: Workspace) -> None:
    workspace.make()  # with the workspace's fixed date
    original = checksum(workspace.pdf)
    template = (workspace.root / "templates" / "ex1.tex").read_text(encoding="utf-8")
    workspace.write("templates/ex1.tex", template.replace(r"\section{", "Briefly here.\n\\section{", 1))
    workspace.make()
    assert checksum(workspace.pdf) != original
    workspace.write("templates/ex1.tex", template)
    workspace.make()
    assert checksum(workspace.pdf) == original


def test_two_builds_at_once_wait_for_each_other(workspace: Workspace) -> None:
    """`make watch` running and `make` typed by hand: the second waits, then finds
    nothing left to do; never an invented error."""
    started = add_marker(workspace, "built-once", slow=2)
    first = start_make(workspace)
    wait_for(started.exists)
    second = start_make(workspace)
    _, first_err = first.communicate()
    second_out, second_err = second.communicate()
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "waiting for it" in second_out
    assert "up to date" in second_out
    assert "built-once" in text(workspace)


@pytest.mark.parametrize(
    ("source", "content", "reading"),
    [
        ("figures_src/data/marker.txt", "{}\n", 'open("data/marker.txt").read().strip()'),  # a data file
        (
            "pipeline/units.py",
            'VALUE = "{}"\n',
            'importlib.import_module("pipeline.units").VALUE',
        ),  # a module
    ],
)
def test_a_file_a_notebook_reads_reruns_exactly_that_notebook(
    workspace: Workspace, source: str, content: str, reading: str
) -> None:
    """Read by ex2 only (a new module in pipeline/, say): editing it reruns ex2, not ex1,
    each time: a second edit is seen only if the rerun's stamp holds the file anew."""
    workspace.write(source, content.format("first-value"))
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    cell = f'\n# %% Read a file\nimport importlib\n\npublish("fresh_marker", {reading})\n'
    workspace.write("figures_src/ex2.py", notebook + cell)
    workspace.edit("templates/ex2.tex", r"\section{", "Read: \\VAR{ex2.fresh_marker}.\n\\section{")
    workspace.make()
    assert "first-value" in text(workspace)
    for value in ("second-value", "third-value"):
        workspace.write(source, content.format(value))
        done = workspace.make()
        assert re.findall(r"\[notebook\] (\S+): running", done.stdout) == ["figures_src/ex2.py"]
        assert value in text(workspace)


def test_a_deleted_notebook_leaves_the_pdf(workspace: Workspace) -> None:
    layout = Layout(workspace.root)
    assert "figures_src/ex2.py" in text(workspace)
    (workspace.root / "figures_src" / "ex2.py").unlink()
    (workspace.root / "templates" / "ex2.tex").unlink()
    workspace.make()
    assert "figures_src/ex2.py" not in text(workspace)
    assert "Counting" not in text(workspace)
    assert not list(layout.figures.glob("ex2-*")), "the deleted notebook's figures are still there"
    assert not layout.results_of("ex2").exists()
    assert not layout.code_pdf_of("ex2").exists()


def test_a_renamed_notebook_stops_at_the_template_line_using_its_values(workspace: Workspace) -> None:
    before = checksum(workspace.pdf)
    (workspace.root / "figures_src" / "ex2.py").rename(workspace.root / "figures_src" / "ex9.py")
    done = workspace.make(check=False)
    assert done.returncode != 0
    path, line, message = quickfix(done.stderr)[0]
    assert path == "templates/ex2.tex"
    assert "ex2" in (workspace.root / path).read_text(encoding="utf-8").splitlines()[line - 1]
    assert "'ex2' is undefined" in message
    assert checksum(workspace.pdf) == before


def test_a_template_the_document_never_reads_is_named(workspace: Workspace) -> None:
    """`exercise4.tex` is rendered like every template, but only ex<N>.tex are exercises."""
    workspace.write("templates/exercise4.tex", "\\section{Exercise 4}\n")
    done = workspace.make()
    assert "templates/exercise4.tex: warning: not in the document" in done.stderr
    assert "templates/ex1.tex" not in done.stderr


def test_backups_copies_and_locks_are_not_sources(workspace: Workspace) -> None:
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    broken = notebook + "\nraise SystemExit('a copy must never run')\n"
    workspace.write("figures_src/ex2_old.py", broken)
    workspace.write("figures_src/ex2 copy.py", broken)
    workspace.write("figures_src/Ex2.py", broken)
    workspace.write("templates/ex1.tex~", r"\undefinedmacro")
    workspace.write("templates/ex1-draft.tex", r"\VAR{no.such.value}")
    (workspace.root / "templates" / ".#ex1.tex").symlink_to("user@host.12345:1700000000")
    workspace.make()  # with the workspace's fixed date
    before = checksum(workspace.pdf)
    done = workspace.make()
    assert "[notebook]" not in done.stdout and "up to date" in done.stdout
    warned = sorted(re.findall(r"^(.+): warning: ignored", done.stderr, flags=re.MULTILINE))
    assert warned == [
        "figures_src/Ex2.py", "figures_src/ex2 copy.py", "figures_src/ex2_old.py", "templates/ex1-draft.tex"
    ]  # fmt: skip
    assert checksum(workspace.pdf) == before


def test_a_new_exercise_appears_in_order_without_editing_the_document(workspace: Workspace) -> None:
    workspace.write(
        "figures_src/ex4.py",
        "# %% 4(a) A new task\nfrom pipeline.publish import publish\n\npublish('answer', 42)\n",
    )
    workspace.write(
        "templates/ex4.tex", "\\section{A fourth exercise}\n\\task{a}{New}\nIt is \\VAR{ex4.answer}.\n"
    )
    workspace.make()
    pdf = text(workspace)
    assert "A fourth exercise" in pdf and "It is 42." in pdf
    assert pdf.index("Counting") < pdf.index("A fourth exercise") < pdf.index("Code and output")


@pytest.mark.parametrize(
    "ending", ["sys.exit()", "quit()", "raise SystemExit(1)", "input('Continue? ')", "breakpoint()"]
)
def test_a_cell_that_ends_the_run_or_waits_for_a_keyboard_is_an_error_at_its_line(
    workspace: Workspace, ending: str
) -> None:
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    workspace.write("figures_src/ex2.py", notebook + f"\n# %% The end\nimport sys\n{ending}\n")
    line = len((notebook + "\n# %% The end\nimport sys\n").splitlines()) + 1
    before = checksum(workspace.pdf)
    start = time.monotonic()
    done = workspace.make(check=False)
    assert time.monotonic() - start < 60
    assert done.returncode != 0
    assert quickfix(done.stderr)[0][:2] == ("figures_src/ex2.py", line), done.stderr
    assert checksum(workspace.pdf) == before


def test_a_cell_past_its_time_limit_stops_the_build_with_its_line(workspace: Workspace) -> None:
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    workspace.write("figures_src/ex2.py", notebook + "\n# %% Forever\nx = 0\nwhile True:\n    x += 1\n")
    config = (workspace.root / "report.toml").read_text(encoding="utf-8")
    workspace.write("report.toml", config + "\n[build]\ncell_timeout_minutes = 0.2\n")
    before = checksum(workspace.pdf)
    done = workspace.make(check=False)
    assert done.returncode != 0
    assert "[notebook] figures_src/ex2.py: running" in done.stdout
    assert re.search(r"figures_src/ex2.py: cell \d+ \(line \d+\) still running after 10 s", done.stdout)
    path, line, message = quickfix(done.stderr)[0]
    assert path == "figures_src/ex2.py" and line > len(notebook.splitlines())
    assert "ran longer than its limit of 12 s" in message
    assert checksum(workspace.pdf) == before


def test_a_closed_pipe_does_not_cost_the_pdf(workspace: Workspace) -> None:
    """`make | head -1`: the reader goes away after one line; the build still finishes."""
    workspace.edit("templates/ex2.tex", r"\section{", "Piped into head.\n\\section{")
    piped = workspace.run(["bash", "-c", "make --no-print-directory | head -1"])
    assert "Traceback" not in piped.stderr
    wait_for(lambda: not (workspace.layout.build / ".submission.compiling").exists())
    assert workspace.pdf.exists()
    done = workspace.make()  # waits for the build behind the pipe, if it still runs
    assert "Piped into head." in text(workspace)
    assert "up to date" in done.stdout


def test_ctrl_c_at_any_moment_keeps_a_whole_pdf(workspace: Workspace) -> None:
    """Interrupt builds at random moments: the PDF is always a whole one, the old or the
    new, and the next make brings it up to date."""
    randomly = random.Random(7)
    for attempt in range(8):
        workspace.edit("templates/ex2.tex", r"\section{", f"Interrupted build {attempt}.\n\\section{{")
        build = start_make(workspace)
        time.sleep(randomly.uniform(0.05, 1.5))
        os.killpg(build.pid, signal.SIGINT)
        build.communicate()
        assert workspace.pdf.exists()
        pages = subprocess.run(["pdfinfo", str(workspace.pdf)], capture_output=True, text=True, check=False)
        assert pages.returncode == 0, f"attempt {attempt}: the PDF is damaged"
    workspace.make()
    assert "Interrupted build 7." in text(workspace)


def test_python_build_py_brings_everything_up_to_date(workspace: Workspace) -> None:
    add_marker(workspace, "run-by-build-py")
    done = workspace.run([str(workspace.root / ".venv" / "bin" / "python"), "build.py"])
    assert done.returncode == 0, done.stderr
    assert "[notebook] figures_src/ex2.py: running" in done.stdout
    assert "run-by-build-py" in text(workspace)


def test_the_pdf_holds_no_path_of_the_machine(engine: Workspace) -> None:
    data = engine.pdf.read_bytes()
    assert str(engine.root).encode() not in data
    assert b"PTEX.FileName" not in data


def test_the_same_sources_give_the_same_bytes_anywhere(tmp_path: Path, engine: Workspace) -> None:
    """Clean builds in two folders (one with a space and a non-ASCII letter in its name),
    with one job and with the default; a preamble edit and its undo. The first is the
    engine project's own build, from clean (conftest.py's `engine`)."""
    here = engine
    there = copy_project(tmp_path / "Prüfung Abgabe" / "second", engine.root)
    there.make("clean")
    there.make("-j1")
    assert checksum(here.pdf) == checksum(there.pdf)
    preamble = (there.root / "templates" / "preamble.tex").read_text(encoding="utf-8")
    there.write("templates/preamble.tex", preamble + "\\usepackage{array}\n")
    assert "[format]" in there.make().stdout
    there.write("templates/preamble.tex", preamble)
    assert "[format]" in there.make().stdout
    assert checksum(here.pdf) == checksum(there.pdf)


# What the tests below mount, tried first: a small tmpfs, and a bind mount made read-only.
MOUNT_PROBE = (
    "mount -t tmpfs -o size=16k tmpfs .mount-probe"
    " && mount --bind .mount-probe .mount-probe && mount -o remount,ro,bind .mount-probe"
)


def in_private_mounts(workspace: Workspace, script: str) -> subprocess.CompletedProcess:
    """Run `script` (bash) in the workspace in a mount namespace of its own, so that the
    file systems it mounts (a full one, a read-only one) vanish with it. Root makes one
    with `unshare --mount`; another user in a user namespace of its own as well
    (`unshare --map-root-user --mount`), where the kernel lets users mount a tmpfs and
    bind mounts. A machine that allows neither skips the test and says what is missing."""
    user = "root" if os.geteuid() == 0 else "this user"
    command = [
        "unshare",
        *([] if user == "root" else ["--map-root-user"]),
        "--mount",
        "--propagation",
        "private",
    ]
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (Debian's util-linux) to mount a full and a read-only file system")
    (workspace.root / ".mount-probe").mkdir()
    tried = workspace.run([*command, "bash", "-c", MOUNT_PROBE])
    (workspace.root / ".mount-probe").rmdir()  # its mounts vanished with the namespace
    if tried.returncode != 0:
        pytest.skip(
            f"needs a mount namespace to mount a full and a read-only file system, which {user} may not "
            f"make here ({' '.join(command)}: {tried.stderr.strip()}); run it as root, or where the kernel "
            "allows unprivileged user namespaces (sysctl user.max_user_namespaces, "
            "kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns)"
        )
    return workspace.run([*command, "bash", "-c", script])


def test_a_full_disk_is_one_line_and_keeps_the_pdf(workspace: Workspace) -> None:
    workspace.make()
    before = checksum(workspace.pdf)
    workspace.edit("templates/ex2.tex", r"\section{", "Written to a full disk.\n\\section{")
    done = in_private_mounts(
        workspace,
        """set -e
        rm -f report/build/submission.pdf
        cp -a report/build ../saved-build
        mount -t tmpfs -o size=$(( $(du -sk ../saved-build | cut -f1) + 150 ))k tmpfs report/build
        cp -a ../saved-build/. report/build/
        make --no-print-directory""",
    )
    assert done.returncode != 0
    assert "report/build: error: pdfTeX could not write the PDF: no space left on device" in done.stderr
    assert "Traceback" not in done.stderr
    assert checksum(workspace.pdf) == before


FILL_A_SMALL_DISK = """
from pathlib import Path

from pipeline.stamps import write_atomically

try:
    write_atomically(Path("small/submission.pdf"), bytes(100_000))
except OSError as problem:
    print(problem.filename, problem.strerror)
"""


def test_a_write_that_fills_the_disk_leaves_no_half_file_and_names_its_file(workspace: Workspace) -> None:
    """The PDF, the stamps and the rendered LaTeX are all published by write_atomically."""
    workspace.write("fill.py", FILL_A_SMALL_DISK)
    done = in_private_mounts(
        workspace,
        "mkdir small && mount -t tmpfs -o size=16k tmpfs small && .venv/bin/python fill.py && ls -A small",
    )
    assert done.stdout.splitlines() == ["small/submission.pdf No space left on device"], done.stderr


@pytest.mark.parametrize("folder", ["report", "report/build"])
def test_a_read_only_folder_is_one_line_and_keeps_the_pdf(workspace: Workspace, folder: str) -> None:
    before = checksum(workspace.pdf)
    workspace.edit("templates/ex2.tex", r"\section{", "Written to a read-only folder.\n\\section{")
    done = in_private_mounts(
        workspace,
        f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && make --no-print-directory",
    )
    assert done.returncode != 0
    assert re.match(rf"{folder}[^:]*: error: read-only file system\n", done.stderr), done.stderr
    assert done.stderr.count("error:") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert checksum(workspace.pdf) == before


def start_watch(workspace: Workspace) -> subprocess.Popen:
    """`make watch` in the background, in a process group of its own (for Ctrl-C), what
    it says going to workspace/watch.out (a pipe nobody reads could fill and stop it)."""
    with (workspace.root / "watch.out").open("w") as out:
        return subprocess.Popen(
            ["make", "--no-print-directory", "watch"], cwd=workspace.root, env=clean_environment(),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def said_by_watch(workspace: Workspace) -> str:
    return (workspace.root / "watch.out").read_text(encoding="utf-8", errors="replace")


def stop_watch(workspace: Workspace, watch: subprocess.Popen) -> None:
    """Ctrl-C, as a user types it: the whole watch (make, Python, a waiting pdfLaTeX) ends."""
    os.killpg(watch.pid, signal.SIGINT)
    try:
        watch.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(watch.pid, signal.SIGKILL)
        raise AssertionError(
            f"Ctrl-C did not stop make watch; it said:\n{said_by_watch(workspace)}"
        ) from None


def test_a_save_during_a_build_of_make_watch_reaches_the_pdf(workspace: Workspace) -> None:
    """The second save lands while the watch's pdfLaTeX runs (its `.submission.compiling`
    marker is there before and after the save); then the watch builds again by itself."""
    compiling = workspace.layout.build / ".submission.compiling"
    template = (workspace.root / "templates" / "ex2.tex").read_text(encoding="utf-8")
    watch = start_watch(workspace)

    def save_during_a_watch_build(number: int) -> str | None:
        made = workspace.pdf.stat().st_mtime_ns
        first, during = f"First save {number}.", f"Saved while watch was building {number}."
        workspace.write("templates/ex2.tex", template.replace(r"\section{", f"{first}\n\\section{{", 1))
        wait_for(lambda: compiling.exists() or workspace.pdf.stat().st_mtime_ns != made, seconds=60)
        workspace.write("templates/ex2.tex", template.replace(r"\section{", f"{during}\n\\section{{", 1))
        raced = compiling.exists()
        wait_for(lambda: during in text(workspace), seconds=60, what=f"the PDF to show {during!r}")
        return during if raced else None

    try:
        wait_for(lambda: list((workspace.layout.build).glob(".warm-*")), seconds=60)  # built once
        until_raced(save_during_a_watch_build, "while the watch's pdfLaTeX ran")
    finally:
        stop_watch(workspace, watch)


def test_make_watch_makes_the_pdf_make_makes(workspace: Workspace) -> None:
    """The watch builds in its own process, with a pdfLaTeX kept waiting: the same bytes."""
    watch = start_watch(workspace)
    try:
        wait_for(lambda: list((workspace.layout.build).glob(".warm-*")), seconds=60)
        workspace.edit("templates/ex2.tex", r"\section{", "Built by the watch.\n\\section{")
        wait_for(lambda: "Built by the watch." in text(workspace), seconds=60)
    finally:
        stop_watch(workspace, watch)
    watched = checksum(workspace.pdf)
    assert not list((workspace.layout.build).glob(".warm-*")), "the watch left its pipe behind"
    left = sorted(path.name for path in workspace.layout.build.glob("*.fls"))
    assert left == ["submission.fls"], "the waiting pdfLaTeX left its file list behind"
    workspace.make("clean")
    workspace.make()
    assert checksum(workspace.pdf) == watched


@pytest.mark.parametrize("module", ["pipeline/texify.py", "build.py"])
def test_make_watch_restarts_when_the_builds_own_code_changes(workspace: Workspace, module: str) -> None:
    """Every module the watch has loaded counts, build.py as much as pipeline/: a watch
    running old code would make a PDF that `make` does not."""
    watch = start_watch(workspace)
    try:
        wait_for(lambda: list(workspace.layout.build.glob(".warm-*")), seconds=60)
        code = (workspace.root / module).read_text(encoding="utf-8")
        workspace.write(module, code + "\n# An edited comment.\n")
        wait_for(lambda: said_by_watch(workspace).count("[watch] waiting for a save") >= 2, seconds=60)
        assert "the build's own code changed; starting the watch anew" in said_by_watch(workspace)
    finally:
        stop_watch(workspace, watch)


def test_make_watch_writing_its_log_into_the_project_builds_once(workspace: Workspace) -> None:
    """`make watch > watch.log` in the project: its own lines are not saves to build."""
    watch = start_watch(workspace)
    try:
        wait_for(lambda: "[watch] waiting for a save" in said_by_watch(workspace), seconds=60)
        time.sleep(3)
        assert said_by_watch(workspace).count("[watch] waiting for a save") == 1
    finally:
        stop_watch(workspace, watch)


def test_make_watch_piped_into_a_log_in_the_project_builds_once(workspace: Workspace) -> None:
    """`make watch | tee watch.log`: the log is written by tee, yet it is no source."""
    log = workspace.root / "tee.log"
    watch = subprocess.Popen(
        ["bash", "-c", "make --no-print-directory watch 2>&1 | tee tee.log"], cwd=workspace.root,
        env=clean_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: log.exists() and "[watch] waiting for a save" in log.read_text(), seconds=60)
        time.sleep(3)
        assert log.read_text().count("[watch] waiting for a save") == 1
    finally:
        os.killpg(watch.pid, signal.SIGINT)
        watch.wait(timeout=30)


def test_code_saved_during_a_watch_build_is_not_stamped_as_built(workspace: Workspace) -> None:
    """A module the watch has loaded, saved while it builds (while ex2's slow cell sleeps:
    its log says `started` and not yet `finished`): that build ran the old code, so the
    watch starts anew and builds the document again with the new."""
    started = add_marker(workspace, "first", slow=3)
    page = (workspace.root / "pipeline" / "page.py").read_text(encoding="utf-8")
    restart = "the build's own code changed; starting the watch anew"
    shown = "first"
    watch = start_watch(workspace)

    def restarted(times: int) -> bool:
        """Whether the watch started anew `times` times and then built and waits again."""
        said = said_by_watch(workspace)
        return said.count(restart) >= times and "[watch] waiting for a save" in said.rsplit(restart, 1)[-1]

    def save_code_during_a_watch_build(number: int) -> str | None:
        nonlocal shown
        started.unlink(missing_ok=True)
        set_marker(workspace, shown, f"run-{number}")
        shown = f"run-{number}"
        wait_for(started.exists, seconds=60)  # the notebook runs: the build is under way
        workspace.write("pipeline/page.py", page + f"\n# Saved during build {number}.\n")
        raced = first_run_still_sleeping(started)
        wait_for(lambda: restarted(number + 1), seconds=90)
        return said_by_watch(workspace).rsplit(restart, 1)[-1] if raced else None

    try:
        wait_for(lambda: list(workspace.layout.build.glob(".warm-*")), seconds=90)
        after = until_raced(save_code_during_a_watch_build, "while the watch's notebook ran")
        assert "[latex]" in after, said_by_watch(workspace)
        assert shown in text(workspace)
    finally:
        stop_watch(workspace, watch)


def test_steps_side_by_side_can_write_the_same_file(tmp_path: Path) -> None:
    """The code pages of every notebook are typeset in parallel threads, and each writes
    the same style file: no writer may rename another's half-written file away."""
    target = tmp_path / "code-style.tex"
    texts = [f"style {n}\n" * 1000 for n in range(8)]

    def write_many(text: str) -> None:
        for _ in range(200):
            write_atomically(target, text)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write_many, texts))
    assert target.read_text(encoding="utf-8") in texts
    assert [path.name for path in tmp_path.iterdir()] == ["code-style.tex"]


def test_a_notebook_that_exits_quietly_is_an_error(workspace: Workspace) -> None:
    """`os._exit(0)` in a cell ends the notebook with exit 0 and no results of this run."""
    add_marker(workspace, "never-shown")
    notebook = (workspace.root / "figures_src" / "ex2.py").read_text(encoding="utf-8")
    workspace.write("figures_src/ex2.py", notebook + "\n# %% Gone\nimport os\n\nos._exit(0)\n")
    done = workspace.make(check=False)
    assert done.returncode != 0
    assert "figures_src/ex2.py: error: the notebook ended before its last cell" in done.stderr
    assert "never-shown" not in text(workspace)
    assert workspace.make(check=False).returncode != 0
