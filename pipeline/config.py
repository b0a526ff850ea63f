"""The submission's details, read from report.toml and checked."""

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipeline.texify import escape_text


class ConfigError(Exception):
    """A problem in report.toml; the message names the file and, where known, the line."""


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
        """The same details with every string escaped for LaTeX (the template context)."""
        return {
            "course": escape_text(self.course),
            "sheet": escape_text(self.sheet),
            "tutorial_group": escape_text(self.tutorial_group),
            "members": [
                {"name": escape_text(m.name), "matriculation": escape_text(m.matriculation)}
                for m in self.members
            ],
        }


def _line_of(text: str, pattern: str, occurrence: int = 1) -> int | None:
    """1-based line of the `occurrence`-th line matching `pattern`, if any."""
    found = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(pattern, line.strip()):
            found += 1
            if found == occurrence:
                return number
    return None


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _text_field(table: dict, key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, "")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be text, got {type(value).__name__} {value!r}")
    if required and not value.strip():
        raise ConfigError(f"{where}: '{key}' is missing or empty")
    return value.strip()


def load_submission(path: Path) -> Submission:
    """Read and check report.toml; warn (stderr) when the group is not a pair."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found; copy the example from the README and fill in your names")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"at line (\d+)", str(error))
        raise ConfigError(
            f"{_where(path, int(line.group(1)) if line else None)}: TOML syntax error: {error}"
        ) from None

    submission = data.get("submission")
    if not isinstance(submission, dict):
        raise ConfigError(f"{path}: the table [submission] is missing")
    where = _where(path, _line_of(text, r"\[submission\]"))
    fields = {key: _text_field(submission, key, where) for key in ("course", "sheet", "tutorial_group")}

    raw_members = data.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        raise ConfigError(f"{path}: no [[members]] listed; add one [[members]] table per member")
    members = []
    for index, entry in enumerate(raw_members, start=1):
        entry_where = _where(path, _line_of(text, r"\[\[members\]\]", index))
        if not isinstance(entry, dict):
            raise ConfigError(f"{entry_where}: each member must be a [[members]] table")
        members.append(
            Member(
                name=_text_field(entry, "name", f"{entry_where} (member {index})"),
                matriculation=_text_field(
                    entry, "matriculation", f"{entry_where} (member {index})", required=False
                ),
            )
        )
    if len(members) != 2:
        print(
            f"{path}: warning: {len(members)} member(s) listed; the sheet asks for groups of two",
            file=sys.stderr,
        )
    return Submission(**fields, members=tuple(members))
