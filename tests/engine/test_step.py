"""pipeline/step.py: the one shape of a step, on files of a folder of the test's own."""

import time
from pathlib import Path

import pytest

from pipeline.paths import Layout
from pipeline.stamps import snapshot
from pipeline.step import MTIME_LAG_NS, Step


def step_in(root: Path, **options: object) -> tuple[Step, Path, Path]:
    source, target = root / "source.txt", root / "target.txt"
    source.write_text("first", encoding="utf-8")
    return Step("copy", [source], layout=Layout(root), **options), source, target  # type: ignore[arg-type]


def copy(step: Step, source: Path, target: Path) -> None:
    with step.running() as ran:
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        ran.outputs = [target]


def test_a_step_runs_until_it_is_current_and_again_when_an_input_or_output_changes(tmp_path: Path) -> None:
    step, source, target = step_in(tmp_path)
    assert step.why() == "not built yet"
    copy(step, source, target)
    assert step.why() is None
    source.write_text("second", encoding="utf-8")
    assert step.why() == "source.txt changed"
    copy(step, source, target)
    target.write_text("edited by hand", encoding="utf-8")
    assert step.why() == "target.txt changed"


def test_an_input_saved_while_the_step_runs_is_a_change_for_the_next_build(tmp_path: Path) -> None:
    """The save is made inside the step's run, after the step read the file: the race
    happens every time, and the output shows the step used what was there before it."""
    step, source, target = step_in(tmp_path)
    with step.running() as ran:
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        source.write_text("saved during the run", encoding="utf-8")
        ran.outputs = [target]
    assert target.read_text(encoding="utf-8") == "first"  # made from the file before the save
    assert step.why() == "source.txt changed"


def test_a_step_that_fails_or_is_refused_leaves_no_stamp(tmp_path: Path) -> None:
    step, _, target = step_in(tmp_path)
    with pytest.raises(ZeroDivisionError), step.running():
        _ = 1 / 0
    assert step.why() == "not built yet"

    def refuse(ran: object) -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"), step.running(check=refuse) as ran:
        ran.outputs = [target]
    assert step.why() == "not built yet"


def test_inputs_a_step_finds_are_what_its_stamp_lists(tmp_path: Path) -> None:
    step, _, target = step_in(tmp_path, inputs_found=True)
    found = tmp_path / "found.txt"
    found.write_text("read while running", encoding="utf-8")
    with step.running() as ran:
        ran.outputs, ran.read = [target], {"found.txt": "its hash when read"}
    assert step.why() == "found.txt changed"  # hashed anew: not what was recorded


def test_a_file_first_found_in_a_run_and_saved_during_it_is_a_change_for_the_next_build(
    tmp_path: Path,
) -> None:
    """A file found while the step runs (a part the document `\\input`s for the first time)
    is hashed only after the step read it: saved in between, the hash is of content the
    step never read, so the next build must run the step again. One found and left alone
    keeps the step current."""
    step, source, target = step_in(tmp_path, inputs_found=True)  # as the document's compile
    part, kept = tmp_path / "part.tex", tmp_path / "kept.tex"
    part.write_text("read by the step", encoding="utf-8")
    kept.write_text("read and left alone", encoding="utf-8")
    time.sleep(2 * MTIME_LAG_NS / 1e9)  # saved well before the run
    with step.running() as ran:
        target.write_text(
            source.read_text(encoding="utf-8") + part.read_text(encoding="utf-8"), encoding="utf-8"
        )
        part.write_text("saved after the step read it", encoding="utf-8")
        ran.outputs, ran.found = [target], snapshot(step.layout, [part, kept])
    assert step.why() == "part.tex changed"
    copy(step, source, target)
    with step.running() as ran:
        ran.outputs, ran.found = [target], snapshot(step.layout, [kept])
    assert step.why() is None
