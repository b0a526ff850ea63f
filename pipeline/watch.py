"""`make watch`: rebuild on every save, in this one process.

    python -m pipeline.watch        (what `make watch` runs; Ctrl-C stops it)

The operating system reports each save (watchfiles: inotify on Linux), no polling. The
build runs in this process, with Python, Jinja2 and the build's modules already loaded,
through the very function `make` runs (build.run), so the PDF is the one `make` would
make. A save made during a build is queued by watchfiles and starts the next build as
soon as this one ends; and since every step is decided by content, nothing is missed.
Between builds a pdfLaTeX waits with the preamble format loaded (pipeline/latex.py's
WarmTeX), so the next compile skips loading it.

An edit to the build's own code (build.py, pipeline/) restarts the watch: it never
builds with code older than what is on disk.
"""

import os
import shutil
import sys
from pathlib import Path

import watchfiles

import build
from pipeline.latex import cool_down, warm_up
from pipeline.paths import PROJECT

# After the first event, wait this long for more (an editor's save is several events).
SETTLE_MS = 20
IDLE_MS = 500  # how often the watcher looks up from waiting (it yields nothing then)


class Sources(watchfiles.DefaultFilter):
    """Every file of the project but what the build makes and what is not the project's."""

    def __init__(self) -> None:
        super().__init__(ignore_dirs=(*self.ignore_dirs, "report", ".venv"))


def own_code_changed(changes: set[tuple[watchfiles.Change, str]]) -> bool:
    names = {PROJECT.shown(Path(path)) for _, path in changes}
    return any(
        name == "build.py" or (name.startswith("pipeline/") and name.endswith(".py")) for name in names
    )


def build_and_warm_up() -> None:
    build.run(lambda: build.build(figures_only=False))
    if os.environ.get("REPORT_FORMAT") != "off":
        try:
            warm_up(PROJECT.build, "submission", build.source_date_epoch())
        except Exception as problem:  # a build without a warm TeX is only slower
            build.say(f"[watch] no pdfLaTeX kept waiting: {problem}", error=True)
    build.say("[watch] waiting for a save; Ctrl-C stops")


def main() -> None:
    for left in PROJECT.build.glob(".warm-*"):  # by a watch that was killed
        shutil.rmtree(left, ignore_errors=True)
    build.say("[watch] building now and on every save of the project's files")
    saves = watchfiles.watch(
        PROJECT.root, watch_filter=Sources(), step=SETTLE_MS, rust_timeout=IDLE_MS, yield_on_timeout=True
    )
    next(saves)  # the watcher runs from here on: a save during the first build is not missed
    try:
        build_and_warm_up()
        for changes in saves:
            if not changes:
                continue
            if own_code_changed(changes):
                build.say("[watch] the build's own code changed; starting the watch anew")
                cool_down()
                os.execv(sys.executable, [sys.executable, "-m", "pipeline.watch"])
            build_and_warm_up()
    finally:
        cool_down()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C during a build: that build leaves the last good PDF
        build.say("[watch] stopped")
