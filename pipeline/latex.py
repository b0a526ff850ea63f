"""Compile the rendered LaTeX and publish the PDF atomically.

Two routes give the same PDF. The fast one starts pdflatex from the preamble format
(pipeline/preamble.py) and repeats passes only while the .aux or .out change. The plain
one is latexmk, which loads the preamble itself: for REPORT_FORMAT=off, and when a
format cannot be made or loaded.
"""

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.diagnostics import (
    ambiguous_targets,
    bibliography_error,
    bibliography_files,
    latex_error_report,
    missing_targets,
    overfull_boxes,
    page_overflows,
    undefined_citations,
    undefined_references,
    where_used,
)
from pipeline.errors import BuildError, read_text, say
from pipeline.paths import PROJECT
from pipeline.preamble import FormatError, current_format, ensure_format, own_packages
from pipeline.stamps import write_atomically
from pipeline.tex_setup import install_command, package_line


def _forget_interrupted_compile(build_dir: Path, main: str) -> Path:
    """If the last compile never finished (killed, or failed), its .aux and latexmk's
    database may be half written: drop them so this compile starts from a clean state.
    Returns the marker file that stands for a compile in progress."""
    marker = build_dir / f".{main}.compiling"
    if marker.exists():
        for leftover in (f"{main}.{ext}" for ext in ("aux", "fdb_latexmk", "out", "toc", "bbl", "blg")):
            (build_dir / leftover).unlink(missing_ok=True)
    marker.touch()
    return marker


MAX_PASSES = 5
FORMAT_TROUBLE = re.compile(r"^---!|Fatal format file error|can't find the format file", re.MULTILINE)
# -recorder: pdfTeX lists every file it reads in <job>.fls (recorded_inputs() reads them).
PDFLATEX = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error"]
PDFLATEX += ["-file-line-error", "-recorder"]


def run_tex(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """Run a TeX program with no standard input (it can never wait at a prompt). What it
    prints may hold any bytes (bibtex echoes a .bib's), shown as the replacement character."""
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
    except FileNotFoundError:
        raise tex_missing() from None


def tex_missing() -> BuildError:
    """TeX Live is not installed (or not on PATH): where the project lists it, and how to install it."""
    install = "sudo " + " ".join(install_command(["latexmk", "texlive-latex-base"]))
    return BuildError(
        "latexmk or pdflatex is not installed",
        PROJECT.debian_packages,
        package_line("latexmk"),
        [f"install TeX Live from Debian: {install}"],
    )


class WarmTeX:
    """A pdfLaTeX that has already loaded the preamble format and waits for its document.

    `make watch` keeps one waiting between builds, so that the next compile skips the
    format's loading (a good part of a pass). It waits by opening a named pipe as its
    main file: the compile writes the rendered document into the pipe. Same format, same
    document, same environment: the same bytes as a pass started afresh. It dies with
    the process that started it, and is not used if the format or environment changed.
    """

    def __init__(self, build_dir: Path, main: str, env: dict, fmt: str) -> None:
        self.fmt, self.env, self.build_dir, self.main = fmt, env, build_dir, main
        self.folder = Path(tempfile.mkdtemp(prefix=".warm-", dir=build_dir))
        self.pipe = self.folder / f"{main}.tex"
        os.mkfifo(self.pipe)
        command = [*PDFLATEX, "-no-parse-first-line", f"-fmt={fmt}", f"-jobname={main}", str(self.pipe)]
        # setpriv --pdeathsig: it ends with the thread that started it, never left waiting.
        self.process = subprocess.Popen(
            ["setpriv", "--pdeathsig", "TERM", *command] if shutil.which("setpriv") else command,
            cwd=build_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self) -> subprocess.CompletedProcess | None:
        """One pass over build_dir/<main>.tex; None if this TeX is no longer waiting."""
        try:
            pipe = os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK)  # fails at once if nobody reads
        except OSError:
            self.close()
            return None
        with os.fdopen(pipe, "wb") as document:
            document.write((self.build_dir / f"{self.main}.tex").read_bytes())
        stdout, stderr = self.process.communicate()
        self.close()
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        waiting_record(self.build_dir, self.fmt, self.process.pid).unlink(missing_ok=True)


def waiting_record(build_dir: Path, fmt: str, pid: int | str) -> Path:
    """The file list (-recorder) of a pdfLaTeX that has not yet read its document: it is
    named after the format and the process (`<format><pid>.fls`) until the job's name is
    known. A WarmTeX that never got its document leaves it behind."""
    return build_dir / f"{fmt}{pid}.fls"


_waiting: WarmTeX | None = None  # kept by warm_up(), used by the next compile's first pass


def warm_up(build_dir: Path, main: str, source_date_epoch: int) -> None:
    """Have a WarmTeX wait for the next compile of build_dir/<main>.tex (for `make watch`)."""
    global _waiting
    build_dir = build_dir.resolve()
    fmt, env = current_format(build_dir), latex_environment(build_dir, source_date_epoch)
    if _waiting and (_waiting.fmt, _waiting.env, _waiting.process.poll()) == (fmt, env, None):
        return
    if _waiting:
        _waiting.close()
    _waiting = WarmTeX(build_dir, main, env, fmt) if fmt else None


def cool_down() -> None:
    """Stop the WarmTeX that waits, if one does (the watch ends)."""
    global _waiting
    if _waiting:
        _waiting.close()
        _waiting = None


def _take_warm(fmt: str, env: dict) -> WarmTeX | None:
    """The waiting WarmTeX, if it was started from this format in this environment."""
    global _waiting
    warm, _waiting = _waiting, None
    if warm and (warm.fmt, warm.env) != (fmt, env):
        warm.close()
        return None
    return warm


def _passes(build_dir: Path, main: str, env: dict, fmt: str) -> subprocess.CompletedProcess | None:
    """pdflatex started from the format `fmt`, pass after pass until the .aux and .out
    (references, page numbers, bookmarks) stop changing; None if the format does not load.
    The first pass is a WarmTeX's, if one waits (`make watch`)."""
    tracked = [build_dir / f"{main}.aux", build_dir / f"{main}.out", build_dir / f"{main}.bbl"]

    def state() -> list[bytes | None]:
        return [p.read_bytes() if p.exists() else None for p in tracked]

    before = state()
    warm = _take_warm(fmt, env)
    for _ in range(MAX_PASSES):
        done = warm.run() if warm else None
        warm = None
        done = done or run_tex([*PDFLATEX, f"-fmt={fmt}", f"{main}.tex"], build_dir, env)
        if done.returncode != 0 and FORMAT_TROUBLE.search(done.stdout):
            return None
        if done.returncode == 0:
            _bibtex(build_dir, main, env)
        after = state()
        if done.returncode != 0 or after == before:
            return done
        before = after
    say(f"warning: references still moved after {MAX_PASSES} passes; pages may be off", error=True)
    return done


def _bibtex(build_dir: Path, main: str, env: dict) -> None:
    """bibtex after a pass whose .aux asks for a bibliography (`\\bibliography{...}`), so
    the next pass reads the entries its citations name: a changed citation or .bib entry
    changes the .bbl, which makes that next pass. It takes a few milliseconds, less than
    deciding whether it is needed."""
    aux = build_dir / f"{main}.aux"
    if aux.exists() and "\\bibdata{" in aux.read_text(encoding="utf-8", errors="replace"):
        run_tex(["bibtex", main], build_dir, env)
        if problem := bibliography_error(build_dir, main):
            raise problem


def _latexmk(build_dir: Path, main: str, env: dict) -> subprocess.CompletedProcess:
    """The plain route: latexmk loads the preamble itself and decides the passes."""
    pdflatex = " ".join(PDFLATEX[:2]) + " %O %S"
    return run_tex(
        ["latexmk", "-pdf", "-silent", *PDFLATEX[2:], f"-pdflatex={pdflatex}", f"{main}.tex"], build_dir, env
    )


def _compile(build_dir: Path, main: str, env: dict) -> tuple[subprocess.CompletedProcess, bool]:
    """Passes started from the format made from this very preamble, remade once if it
    does not load; and whether it took the plain route instead. That is latexmk, when no
    format could be made (a broken preamble: latexmk then shows where) or loaded: the two
    routes make the same pages, but not the same bytes (fonts are numbered differently)."""
    fmt = current_format(build_dir)
    done = _passes(build_dir, main, env, fmt) if fmt else None
    if fmt and done is None:  # made by another pdfTeX, say: remake it once
        with contextlib.suppress(FormatError):
            ensure_format(build_dir, remake=True)
        fmt = current_format(build_dir)
        done = _passes(build_dir, main, env, fmt) if fmt else None
    if done is None:
        return _latexmk(build_dir, main, env), True
    return done, False


def latex_environment(build_dir: Path, source_date_epoch: int) -> dict[str, str]:
    """How every LaTeX run of the document is started: fixed dates, where figures (the
    notebooks' and those made by hand), typeset code and the user's own files
    (templates/ and its subfolders: a .sty, a part, a picture, a .bib) are found, and a
    log with one line per message."""
    # Relative to the build folder (in any copy of the project), so no path of this
    # machine reaches the PDF. The rendered templates (.) come before their sources.
    folders = (PROJECT.figures, PROJECT.handmade_figures, PROJECT.code, PROJECT.templates_dir)
    figures, handmade, code, own = (os.path.relpath(folder, PROJECT.build) for folder in folders)
    return {
        **os.environ,
        "SOURCE_DATE_EPOCH": str(source_date_epoch),
        "FORCE_SOURCE_DATE": "1",
        "TEXINPUTS": f".:{figures}:{handmade}:{code}:{own}//:",
        "BIBINPUTS": f".:{own}//:",
        "max_print_line": "10000",
    }


def compile_document(build_dir: Path, main: str, source_date_epoch: int, *, plain: bool = False) -> Path:
    """Compile build_dir/<main>.tex to a PDF with every reference resolved; return it.
    `plain` skips the preamble format (the route the format must reproduce)."""
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        raise tex_missing()
    build_dir = build_dir.resolve()
    for bib in sorted(PROJECT.templates_dir.rglob("*.bib")):  # bibtex copies its bytes into the .bbl
        read_text(bib)  # not UTF-8: an error at the line of the first bad byte
    env = latex_environment(build_dir, source_date_epoch)
    marker = _forget_interrupted_compile(build_dir, main)
    done, fell_back = (_latexmk(build_dir, main, env), False) if plain else _compile(build_dir, main, env)
    log_path = build_dir / f"{main}.log"
    log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    the_log = f"the whole log: {PROJECT.shown(log_path)}"
    if done.returncode != 0 and (problem := bibliography_error(build_dir, main)):
        raise problem  # latexmk's bibtex run failed
    if done.returncode != 0:
        if not log:
            raise BuildError(
                "LaTeX stopped without writing a log", details=(done.stdout + done.stderr).splitlines()[-5:]
            )
        problem = latex_error_report(log, build_dir)
        problem.details.append(the_log)
        raise problem
    if problems := undefined_citations(log, build_dir, main):
        problems[0].details.append(the_log)
        raise problems[0]
    if unresolved := undefined_references(log):
        # A \coderef{1(b)} refers to the labels code:1(b), code:1(b):last and code:1(b):end.
        task = re.fullmatch(r"code:(\d+\([a-z]\))(?::last|:end)?", unresolved[0])
        used = where_used(task.group(1) if task else unresolved[0])
        message = f"undefined reference{'s' if len(unresolved) > 1 else ''}: {', '.join(unresolved)}"
        hint = "each needs a \\label{...} of that name"
        if task:
            message = f"\\coderef{{{task.group(1)}}}: no notebook cell is titled # %% {task.group(1)}"
            hint = "a task's code is the cells titled with it in its notebook"
        raise BuildError(
            message,
            used.path if used else None,
            used.line if used else None,
            [used.text.strip() if used else "", hint, the_log],
        )
    if (
        problems := ambiguous_targets(log, build_dir)
        + missing_targets(log, build_dir)
        + page_overflows(log, build_dir)
    ):
        problems[0].details.append(the_log)
        raise problems[0]
    marker.unlink()
    if fell_back:
        say("[latex] compiled with latexmk: the preamble format could not be made or loaded", error=True)
    for warning in overfull_boxes(log, build_dir):
        say(warning, error=True)
    return build_dir / f"{main}.pdf"


def recorded_inputs(build_dir: Path, main: str) -> set[Path]:
    """Every file the last compile of <main> read: as pdfTeX's -recorder listed it, the
    .bib files bibtex read, and the user's packages the preamble format holds (its
    compiles do not read them again)."""
    listing = build_dir / f"{main}.fls"
    lines = listing.read_text(encoding="utf-8", errors="replace").splitlines() if listing.exists() else []
    return (
        {
            Path(os.path.abspath(build_dir / line.removeprefix("INPUT ")))
            for line in lines
            if line.startswith("INPUT ")
        }
        | set(bibliography_files(build_dir, main))
        | set(own_packages())
    )


def files_read(recorded: set[Path]) -> list[Path]:
    """The project's files among those a compile read (recorded_inputs): a file a template
    `\\input`s, or a picture it includes from outside report/, is an input of the
    document like the templates. What the build makes (report/) is not."""
    return sorted(
        p for p in recorded if p.is_relative_to(PROJECT.root) and not p.is_relative_to(PROJECT.report)
    )


def publish_pdf(built: Path, target: Path) -> None:
    """Copy the built PDF over target in one rename, so target is never half written."""
    write_atomically(target, built.read_bytes())
