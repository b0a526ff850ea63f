"""Every path of the project and the patterns that say which files are its sources.

Everything else imports its paths from here, so the layout is written down once:

  figures_src/ex<N>.py      a notebook (N = 1, 2, ...); other .py files there are modules
  templates/ex<N>.tex       exercise N's text, placed in the document in the order of N
  templates/<name>.tex      the other templates (submission, preamble, code), rendered too
  templates/figures/        figures made by hand (PDF, PNG, JPG), placed like generated ones
  report.toml               the submission's details
  report/                   everything the build makes (results, figures, code, build, the PDF)

Files that only look like sources are ignored: editors' backups and locks (`ex1.tex~`,
`.#ex1.tex`, `#ex1.tex#`, `.ex1.py.swp`) match none of these patterns, and copies of a
notebook or exercise (`ex2 copy.py`, `ex2_old.py`, `ex1-draft.tex`) get one warning
each, since they may be a mistake. `Layout(root)` gives the same layout for another copy of the project (the
tests' workspaces); `PROJECT` is this one.
"""

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

NOTEBOOK = re.compile(r"ex([1-9][0-9]*)\.py")
EXERCISE = re.compile(r"ex([1-9][0-9]*)\.tex")
TEMPLATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\.tex")
# A name that starts like a notebook or exercise but is not one: a copy, probably.
LOOKS_LIKE_A_COPY = re.compile(r"ex[0-9].*\.(py|tex)", re.IGNORECASE)  # Ex4.py too
# What tools make in a checkout, never copied with the project (a new sheet, a test's or
# make mutants' copy): environments, caches, mutmut's copy, and `.warm-*`, the named pipe
# of a pdfLaTeX waiting for `make watch`.
TOOL_FILES = (
    ".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "*.egg-info",
    "mutants", ".warm-*",
)  # fmt: skip


def exercise_number(path: Path) -> int:
    """N of figures_src/exN.py or templates/exN.tex."""
    match = NOTEBOOK.fullmatch(path.name) or EXERCISE.fullmatch(path.name)
    if match is None:
        raise ValueError(f"{path.name} is not a notebook or exercise name")
    return int(match.group(1))


@dataclass(frozen=True)
class Layout:
    """The folders and files of one copy of the project, rooted at `root`."""

    root: Path

    @cached_property
    def notebooks_dir(self) -> Path:
        return self.root / "figures_src"

    @cached_property
    def pipeline_dir(self) -> Path:
        return self.root / "pipeline"

    @cached_property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @cached_property
    def handmade_figures(self) -> Path:
        """Figures a person made (drawn, scanned: PDF, PNG, JPG), sources like the templates
        that place them; never written by the build."""
        return self.templates_dir / "figures"

    @cached_property
    def standalone_dir(self) -> Path:
        """Templates of documents typeset apart (the code pages)."""
        return self.templates_dir / "standalone"

    @cached_property
    def config(self) -> Path:
        return self.root / "report.toml"

    @cached_property
    def debian_packages(self) -> Path:
        """The Debian packages the build needs, with files that show each is installed."""
        return self.root / "debian-packages.txt"

    @cached_property
    def report(self) -> Path:
        return self.root / "report"

    @cached_property
    def results(self) -> Path:
        """One <notebook>.json per notebook: its values, cells and output."""
        return self.report / "results"

    @cached_property
    def figures(self) -> Path:
        return self.report / "figures"

    @cached_property
    def code(self) -> Path:
        """<notebook>-code.pdf, the notebook's code typeset, and <notebook>.json, its page map."""
        return self.report / "code"

    @cached_property
    def code_build(self) -> Path:
        """Where the code pages are typeset (pipeline/listing.py)."""
        return self.code / "build"

    @cached_property
    def build(self) -> Path:
        """The rendered LaTeX, its logs and the preamble format."""
        return self.report / "build"

    @cached_property
    def printed_values(self) -> Path:
        """Each published value as the last document printed it, to say what a build changed."""
        return self.build / "printed-values.json"

    @cached_property
    def stamps(self) -> Path:
        """What each step last read and wrote, by content hash (pipeline/stamps.py)."""
        return self.report / "stamps"

    @cached_property
    def made(self) -> Path:
        """Every file the build made under report/: the only ones it deletes (pipeline/made.py)."""
        return self.stamps / "made.json"

    @cached_property
    def pdf(self) -> Path:
        return self.report / "submission.pdf"

    @cached_property
    def tex_ready(self) -> Path:
        """A copy of debian-packages.txt as it was when all of it was found installed."""
        return self.report / ".tex-ready"

    @cached_property
    def lock(self) -> Path:
        """Held by the running build: one build at a time per checkout."""
        return self.report / ".lock"

    def results_of(self, notebook: str) -> Path:
        return self.results / f"{notebook}.json"

    def code_pdf_of(self, notebook: str) -> Path:
        return self.code / f"{notebook}-code.pdf"

    def page_map_of(self, notebook: str) -> Path:
        return self.code / f"{notebook}.json"

    def notebooks(self) -> list[Path]:
        """figures_src/ex<N>.py, in the order of N."""
        found = [p for p in self.notebooks_dir.glob("ex*.py") if NOTEBOOK.fullmatch(p.name)]
        return sorted(found, key=exercise_number)

    def templates(self) -> list[Path]:
        """templates/*.tex that the build renders: clean names, copies of exercises left out."""
        return sorted(
            p
            for p in self.templates_dir.glob("*.tex")
            if TEMPLATE.fullmatch(p.name)
            and (EXERCISE.fullmatch(p.name) or not LOOKS_LIKE_A_COPY.match(p.name))
        )

    def exercises(self) -> list[str]:
        """The exercise templates' names (`ex1`, `ex2`, ...), in the order the document shows them."""
        found = [p for p in self.templates_dir.glob("ex*.tex") if EXERCISE.fullmatch(p.name)]
        return [p.stem for p in sorted(found, key=exercise_number)]

    def strays(self) -> list[Path]:
        """Files beside the notebooks and templates that look like copies of them: ignored,
        but worth a warning (a notebook saved as `ex2 copy.py` never runs)."""
        candidates = [*self.notebooks_dir.glob("*.py"), *self.templates_dir.glob("*.tex")]
        return sorted(
            p
            for p in candidates
            if LOOKS_LIKE_A_COPY.match(p.name)
            and not (NOTEBOOK.fullmatch(p.name) or EXERCISE.fullmatch(p.name))
        )

    def written_too(self, output: str) -> str:
        """What another notebook does to `output` (a project-relative name) that this one
        writes as well, in words for what it is: a figure by its name, any other file by
        its full name."""
        path = self.root / output
        if path.parent == self.figures and path.suffix == ".pdf":
            return f"saves {path.stem} too: give each notebook's figures names of its own"
        return f"writes the file {output} too: give each notebook's files names of their own"

    def shown(self, path: Path) -> str:
        """`path` as error messages and stamps write it: relative to the root, with slashes."""
        path = Path(path)
        if not path.is_absolute():
            return path.as_posix()
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)


ROOT = Path(__file__).resolve().parent.parent
PROJECT = Layout(ROOT)


def project_of(folder: Path) -> Path | None:
    """The checkout `folder` is in: the nearest folder up that holds pipeline/paths.py."""
    return next((up for up in [folder, *folder.parents] if (up / "pipeline" / "paths.py").is_file()), None)


def ensure_this_checkout(script: str | None, cwd: Path) -> None:
    """Refuse to run a notebook of one checkout with the code of another.

    A notebook started with the Python of another checkout's .venv (an editor that
    remembers the interpreter of the folder it was copied from) would import that
    checkout's pipeline and write its figures there, not here. The script's folder and
    the working folder are both asked: a kernel's script is its launcher, in .venv."""
    for place in [*([Path(script).resolve().parent] if script else []), cwd.resolve()]:
        if (own := project_of(place)) not in (None, ROOT):
            raise ImportError(
                f"{place} belongs to the checkout {own}, but this Python imports the code of {ROOT}: "
                f"run it with {own}/.venv/bin/python (make in {own} sets it up)"
            )
