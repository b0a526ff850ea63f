"""Start the next sheet from this one: the same engine, a starter exercise, no answers.

    python -m pipeline.new_sheet DEST [--course C] [--sheet S] [--group G] [--member "NAME[:NUMBER]"]...
    make new-sheet DEST=../sheet2

DEST gets this project's engine (build.py, pipeline/, the document's templates, the
Makefile, the engine's tests and their fixture, the locks), a report.toml with the
details given (asked for at a terminal, unless given as options), and one starter
exercise that builds (pipeline/starter/: a notebook, its template, a test of its answer).
None of this sheet's content comes along. The content of a sheet is its notebooks and
their modules (figures_src/, but for the package's __init__.py), its exercise templates
(templates/ex<N>.tex), its own files beside them (templates/references.bib, a .sty), the
parts and pictures they take in (templates/<folder>/, but for standalone/), its details
(report.toml) and the tests of its answers (tests/sheet/). Everything else is the engine.
"""

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path, PurePath

from pipeline.errors import BuildError, say
from pipeline.paths import LOOKS_LIKE_A_COPY, PROJECT, TOOL_FILES

ENGINE_TEMPLATE_FOLDERS = {"standalone"}
STARTER = PROJECT.pipeline_dir / "starter"
# What a checkout holds besides its sources: made by the build, the tools or git.
NOT_SOURCES = shutil.ignore_patterns(*TOOL_FILES)
FIELDS = {"course": "Course", "sheet": "Sheet title", "group": "Tutorial group"}
KEYS = ("course", "sheet", "tutorial_group")  # their names in report.toml


def is_content(relative: PurePath) -> bool:
    """Whether the file or folder at `relative` (from the project's root) is this sheet's."""
    parts = relative.parts
    if not parts:
        return False
    if parts[0] == "figures_src":
        return len(parts) > 1 and parts[1] != "__init__.py"
    if parts[0] == "templates" and len(parts) > 1:
        if len(parts) == 2 and relative.suffix == ".tex":  # a template: an exercise's, or a copy of one
            return bool(LOOKS_LIKE_A_COPY.match(relative.name))
        if len(parts) == 2 and relative.suffix:  # the sheet's references (.bib), own package (.sty)
            return True
        return parts[1] not in ENGINE_TEMPLATE_FOLDERS  # a folder of parts or pictures
    return parts == ("report.toml",) or parts[:2] == ("tests", "sheet")


def not_engine(source: Path) -> Callable[[str, list[str]], set[str]]:
    """For shutil.copytree: the names in a folder of `source` that are not the engine's:
    its content, what its build made (report/ but its .gitignore) or what tools made."""

    def left_out(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).relative_to(source)
        made = {name for name in names if name != ".gitignore"} if here == Path("report") else set()
        return set(NOT_SOURCES(folder, names)) | made | {name for name in names if is_content(here / name)}

    return left_out


def copy_engine(source: Path, destination: Path) -> None:
    """Copy the project at `source` to `destination` without its content."""
    shutil.copytree(source, destination, ignore=not_engine(source), symlinks=True)


def engine_files(root: Path) -> set[PurePath]:
    """The engine's files in the project at `root`, from the root: what copy_engine copies."""
    left_out = not_engine(root)
    found: set[PurePath] = set()
    for folder, subfolders, names in os.walk(root):
        skipped = left_out(folder, [*subfolders, *names])
        subfolders[:] = [name for name in subfolders if name not in skipped]
        found |= {Path(folder, name).relative_to(root) for name in names if name not in skipped}
    return found


def report_toml(course: str, sheet: str, group: str, members: list[tuple[str, str]]) -> str:
    """The new sheet's report.toml (pipeline/config.py reads it)."""
    quoted = [f'"{value}"' for value in (course, sheet, group)]
    lines = [
        "# The submission's details, printed in the title block and the PDF's metadata.",
        "# Write names exactly as they should appear; LaTeX special characters are fine.",
        "",
        "[submission]",
        *(f"{key} = {value}" for key, value in zip(KEYS, quoted, strict=True)),
    ]
    for name, number in members:
        lines += ["", "[[members]]", f'name = "{name}"', *([f'matriculation = "{number}"'] if number else [])]
    return "\n".join(lines) + "\n"


def member(text: str) -> tuple[str, str]:
    """`Ada Lovelace:4711001` -> (name, matriculation number); the number may be left out."""
    name, _, number = text.rpartition(":") if ":" in text else (text, "", "")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: a member is NAME or NAME:NUMBER")
    return name.strip(), number.strip()


def ask(options: argparse.Namespace) -> None:
    """Ask at the terminal for every detail not given as an option."""
    for key, question in FIELDS.items():
        while not getattr(options, key):
            setattr(options, key, input(f"{question}: ").strip())
    while not options.member:
        listed = input("Members (NAME:NUMBER, separated by commas): ")
        options.member = [member(text) for text in listed.split(",") if text.strip()]


def new_sheet(destination: Path, course: str, sheet: str, group: str, members: list[tuple[str, str]]) -> None:
    """Make the next sheet's project at `destination` (which must not exist, or be empty)."""
    if destination.exists() and any(destination.iterdir()):
        raise BuildError("is not empty: a new sheet needs a folder of its own", destination)
    for value in (course, sheet, group, *(text for pair in members for text in pair)):
        if '"' in value or "\\" in value:
            raise BuildError(f"{value!r}: write the details without double quotes or backslashes")
    if destination.exists():
        destination.rmdir()
    copy_engine(PROJECT.root, destination)
    shutil.copytree(STARTER, destination, dirs_exist_ok=True)
    (destination / "report.toml").write_text(report_toml(course, sheet, group, members), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.new_sheet", description="Start the next sheet from this one."
    )
    parser.add_argument("destination", type=Path, help="the new sheet's folder (made here)")
    for key, question in FIELDS.items():
        parser.add_argument(f"--{key}", default="", help=question.lower())
    parser.add_argument(
        "--member", type=member, action="append", default=[], help="NAME or NAME:NUMBER, once per member"
    )
    options = parser.parse_args(argv)
    missing = [f"--{key}" for key in FIELDS if not getattr(options, key)] + (
        [] if options.member else ["--member"]
    )
    if missing and not sys.stdin.isatty():
        say(f"error: no terminal to ask for {', '.join(missing)}: give them as options", error=True)
        return 2
    try:
        ask(options)
        new_sheet(options.destination, options.course, options.sheet, options.group, options.member)
    except (BuildError, OSError) as problem:
        say(str(problem), error=True)
        return 1
    except (EOFError, KeyboardInterrupt):
        say("error: stopped before the new sheet was made", error=True)
        return 1
    say(
        f"[new sheet] {options.destination}: run make there; the starter exercise is ex1 (notebook, template)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
