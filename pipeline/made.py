"""What the build made under report/: the only files it ever deletes.

git never deletes a file it does not track, and make clean removes what the build
made. Here, every file a step writes under report/ is recorded in report/stamps/made.json
once the step is done; a build (replacing or dropping an old output) and `make clean`
delete only recorded files, and name each other file they find and leave alone. So a
drawing copied into report/figures/, notes kept in report/, or a synced folder that
report/ links to keep everything the build did not put there.

A TeX run writes files named after its job (`submission.aux`, `.log`, `.out`, ...):
those are recorded by the job's name, as latexmk's cleanup finds them.
"""

import contextlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import say, warning
from pipeline.paths import PROJECT
from pipeline.stamps import write_atomically

_recording = threading.Lock()  # steps that run side by side record their files in turn


def recorded() -> set[str]:
    """The project-relative names of the files the build made and has not deleted."""
    try:
        return set(json.loads(PROJECT.made.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return set()


def _write(names: set[str]) -> None:
    write_atomically(PROJECT.made, json.dumps(sorted(names), indent=0) + "\n")


def record(paths: Iterable[Path]) -> None:
    """Note `paths` (those that exist under report/) as made by the build."""
    new = {PROJECT.shown(path) for path in paths if _in_report(path) and Path(path).exists()}
    with _recording:
        names = recorded()
        if not new <= names:
            _write(names | new)


# What TeX and its tools write beside a job (latexmk's list, and the code pages' chunk log).
JOB_EXTENSIONS: tuple[str, ...] = ("aux", "bbl", "bcf", "blg", "chunks", "fdb_latexmk", "fls")
JOB_EXTENSIONS += ("lof", "log", "lot", "out", "pdf", "run.xml", "synctex.gz", "toc")


def job_files(folder: Path, job: str) -> list[Path]:
    """The files a TeX job wrote in `folder` (`<job>.aux`, `.log`, ...) and its compile marker."""
    return [folder / f"{job}.{extension}" for extension in JOB_EXTENSIONS] + [folder / f".{job}.compiling"]


def delete(paths: Iterable[Path]) -> None:
    """Delete those of `paths` the build made; the others stay (name_what_is_not_ours in
    build.py names them once per build)."""
    with _recording:
        names = recorded()
        gone = {name for path in paths if (name := PROJECT.shown(path)) in names}
        for name in gone:
            (PROJECT.root / name).unlink(missing_ok=True)
        if gone:
            _write(names - gone)


def _in_report(path: Path) -> bool:
    return Path(os.path.abspath(path)).is_relative_to(PROJECT.report)


def _own_bookkeeping() -> set[Path]:
    """report/'s own files, outside any step: the lock, the setup's note, the stamps
    (this record among them), and the .gitignore that keeps report/ out of git."""
    return {PROJECT.lock, PROJECT.tex_ready, PROJECT.report / ".gitignore", *_stamps()}


def _stamps() -> list[Path]:
    return list(PROJECT.stamps.glob("*.json"))


def files_under_report() -> list[Path]:
    """Every file under report/, without following a symbolic link to a folder (which may
    lead out of the project); the named pipe of a waiting pdfLaTeX (.warm-*) aside."""
    found = []
    for folder, subfolders, files in os.walk(PROJECT.report):
        subfolders[:] = [name for name in subfolders if not name.startswith(".warm-")]
        found += [Path(folder) / name for name in files]
        found += [Path(folder) / name for name in subfolders if (Path(folder) / name).is_symlink()]
    return sorted(set(found) - _own_bookkeeping())


def unknown_files() -> list[Path]:
    """Files under report/ that the build did not make: someone put them there."""
    names = recorded()
    return [path for path in files_under_report() if PROJECT.shown(path) not in names]


def adopt_an_older_builds_files() -> None:
    """A report/ made before the build kept this record (no made.json, but stamps) holds
    only what that build made, as it deleted every other file there: record all of it."""
    if not PROJECT.made.exists() and PROJECT.stamps.is_dir():
        record(files_under_report())


def clean() -> None:
    """Delete every file the build made and the folders that leave empty; name each file
    left alone. A folder reached through a symbolic link is never entered."""
    adopt_an_older_builds_files()
    strangers = unknown_files()  # named before the record that tells them apart goes
    for name in sorted(recorded()):
        if not _through_a_link(PROJECT.root / name):
            (PROJECT.root / name).unlink(missing_ok=True)
    for stamp in [*_stamps(), PROJECT.tex_ready]:  # the next make checks TeX Live again
        stamp.unlink(missing_ok=True)
    for path in strangers:
        say(warning(path, None, "not made by the build, so make clean left it alone"), error=True)
    for folder, _, _ in sorted(os.walk(PROJECT.report), reverse=True):
        if Path(folder) != PROJECT.report and not Path(folder).is_symlink():
            with contextlib.suppress(OSError):  # not empty: it holds a file the build did not make
                Path(folder).rmdir()


def _through_a_link(path: Path) -> bool:
    """Whether reaching `path` from the project goes through a symbolic link below report/."""
    current = path.parent
    while current != PROJECT.report and current.is_relative_to(PROJECT.report):
        if current.is_symlink():
            return True
        current = current.parent
    return False
