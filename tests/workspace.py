"""Throw-away copies of the project, for tests that edit sources or break the build.

`engine_project` is the engine (build.py, pipeline/, the document's templates, the
Makefile) with the engine tests' own small sheet (tests/engine/fixture/) in place of this
sheet's answers: the engine's tests run on it, so they pass whatever this sheet holds.
`copy_project` copies a project with its build state (report/ with its stamps), so an
edit there reruns only the steps that read the file. Every copy shares the real .venv
(a symlink).
"""

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipeline.mutants import environment
from pipeline.new_sheet import copy_engine
from pipeline.paths import PROJECT, TOOL_FILES, Layout

SKIPPED = shutil.ignore_patterns(*TOOL_FILES)
FIXTURE = PROJECT.root / "tests" / "engine" / "fixture"


@dataclass
class Workspace:
    root: Path

    def run(self, command: list[str], **env: str) -> subprocess.CompletedProcess:
        """Run `command` there as a user's shell would (no terminal, no standard input),
        with `env` added to the environment, capturing what it prints."""
        return subprocess.run(
            command,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            env={**clean_environment(), **env},
        )

    def make(self, *targets: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run make there, failing the test if make fails and `check` is set."""
        done = self.run(["make", "--no-print-directory", *targets])
        if check and done.returncode != 0:
            raise AssertionError(f"make {' '.join(targets)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    @cached_property
    def layout(self) -> Layout:
        """The copy's paths (pipeline/paths.py)."""
        return Layout(self.root)

    @property
    def pdf(self) -> Path:
        return self.layout.pdf

    def edit(self, relative: str, old: str, new: str) -> None:
        """Replace `old` (which must occur) by `new` in one file of the copy."""
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        self.write(relative, text.replace(old, new, 1))

    def write(self, relative: str, text: str) -> None:
        """Give one file of the copy new contents (its timestamp is left to the system:
        the build judges files by their content)."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def clean_environment() -> dict[str, str]:
    """As if started by hand, with a fixed date: without what a calling make passes down
    (`make test`'s job slots cannot reach a make started here), nor what pytest tells its
    own processes (a pytest started here is a session of its own, not a test worker)."""
    return {**environment(), "SOURCE_DATE_EPOCH": "1700000000"}


def copy_project(destination: Path, source: Path = PROJECT.root) -> Workspace:
    """A copy of the project at `source`, its build state included."""
    shutil.copytree(source, destination, ignore=SKIPPED, symlinks=True)
    (destination / ".venv").symlink_to(PROJECT.root / ".venv")
    return Workspace(destination)


def engine_project(destination: Path) -> Workspace:
    """The engine of this checkout with the fixture's sheet as its content, not yet built."""
    engine_only(destination)
    shutil.copytree(FIXTURE, destination, dirs_exist_ok=True)
    return Workspace(destination)


def engine_only(destination: Path) -> Workspace:
    """The engine of this checkout without any sheet's content (pipeline/new_sheet.py
    says what that is), not yet built."""
    copy_engine(PROJECT.root, destination)
    (destination / ".venv").symlink_to(PROJECT.root / ".venv")
    return Workspace(destination)


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quickfix(said: str) -> list[tuple[str, int, str]]:
    """What an editor's error list makes of a build's output: Vim's default errorformat
    `%f:%l: %m` (Emacs' compilation mode and VS Code's matchers read the same lines) gives
    (file, line, message) for each line `path:line: message`."""
    return [
        (match.group(1), int(match.group(2)), match.group(3))
        for match in re.finditer(r"^([^\s:][^:]*):(\d+): (.*)$", said, flags=re.MULTILINE)
    ]
