"""`make bench`: how fast the build is, as ratios against floors measured in the same run.

Works in a throw-away copy of the project (tests/workspace.py, sharing .venv), so the real
report/ is untouched.
Prints one line per measure: the median of several runs, the floor, their ratio, the target.

  1. template edit -> PDF        vs  a bare `latexmk -pdf` of the same rendered .tex, same state
     save -> PDF under make watch vs  the same bare latexmk
  2. clean build                 vs  that bare latexmk from clean + the notebooks run as plain scripts
  3. no-op `make`                    absolute (make's own work)
  4. one notebook edited             how many notebooks rerun (should be 1)
  5. peak memory                     the largest resident size of any process the build ran
"""

import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.latex import latex_environment
from pipeline.paths import PROJECT, Layout

sys.path.insert(0, str(PROJECT.root / "tests"))
from workspace import clean_environment, copy_project

RUNS = 5


def run(command: list[str], cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        said = f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        raise RuntimeError(f"{' '.join(command)} failed in {cwd}:\n{said}")
    return done.stdout


def timed(action: Callable[[], object], prepare: Callable[[], object] = lambda: None) -> float:
    """Median wall time of `action` over RUNS runs, each after `prepare` (not timed)."""
    times = []
    for _ in range(RUNS):
        prepare()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bump(path: Path) -> None:
    """An edit: append a sentence-sized comment, so every run really changes the file."""
    with path.open("a", encoding="utf-8") as file:
        file.write(f"% edit {time.perf_counter_ns()}\n")


def report(name: str, value: float, floor: float | None, target: str) -> None:
    if floor is None:
        print(f"{name:<34} {value:8.3f} s{'':26} target {target}")
    else:
        print(f"{name:<34} {value:8.3f} s  floor {floor:7.3f} s  ratio {value / floor:5.2f}  target {target}")


def watched_save(project: Path, env: dict, template: Path) -> float:
    """Median time from a save to the new PDF while `make watch` runs."""
    watch = subprocess.Popen(
        ["make", "--no-print-directory", "watch"], cwd=project, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    pdf, build = Layout(project).pdf, Layout(project).build

    def ready() -> None:  # the watch waits, with a pdfLaTeX waiting too
        deadline = time.monotonic() + 60
        while not list(build.glob(".warm-*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)

    def save_and_wait() -> None:
        before = pdf.stat().st_mtime_ns, pdf.stat().st_ino
        bump(template)
        while (pdf.stat().st_mtime_ns, pdf.stat().st_ino) == before:
            time.sleep(0.002)

    try:
        return timed(save_and_wait, ready)
    finally:
        os.killpg(watch.pid, signal.SIGINT)
        watch.wait()


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    project = copy_project(scratch / "project").root
    # As if started by hand: `make bench`'s own make must not lend its job slots.
    env = clean_environment()
    make = ["make", "--no-print-directory"]
    build = project / "report" / "build"
    latexmk = [
        "latexmk", "-pdf", "-silent", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
        "submission.tex",
    ]  # fmt: skip
    tex_env = latex_environment(build, 1700000000)
    try:
        run([*make], project, env)
        layout = Layout(project)
        template = layout.templates_dir / f"{layout.exercises()[-1]}.tex"  # whatever sheet it holds
        edit_to_pdf = timed(lambda: run(make, project, env), lambda: bump(template))
        bare = timed(lambda: run(latexmk, build, tex_env), lambda: bump(build / template.name))
        report("1. template edit -> PDF", edit_to_pdf, bare, "<= 0.78")
        report("   save -> PDF under make watch", watched_save(project, env, template), bare, "<= 0.6")

        preamble = project / "templates" / "preamble.tex"
        preamble_edit = timed(lambda: run(make, project, env), lambda: bump(preamble))
        bare_preamble = timed(lambda: run(latexmk, build, tex_env), lambda: bump(build / "preamble.tex"))
        report("   preamble edit -> PDF", preamble_edit, bare_preamble, "<= 1.5")

        notebooks = layout.notebooks()
        python = sys.executable
        clean_build = timed(lambda: run(make, project, env), lambda: run([*make, "clean"], project, env))

        def floor_from_clean() -> None:
            for notebook in notebooks:
                run([python, "-m", f"figures_src.{notebook.stem}"], project, env)
            shutil.rmtree(build, ignore_errors=True)
            build.mkdir()
            for tex in (scratch / "rendered").glob("*"):
                shutil.copy(tex, build)
            run(latexmk, build, tex_env)

        shutil.copytree(
            build,
            scratch / "rendered",
            ignore=shutil.ignore_patterns(
                "*.aux", "*.pdf", "*.fdb*", "*.fls", "*.log", "*.out", ".*", "*.fmt"
            ),
        )
        floor = timed(floor_from_clean)
        report("2. clean build", clean_build, floor, "<= 1.5")

        run(make, project, env)
        noop = timed(lambda: run(make, project, env))
        report("3. no-op make", noop, None, "< 0.15 s")

        bump_notebook = notebooks[-1]
        with bump_notebook.open("a", encoding="utf-8") as file:
            file.write("\n# An edited comment.\n")
        output = run(make, project, env)
        rerun = re.findall(r"\[notebook\] (\S+): running", output)
        rerun_list = " ".join(rerun)
        print(f"{'4. one notebook edited':<34} {len(rerun)} of {len(notebooks)} rerun: {rerun_list}")

        run([*make, "clean"], project, env)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        run(make, project, env)
        peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        print(f"{'5. peak memory of one process':<34} {peak_mb:8.0f} MB{'':25} target < 500 MB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
