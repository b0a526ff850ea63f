"""Build report/submission.pdf from the sources, running only the steps whose inputs changed.

    python build.py             bring everything up to date (what `make` runs)
    python build.py --figures   rerun every notebook, whatever changed; no LaTeX
    python build.py --clean     remove everything the build made

The steps, in the one direction the build flows:

  figures_src/exN.py       -- run_notebook -->      report/results/exN.json, report/figures/*
  report/results/exN.json  -- typeset_code -->      report/code/exN-code.pdf (+ its page map)
  templates/preamble.tex   -- make_format -->       report/build/preamble-<hash>.fmt
  report.toml, results, code pages, figures, templates
                           -- compile_document -->  report/submission.pdf

A step runs only if it is not current: some file it read or wrote last time no longer
has the content recorded in its stamp. Each step names what it reads (a notebook finds
its own) and what it wrote; pipeline/step.py decides whether it runs and stamps it, the
same way for every step (pipeline/stamps.py keeps the hashes). The notebooks run side by
side, one process each, and the preamble format is made beside them. Only a complete,
successful build replaces report/submission.pdf, in one rename; a failed, interrupted
or killed build leaves the last good one. One build runs at a time in a checkout: a
second one waits for it, then does what is left.
"""

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from pipeline import made
from pipeline.errors import BuildError, BuildFailed, Reported, say, warning
from pipeline.paths import PROJECT, exercise_number
from pipeline.stamps import forget, read_stamp, snapshot, write_atomically
from pipeline.step import Ran, Step

# Jinja2, Pygments, PyLaTeX and concurrent.futures are imported where they are needed,
# so that a build with nothing to do starts in a few milliseconds.

BUILD_FAILED = "build failed; report/submission.pdf (if any) is the last good one"
# One BLAS thread per notebook: sums in a fixed order give the same round-off digits
# on every run, and the notebooks already run side by side.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# The order of a set of strings (or of a dict built from one) changes between runs of
# Python unless its hash seed is fixed: one seed, so the same sources give the same PDF.
ONE_HASH_SEED = {"PYTHONHASHSEED": "0"}
CHANGES_SHOWN = 10  # lines naming the printed values a build changed
_children: set[subprocess.Popen] = set()  # stopped if the build is interrupted


def elapsed(start: float) -> str:
    return f"{time.perf_counter() - start:.2f} s"


# --- What each step reads ---------------------------------------------------------


def tool_sources() -> list[Path]:
    """The build's own code: editing it redoes the LaTeX steps (notebooks find their own)."""
    return [PROJECT.root / "build.py", *sorted(PROJECT.pipeline_dir.glob("*.py"))]


def code_inputs(notebook: str) -> list[Path]:
    return [
        PROJECT.results_of(notebook),
        PROJECT.standalone_dir / "code-pages.tex",
        *tool_sources(),
    ]


def document_inputs(notebooks: list[str]) -> list[Path]:
    generated = [
        path
        for notebook in notebooks
        for path in (
            PROJECT.results_of(notebook),
            PROJECT.code_pdf_of(notebook),
            PROJECT.page_map_of(notebook),
        )
    ]
    figures = sorted(PROJECT.figures.glob("*")) if PROJECT.figures.is_dir() else []
    figures += sorted(PROJECT.handmade_figures.glob("*"))  # one added beside another of its name counts
    return [
        PROJECT.config,
        *PROJECT.templates(),
        *tool_sources(),
        *generated,
        *figures,
    ]


def document_settings() -> dict[str, str]:
    """What the document depends on besides files: its date and the compile route."""
    return {
        "SOURCE_DATE_EPOCH": str(source_date_epoch()),
        "REPORT_FORMAT": os.environ.get("REPORT_FORMAT", ""),
    }


def source_date_epoch() -> int:
    """The date stamped into the PDF: $SOURCE_DATE_EPOCH, else the last commit's, else 0."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        given = os.environ["SOURCE_DATE_EPOCH"]
        if not given.strip().isdigit():
            raise BuildError(f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got {given!r}")
        return int(given)
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%ct"],
            cwd=PROJECT.root,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:  # no git: a tarball of the project still builds
        return 0
    return int(commit.stdout.strip() or 0)


# --- The steps (pipeline/step.py: what each reads and writes decides whether it runs) ---


def notebook_step(notebook: str) -> Step:
    """A notebook finds its own inputs (pipeline/notebook.py's audit hook): known before it
    runs are itself and what it read last time."""
    path = PROJECT.notebooks_dir / f"{notebook}.py"
    old = read_stamp(PROJECT, f"notebook-{notebook}")
    read_last_time = [path, *(PROJECT.root / name for name in (old.inputs if old else {}))]
    return Step(f"notebook-{notebook}", read_last_time, inputs_found=True)


def code_step(notebook: str) -> Step:
    return Step(f"code-{notebook}", code_inputs(notebook))


def document_step(notebooks: list[str]) -> Step:
    """The document reads the files listed here and those its last compile found it read."""
    return Step("document", [*document_inputs(notebooks), *read_by_the_document()], document_settings())


def run_notebook(notebook: str, reason: str, timeout_minutes: float) -> None:
    """figures_src/<notebook>.py -> report/results/<notebook>.json and its figures, in a
    process of its own: a notebook's imports, globals and crashes stay its own. It runs
    in figures_src/, where Jupyter and VS Code run it too."""
    step = notebook_step(notebook)
    path = PROJECT.notebooks_dir / f"{notebook}.py"

    def saved_by_it_alone(ran: Ran) -> None:
        saved_by_no_other(notebook, [PROJECT.shown(output) for output in ran.outputs[1:]])

    with step.running(check=saved_by_it_alone) as ran:
        say(f"[notebook] {PROJECT.shown(path)}: running ({reason})")
        forget(PROJECT, step.name)
        PROJECT.results_of(notebook).unlink(missing_ok=True)  # only this run's results count
        forget_bytecode(step.inputs)
        record = run_in_its_own_process(path, timeout_minutes)
        ran.outputs = [PROJECT.results_of(notebook), *(PROJECT.root / name for name in record["files"])]
        ran.read = record["reads"]


def run_in_its_own_process(path: Path, timeout_minutes: float) -> dict:
    """Run the notebook at `path` (pipeline/notebook.py) and return the record it wrote."""
    env = {
        **os.environ,
        **ONE_THREAD,
        **ONE_HASH_SEED,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT.root), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "pipeline.notebook", str(path), "--timeout", str(timeout_minutes * 60)]
    with subprocess.Popen(
        command,
        cwd=PROJECT.notebooks_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="backslashreplace",  # a cell may write any bytes to its real stdout (os.write)
    ) as process:
        _children.add(process)
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.extend(process.stderr or ()))
        reader.start()
        for line in process.stdout or ():
            say(line.rstrip("\n"))
        reader.join()
        code = process.wait()
        _children.discard(process)
    if code != 0:
        said = "".join(errors).rstrip()
        raise (BuildError(f"the notebook stopped (exit code {code})", path) if not said else Reported(said))
    results = PROJECT.results_of(path.stem)
    if not results.exists():  # os._exit(0) in a cell, say
        raise BuildError("the notebook ended before its last cell, without an error", path)
    return dict(json.loads(results.read_text(encoding="utf-8")))


def saved_by_no_other(notebook: str, files: list[str]) -> None:
    """Two notebooks saving one figure name would overwrite each other's figure at every
    build, the PDF showing whichever ran last: an error at the line of the later notebook
    (in the order of N, whichever finished first) that names the figure."""
    path = PROJECT.notebooks_dir / f"{notebook}.py"
    for other in PROJECT.notebooks():
        stamp = read_stamp(PROJECT, f"notebook-{other.stem}") if other != path else None
        if shared := sorted(set(files) & set(stamp.outputs if stamp else {})):
            first, later = sorted([path, other], key=exercise_number)
            name = Path(shared[0]).stem
            lines = later.read_text(encoding="utf-8", errors="replace").splitlines()
            line = next((number for number, text in enumerate(lines, start=1) if name in text), None)
            raise BuildError(
                f"{PROJECT.shown(first)} {PROJECT.written_too(shared[0])}",
                later,
                line,
            )


def forget_bytecode(sources: list[Path]) -> None:
    """Remove the compiled copies of the project's modules a notebook read. Python trusts
    a module's __pycache__ copy while the source keeps its size and timestamp, which a
    file unzipped or copied with its date can do while its content changed."""
    for source in sources:
        if source.suffix == ".py":
            for compiled in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
                compiled.unlink(missing_ok=True)


def typeset_code(notebook: str) -> None:
    """report/results/<notebook>.json -> report/code/<notebook>-code.pdf and its page map."""
    step = code_step(notebook)
    if step.why() is None:
        return
    from pipeline.listing import typeset_code_pages  # Pygments and Jinja: only when there is code to typeset

    start = time.perf_counter()

    with step.running() as ran:
        ran.outputs = [PROJECT.code_pdf_of(notebook), PROJECT.page_map_of(notebook)]
        try:
            typeset_code_pages(notebook)
        finally:  # typesetting that failed left its files too
            source = [PROJECT.code_build / f"{notebook}.tex", PROJECT.code_build / "code-style.tex"]
            made.record([*source, *made.job_files(PROJECT.code_build, notebook)])
    say(f"[code] {PROJECT.shown(PROJECT.code_pdf_of(notebook))} ({elapsed(start)})")


def make_format() -> None:
    """templates/preamble.tex -> report/build/preamble-<hash>.fmt, if it is not there."""
    from pipeline.preamble import FormatError, ensure_format

    start = time.perf_counter()
    with contextlib.suppress(
        FormatError
    ):  # the compile then shows the preamble's error, or says it did without
        if ensure_format():
            made.record(PROJECT.build.glob("preamble-*.fmt"))
            say(f"[format] report/build/preamble-*.fmt ({elapsed(start)})")


def compile_document(notebooks: list[str], step: Step, reason: str) -> None:
    """report.toml + results + code pages + figures + templates -> report/submission.pdf."""
    from pipeline.latex import compile_document as compile_latex
    from pipeline.latex import files_read, publish_pdf, recorded_inputs
    from pipeline.preamble import current_format
    from pipeline.render import document_context, printed_values, render_templates

    settings = step.settings
    with step.running() as ran:
        start = time.perf_counter()
        context = document_context(notebooks)
        rendered, templates_read, included = render_templates(context, PROJECT.build)
        say(f"[render] {len(rendered)} templates -> report/build/ ({reason}, {elapsed(start)})")
        plain = settings["REPORT_FORMAT"] == "off"  # bypass the preamble format
        if not plain and current_format(PROJECT.build) is None:
            make_format()  # the document is always compiled from the format (pipeline/preamble.py)
        start = time.perf_counter()
        try:
            built = compile_latex(
                PROJECT.build, "submission", int(settings["SOURCE_DATE_EPOCH"]), plain=plain
            )
            publish_pdf(built, PROJECT.pdf)
        finally:  # a compile that failed wrote its log and .aux too
            made.record([*made.job_files(PROJECT.build, "submission"), *jinja_cache()])
        read = recorded_inputs(PROJECT.build, "submission")
        ran.outputs = [PROJECT.pdf]
        # Files first found now (a new \\input, an include): hashed now, as they were read.
        ran.found = snapshot(PROJECT, [*templates_read, *files_read(read)])
    say(f"[latex] report/submission.pdf ({elapsed(start)})")
    for template in set(PROJECT.templates()) - included:  # exercise4.tex, say: never in the PDF
        if template.stem not in ("submission", "preamble") and PROJECT.build / template.name not in read:
            message = "not in the document, which reads exercises as templates/ex<N>.tex"
            say(warning(template, None, message), error=True)
    list_changed_values(printed_values(context, notebooks))


def list_changed_values(printed: dict[str, str]) -> None:
    """Say which printed numbers this build changed, and where the templates print them,
    so that the writer knows which sentences to reread (at most CHANGES_SHOWN lines)."""
    from pipeline.render import changed_values

    before = (
        json.loads(PROJECT.printed_values.read_text(encoding="utf-8"))
        if PROJECT.printed_values.exists()
        else {}
    )
    write_atomically(PROJECT.printed_values, json.dumps(printed, indent=1, sort_keys=True) + "\n")
    made.record([PROJECT.printed_values])
    lines = changed_values(before, printed)
    for line in lines[:CHANGES_SHOWN]:
        say(line)
    if len(lines) > CHANGES_SHOWN:
        say(f"... and {len(lines) - CHANGES_SHOWN} more lines print changed values")


# --- Keeping report/ to what the sources make -------------------------------------


def remove_leftovers(notebooks: list[str]) -> None:
    """Delete what no current step made: the results, code pages and figures of a
    notebook that was deleted or renamed, a figure a notebook no longer saves. What is
    not there cannot reach the PDF; a template that still uses a deleted notebook's
    values stops at its line. Only files the build made are deleted (pipeline/made.py)."""
    keep = {PROJECT.stamps / f"{kind}-{name}.json" for kind in ("notebook", "code") for name in notebooks}
    keep |= {PROJECT.stamps / "document.json", PROJECT.made}
    for stamp_file in PROJECT.stamps.glob("*.json") if PROJECT.stamps.is_dir() else []:
        if stamp_file not in keep:
            stamp_file.unlink()
    current = {PROJECT.results_of(name) for name in notebooks} | {
        path for name in notebooks for path in (PROJECT.code_pdf_of(name), PROJECT.page_map_of(name))
    }
    for name in notebooks:
        stamp = read_stamp(PROJECT, f"notebook-{name}")
        current |= {PROJECT.root / output for output in (stamp.outputs if stamp else {})}
    made.delete(
        path
        for folder in (PROJECT.results, PROJECT.code, PROJECT.figures)
        for path in (folder.glob("*") if folder.is_dir() else [])
        if path.is_file() and path not in current
    )


def jinja_cache() -> list[Path]:
    """The templates Jinja2 compiled, kept for the next render (pipeline/render.py)."""
    return list((PROJECT.build / ".jinja-cache").glob("__jinja2_*.cache"))


def name_what_is_not_ours() -> None:
    """One warning for each file under report/ that the build did not make: it is left
    alone, but a file there is easily mistaken for a source (a drawing the PDF shows)."""
    for path in made.unknown_files():
        message = "not made by the build, so left alone; report/ holds what the build makes"
        say(
            warning(path, None, message, ["hand-made figures and scans go in templates/figures/"]), error=True
        )


# --- The build ------------------------------------------------------------------------


def build(*, figures_only: bool) -> None:
    """Bring every step up to date (with `figures_only`, rerun every notebook and stop
    before LaTeX); raise BuildFailed with every problem found."""
    notebooks = [path.stem for path in PROJECT.notebooks()]
    made.adopt_an_older_builds_files()
    remove_leftovers(notebooks)
    reasons = {name: "make figures" if figures_only else notebook_step(name).why() for name in notebooks}
    to_run = {name: reason for name, reason in reasons.items() if reason}
    to_typeset = [name for name in notebooks if code_step(name).why()]
    if to_run or to_typeset:
        try:
            run_notebooks(notebooks, to_run, make_format_beside=not figures_only)
        except BuildFailed:
            failed = {
                name: "again, after the others"
                for name in to_run
                if not read_stamp(PROJECT, f"notebook-{name}")
            }
            if not wrote_project_files(set(to_run) - set(failed)):
                raise
            run_notebooks(notebooks, failed, make_format_beside=False)  # it may have read too early
        rerun_notebooks_whose_inputs_changed(notebooks)
    if not figures_only:
        document = document_step(notebooks)
        if reason := document.why():
            compile_document(notebooks, document, reason)
        elif not (to_run or to_typeset):
            say("report/submission.pdf is up to date")
    for stray in sorted(set(PROJECT.strays()) - set(read_by_the_document())):
        notebooks_are = "notebooks are figures_src/ex<N>.py and exercises templates/ex<N>.tex"
        say(warning(stray, None, f"ignored: {notebooks_are}"), error=True)
    name_what_is_not_ours()


def read_by_the_document() -> list[Path]:
    """What the last compile read, as its stamp says: found there, not listed by hand
    (a template's includes, a file LaTeX inputs)."""
    last = read_stamp(PROJECT, "document")
    return [PROJECT.root / name for name in (last.inputs if last else {})]


def wrote_project_files(notebooks: set[str]) -> bool:
    """Whether any of these notebooks wrote a file of the project besides its results and
    figures: one running beside it may have failed for want of it, and is worth a second run."""
    stamps = [read_stamp(PROJECT, f"notebook-{name}") for name in notebooks]
    results_and_figures = (PROJECT.shown(PROJECT.results) + "/", PROJECT.shown(PROJECT.figures) + "/")
    return any(
        not name.startswith(results_and_figures) for stamp in stamps if stamp for name in stamp.outputs
    )


def rerun_notebooks_whose_inputs_changed(notebooks: list[str]) -> None:
    """Notebooks run side by side, and one may write a file another reads (ex1 saves data
    that ex2 loads), or a file may be saved while they run: a notebook whose inputs
    changed while it ran runs again in this same build, until none did. One `make` gives
    the PDF the sources say; a pair that keeps changing each other's inputs is an error."""
    rounds_left = len(notebooks)
    while again := {name: reason for name in notebooks if (reason := notebook_step(name).why())}:
        if rounds_left == 0:
            name, reason = next(iter(again.items()))
            raise BuildError(
                f"{reason} at every run: a notebook keeps changing what it or another one reads",
                PROJECT.notebooks_dir / f"{name}.py",
            )
        rounds_left -= 1
        run_notebooks(notebooks, again, make_format_beside=False)


def run_notebooks(notebooks: list[str], to_run: dict[str, str], *, make_format_beside: bool) -> None:
    """Run the notebooks in `to_run` side by side, one process each, and typeset the code
    of every notebook that needs it; the preamble format is made meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.config import load_settings

    timeout = load_settings().cell_timeout_minutes if to_run else 0.0

    def notebook_then_code(name: str) -> None:
        if name in to_run:
            run_notebook(name, to_run[name], timeout)
        typeset_code(name)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        try:
            if make_format_beside:
                pool.submit(make_format)
            jobs = [pool.submit(notebook_then_code, name) for name in notebooks]
            problems = [error for job in jobs if (error := job.exception())]
        except BaseException:  # Ctrl-C: stop the notebooks now rather than wait for them
            for child in list(_children):
                child.terminate()
            raise
    remove_leftovers(notebooks)
    if problems:
        raise BuildFailed(problems)


@contextlib.contextmanager
def one_build_at_a_time() -> Iterator[None]:
    """Hold report/.lock while building. A second build in this checkout (a `make` typed
    while `make watch` runs) waits here, says so, and then does what is left, so two
    builds never write the same files."""
    PROJECT.report.mkdir(exist_ok=True)
    with open(PROJECT.lock, "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            say(f"[wait] another build is running in this checkout (process {holder}); waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def clean() -> None:
    """Remove everything the build made under report/, and only that (pipeline/made.py)."""
    made.clean()


def main(argv: list[str]) -> int:
    options = {"--figures", "--clean"}
    if len(argv) > 1 or not set(argv) <= options:
        say("usage: python build.py [--figures | --clean]", error=True)
        return 2
    signal.signal(signal.SIGTERM, interrupt)  # `kill`: stop the notebooks too, as Ctrl-C does
    try:
        return run(clean if argv == ["--clean"] else lambda: build(figures_only=argv == ["--figures"]))
    except KeyboardInterrupt:
        say("interrupted; report/submission.pdf (if any) is the last good one", error=True)
        return 130


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(work: Callable[[], None]) -> int:
    """Do `work` (a build, as `make` and every build of `make watch` run it) under the
    lock, with every problem reported in the error form; 0 if it succeeded."""
    try:
        with one_build_at_a_time():
            work()
        return 0
    except BuildFailed as failure:
        for said in dict.fromkeys(describe(problem) for problem in failure.problems):  # each once
            say(said, error=True)
    except Exception as problem:
        say(describe(problem), error=True)
    say(BUILD_FAILED, error=True)
    return 1


def describe(problem: BaseException) -> str:
    """One problem in the error form (pipeline/errors.py), whatever step raised it."""
    if isinstance(problem, ModuleNotFoundError):
        return str(
            BuildError(
                f"{problem}",
                details=["build.py needs the project's packages: run `make`, which sets them up in .venv"],
            )
        )
    if isinstance(problem, OSError) and problem.filename:
        return str(BuildError((problem.strerror or str(problem)).lower(), problem.filename))
    if isinstance(problem, BuildError):
        return str(problem)
    # Not a problem in the sources but in the build itself: its traceback is what helps.
    trace = "".join(traceback.format_exception(problem)).rstrip()
    return f"error: the build itself failed ({type(problem).__name__}: {problem}); please report it\n{trace}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
