"""`make watch`: rebuild on every save, in this one process.

    python -m pipeline.watch        (what `make watch` runs; Ctrl-C stops it)

The operating system reports each save (watchfiles: inotify on Linux), no polling. The
build runs in this process, with Python, Jinja2 and the build's modules already loaded,
through the very function `make` runs (build.run), so the PDF is the one `make` would
make. A save made during a build is queued by watchfiles and starts the next build as
soon as this one ends; and since every step is decided by content, nothing is missed.
Between builds a pdfLaTeX waits with the preamble format loaded (pipeline/latex.py's
WarmTeX), so the next compile skips loading it.

An edit to a module this process has loaded (build.py, pipeline/, and what they import
from the project) restarts the watch: it never builds with
code older than what is on disk.
"""

import os
import shutil
import signal
import stat
import sys
from pathlib import Path

import watchfiles

import build
from pipeline.latex import cool_down, waiting_record, warm_up
from pipeline.paths import PROJECT
from pipeline.stamps import Stamp, forget, read_stamp, snapshot

# After the first event, wait this long for more (an editor's save is several events).
SETTLE_MS = 20
IDLE_MS = 500  # how often the watcher looks up from waiting (it yields nothing then)


class Sources(watchfiles.DefaultFilter):
    """Every file of the project but what the build makes, what is not the project's, and
    the file this watch writes to (`make watch > watch.log`: each line it says would be a
    save, and the watch would build forever)."""

    def __init__(self) -> None:
        super().__init__(ignore_dirs=(*self.ignore_dirs, "report", ".venv"))
        self.own_output = {identity(os.fstat(fd)) for fd in (1, 2) if writes_to_a_file(fd)}

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        try:
            if identity(os.stat(path)) in self.own_output:
                return False
        except OSError:
            pass
        return super().__call__(change, path)


def identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def writes_to_a_file(fd: int) -> bool:
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:  # closed
        return False


def loaded_modules() -> set[Path]:
    """The source files of the modules this process has loaded."""
    files = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
    return {Path(file).resolve() for file in files if file}


def own_code_changed(changes: set[tuple[watchfiles.Change, str]]) -> bool:
    """Whether a changed file is the source of a module loaded here: Python would go on
    running the old code, so the watch must start anew to build as `make` would."""
    loaded = loaded_modules()
    return any(Path(path).resolve() in loaded for _, path in changes)


def could_change_the_pdf(changes: set[tuple[watchfiles.Change, str]]) -> bool:
    """Whether a changed file is a source (by its place) or something a step read (its
    stamp says so; a file in a folder a notebook listed counts). Anything else, a log
    that `make watch | tee watch.log` writes into the project say, starts no build."""
    names = {PROJECT.shown(Path(path)) for _, path in changes}
    sources = ("templates/", "figures_src/", "pipeline/")
    if any(name in ("build.py", "report.toml") or name.startswith(sources) for name in names):
        return True
    read = {
        n
        for stamp in PROJECT.stamps.glob("*.json")
        for n in (read_stamp(PROJECT, stamp.stem) or Stamp()).inputs
    }
    return any(name in read or Path(name).parent.as_posix() in read for name in names)


def python_code() -> dict[str, str | None]:
    """The hashes of the project's Python files, any of which this process may load."""
    files = [
        PROJECT.root / "build.py",
        *PROJECT.pipeline_dir.glob("*.py"),
        *PROJECT.notebooks_dir.glob("*.py"),
    ]
    return snapshot(PROJECT, files)


def build_and_warm_up() -> None:
    """One build as `make` runs it, then a pdfLaTeX to wait for the next. If a module this
    process loaded was saved during the build, the PDF was made (and stamped) with code
    older than what is on disk: its in-process steps are forgotten and the watch starts
    anew, so the next build makes what `make` would."""
    code = python_code()
    build.run(lambda: build.build(figures_only=False))
    saved = {PROJECT.root / name for name, digest in python_code().items() if code.get(name) != digest}
    if {path.resolve() for path in saved} & loaded_modules():
        for step in ["document", *(stamp.stem for stamp in PROJECT.stamps.glob("code-*.json"))]:
            forget(PROJECT, step)
        start_anew()
    if os.environ.get("REPORT_FORMAT") != "off":
        try:
            warm_up(PROJECT.build, "submission", build.source_date_epoch())
        except Exception as problem:  # a build without a warm TeX is only slower
            build.say(f"[watch] no pdfLaTeX kept waiting: {problem}", error=True)
    build.say("[watch] waiting for a save; Ctrl-C stops")


def start_anew() -> None:
    build.say("[watch] the build's own code changed; starting the watch anew")
    cool_down()
    os.execv(sys.executable, [sys.executable, "-m", "pipeline.watch"])


def main() -> None:
    signal.signal(signal.SIGTERM, build.interrupt)  # `kill`, a closed terminal: stop as Ctrl-C does
    for left in PROJECT.build.glob(".warm-*"):  # by a watch that was killed
        shutil.rmtree(left, ignore_errors=True)
    for fmt in PROJECT.build.glob("preamble-*.fmt"):
        for left in PROJECT.build.glob(waiting_record(PROJECT.build, fmt.stem, "[0-9]*").name):
            left.unlink()
    build.say("[watch] building now and on every save of the project's files")
    saves = watchfiles.watch(
        PROJECT.root, watch_filter=Sources(), step=SETTLE_MS, rust_timeout=IDLE_MS, yield_on_timeout=True
    )
    next(saves)  # the watcher runs from here on: a save during the first build is not missed
    try:
        build_and_warm_up()
        for changes in saves:
            if not could_change_the_pdf(changes):
                continue
            if own_code_changed(changes):
                start_anew()
            build_and_warm_up()
    finally:
        cool_down()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C during a build: that build leaves the last good PDF
        build.say("[watch] stopped")
