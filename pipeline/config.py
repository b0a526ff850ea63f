"""The submission's details and the build's settings, read from report.toml and checked.

Every problem is a BuildError at its line of report.toml: a file that is not UTF-8 or
not TOML, a table or key the file should not have (with the key it was probably meant
to be), a value missing, empty or of the wrong type, a character the PDF cannot show
(pipeline/fonts.py) or more text than the title block has room for (ROOM).
"""

import difflib
import re
import sys
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.errors import BuildError, read_text, warning
from pipeline.fonts import describe, field_latex, letters, unshowable
from pipeline.paths import PROJECT
from pipeline.texify import escape_text

# The tables report.toml may have, and the keys each may hold (required ones first).
SCHEMA = {
    "submission": ("course", "sheet", "tutorial_group"),
    "members": ("name", "matriculation"),
    "build": ("cell_timeout_minutes",),
    "appendix": ("show",),
}
APPENDIX_SHOWS = ("cited", "all")


@dataclass(frozen=True)
class Room:
    """The room a field has where templates/submission.tex prints it: how many of the
    widest letters fit on one line, and how many lines it may take (it wraps at its
    spaces; a word longer than a line may break between two letters)."""

    line: int
    lines: int = 4

    @property
    def letters(self) -> int:
        return self.line * self.lines


# The widest letters of the title block's fonts are Ǆ (15.1 pt in the 10.95 pt text,
# 16.2 pt in \large) and Greek ᾟ (27.6 pt in \LARGE bold). A line of the sheet, the course
# or the group is the text width, 426.8 pt, less "Tutorial group " for the group; a name
# has 296.1 pt (three quarters of it, less the space around the two columns), a
# matriculation number 106.7 pt (the other quarter).
ROOM = {
    "sheet": Room(15),
    "course": Room(26),
    "tutorial_group": Room(23),
    "name": Room(19),
    "matriculation": Room(7),
}


@dataclass(frozen=True)
class Member:
    name: str
    matriculation: str


@dataclass(frozen=True)
class Submission:
    course: str
    sheet: str
    tutorial_group: str
    members: tuple[Member, ...]

    def as_latex(self) -> dict:
        """The same details as LaTeX that prints them exactly (the template context): each
        field for its place in the title block, and as text for the PDF's metadata."""
        return {
            **{key: field_latex(getattr(self, key), ROOM[key].line) for key in SCHEMA["submission"]},
            "members": [
                {key: field_latex(getattr(m, key), ROOM[key].line) for key in SCHEMA["members"]}
                for m in self.members
            ],
            "metadata": {
                "title": escape_text(self.sheet),
                "author": ", ".join(escape_text(m.name) for m in self.members),
                "subject": escape_text(self.course),
            },
        }


@dataclass(frozen=True)
class Settings:
    """The optional tables of report.toml: how the build runs ([build]) and which code
    the appendix shows ([appendix]: the cells the answers cite, or all of them)."""

    cell_timeout_minutes: float = 10.0
    appendix_show: str = "cited"


class Lines:
    """Where each table and key of report.toml is written, for errors that name the line.

    Keys are found as TOML writes them: under a `[table]` or `[[table]]` header, dotted
    (`submission.course = ...` at the top), and in inline tables (`members = [{name =
    ...}, {name = ...}]`, on one line or several), the n-th `{` of an array being its
    n-th table."""

    HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_-]+)\s*\]\]?")
    TOKEN = re.compile(r"([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*=|[{}\[\]]")
    STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, int], int] = {}
        self.keys: dict[tuple[str, int, str], int] = {}
        table, index, seen = "", 0, dict[str, int]()
        pending: str | None = None  # a top-level key whose value may be an inline table
        inline: str | None = None  # the table whose inline tables are being read
        depth = braces = 0  # brackets open in its value; its inline tables so far
        for number, line in enumerate(text.splitlines(), start=1):
            if inline is None and (header := self.HEADER.match(line)):
                table, pending = header.group(2), None
                index = seen[table] = seen.get(table, 0) + 1 if header.group(1) == "[[" else 1
                self.tables[(table, index)] = number
                continue
            bare = self.STRING.sub(lambda string: "_" * len(string.group(0)), line).split("#")[0]
            for token in self.TOKEN.finditer(bare):
                word = token.group(0)
                if word in "{[" and (inline or pending):
                    inline, pending = inline or pending, None
                    depth, braces = depth + 1, braces + (word == "{")
                elif word in "}]" and inline:
                    depth -= 1
                    inline, braces = (None, 0) if depth == 0 else (inline, braces)
                elif word not in "{}[]":
                    parts = [part.strip() for part in token.group(1).split(".")]
                    pending = None
                    if inline:
                        self.keys.setdefault((inline, max(braces, 1), parts[0]), number)
                    elif not table and len(parts) > 1:  # submission.course = ...
                        self.tables.setdefault((parts[0], 1), number)
                        self.keys.setdefault((parts[0], 1, parts[1]), number)
                    else:
                        self.keys.setdefault((table, index, parts[0]), number)
                        if not table:  # submission = {course = ...}
                            self.tables.setdefault((parts[0], 1), number)
                            pending = parts[0]
                else:
                    pending = None

    def of(self, table: str, index: int = 1, key: str | None = None) -> int | None:
        """The line of `key` in the index-th `table` (or of the table's header)."""
        return self.keys.get((table, index, key or "")) or self.tables.get((table, index))


def _error(message: str, line: int | None, details: Sequence[str] = ()) -> BuildError:
    return BuildError(message, PROJECT.config, line, list(details))


def read_config() -> tuple[dict, Lines]:
    """report.toml's tables, checked against SCHEMA, and where each key is written."""
    path = PROJECT.config
    if not path.is_file():
        raise _error("file not found", None, ["copy the example from the README and fill in your names"])
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"\(at line (\d+), column \d+\)", str(error))
        message = str(error).replace(found.group(0), "").strip() if found else str(error)
        raise _error(f"TOML syntax error: {message}", int(found.group(1)) if found else None) from None
    lines = Lines(text)
    for table, value in data.items():
        if table not in SCHEMA:
            raise _unknown(table, SCHEMA, "report.toml", lines.of(table) or lines.keys.get(("", 0, table)))
        entries = value if isinstance(value, list) else [value]
        for index, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict):
                raise _error(
                    f"'{table}' must be a table [{table}]",
                    lines.of(table, index) or lines.keys.get(("", 0, table)),
                )
            for key in entry:
                if key not in SCHEMA[table]:
                    raise _unknown(
                        key,
                        SCHEMA[table],
                        f"[[{table}]]" if isinstance(value, list) else f"[{table}]",
                        lines.of(table, index, key),
                    )
    return data, lines


def _unknown(name: str, known: tuple[str, ...] | dict, where: str, line: int | None) -> BuildError:
    """`name` is not one of `known` (the tables of the file, or the keys of a table)."""
    guess = difflib.get_close_matches(name, list(known), n=1)
    details = [f"did you mean '{guess[0]}'?" if guess else "", f"{where} can hold: {', '.join(known)}"]
    kind = "table" if where == "report.toml" else "key"
    return _error(f"unknown {kind} '{name}'" + ("" if kind == "table" else f" in {where}"), line, details)


def _text(entry: dict, key: str, line: int | None, *, required: bool) -> str:
    value = entry.get(key, "")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _error(f"'{key}' must be text, got {type(value).__name__} {value!r}", line)
    if required and not value.strip():
        raise _error(f"'{key}' is missing or empty", line)
    return _printable(unicodedata.normalize("NFC", value.strip()), key, line)


def _printable(text: str, key: str, line: int | None) -> str:
    """`text`, if the title block has room for it and the PDF can show every character."""
    room = ROOM[key]
    if (length := len(letters(text))) > room.letters:
        raise _error(
            f"'{key}' is {length} characters long; the title block has room for {room.letters}",
            line,
            [f"{room.lines} lines of {room.line} of the widest letters where it is printed; shorten it"],
        )
    if bad := unshowable(text):
        shown = ", ".join(describe(char) for char in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise _error(
            f"the PDF cannot show {shown}{more} in '{key}'",
            line,
            [
                "the title block's fonts have Latin letters with any accents, Greek and Cyrillic:"
                f" write the {key.replace('_', ' ')} in one of these scripts (transliterated, say)",
            ],
        )
    return text


def load_submission() -> Submission:
    """The title block's details; a warning (stderr) when the group is not a pair."""
    data, lines = read_config()
    submission = data.get("submission")
    if submission is None:
        raise _error("the table [submission] is missing", 1, [f"it holds {', '.join(SCHEMA['submission'])}"])
    fields = {
        key: _text(submission, key, lines.of("submission", 1, key), required=True)
        for key in SCHEMA["submission"]
    }
    members = data.get("members")
    if not isinstance(members, list) or not members:
        raise _error("no [[members]] listed", 1, ["add one [[members]] table with a name per member"])
    group = tuple(
        Member(
            name=_text(entry, "name", lines.of("members", index, "name"), required=True),
            matriculation=_text(
                entry, "matriculation", lines.of("members", index, "matriculation"), required=False
            ),
        )
        for index, entry in enumerate(members, start=1)
    )
    if len(group) != 2:
        print(
            warning(
                PROJECT.config,
                lines.of("members"),
                f"{len(group)} member(s) listed; the sheet asks for groups of two",
            ),
            file=sys.stderr,
        )
    return Submission(**fields, members=group)


def load_settings() -> Settings:
    """The [build] and [appendix] tables, checked; defaults where they are silent."""
    data, lines = read_config()
    timeout = data.get("build", {}).get("cell_timeout_minutes", Settings.cell_timeout_minutes)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise _error(
            f"'cell_timeout_minutes' must be a number of minutes above 0, got {timeout!r}",
            lines.of("build", 1, "cell_timeout_minutes"),
        )
    show = data.get("appendix", {}).get("show", Settings.appendix_show)
    if show not in APPENDIX_SHOWS:
        raise _error(
            f"'show' must be one of {', '.join(repr(s) for s in APPENDIX_SHOWS)}, got {show!r}",
            lines.of("appendix", 1, "show"),
            ["'cited': the cells the answers cite with \\coderef; 'all': every cell of every notebook"],
        )
    return Settings(cell_timeout_minutes=float(timeout), appendix_show=show)
