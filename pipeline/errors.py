"""The one form every problem of a build is reported in, and the exceptions that carry it.

    templates/ex2.tex:14: error: Undefined control sequence \\foo
        \\foo and bar
        meaning: an unknown command (a typo, or a macro whose package is not loaded)

The first line is what compilers print and what Vim's quickfix (`%f:%l: %m`), Emacs'
compilation mode and VS Code's problem matchers read: the file relative to the project,
the line, `error:` or `warning:`, the message. Indented lines below it say more.

Every problem a build reports is a BuildError (or an OSError, which names its file): one
at a place in the user's files, a Reported one said by another process, or BuildFailed
with several. Anything else is a fault of the build itself. A notebook's PublishError
(pipeline/publish.py) is not one of them: it is raised in the notebook's cell, like a
ValueError, and the cell's failure is what gets reported.
"""

import codecs
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.paths import PROJECT


def located(
    path: Path | str | None, line: int | None, kind: str, message: str, details: Sequence[str] = ()
) -> str:
    """`path:line: kind: message` and the indented details."""
    where = "" if path is None else f"{PROJECT.shown(Path(path))}:" + (f"{line}:" if line else "")
    head = f"{where} {kind}: {message}".lstrip()
    return "\n".join([head, *(f"    {detail}" for detail in details if detail)])


class BuildError(Exception):
    """A problem the user can fix, at a place in one of their files."""

    def __init__(
        self,
        message: str,
        path: Path | str | None = None,
        line: int | None = None,
        details: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message, self.path, self.line, self.details = message, path, line, list(details)

    def __str__(self) -> str:
        return located(self.path, self.line, "error", self.message, self.details)


class Reported(BuildError):
    """A problem already in the error form, as another process said it: a notebook's
    failed cell, which only the notebook's own process could place at its line."""

    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said

    def __str__(self) -> str:
        return self.said


class BuildFailed(BuildError):
    """Every problem one build found: notebooks run side by side, and each that fails is
    reported, not only the first."""

    def __init__(self, problems: list[BaseException]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def warning(path: Path | str, line: int | None, message: str, details: Sequence[str] = ()) -> str:
    return located(path, line, "warning", message, details)


def read_text(path: Path) -> str:
    """A source file's text, which must be UTF-8: otherwise an error at the line of the
    first byte that is not (a file saved as Latin-1, say). A byte-order mark at the start,
    which some Windows editors write, is not text and is dropped, as Python itself does."""
    raw = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise BuildError(
            f"not UTF-8 text (byte 0x{raw[error.start]:02X})",
            path,
            line,
            ["save the file as UTF-8 (every editor can)"],
        ) from None


def say(line: str, *, error: bool = False) -> None:
    """Print one line. If nobody reads any more (`make | head -1`), go on building in
    silence: a closed pipe must not cost the PDF."""
    stream = sys.stderr if error else sys.stdout
    try:
        print(line, file=stream, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
