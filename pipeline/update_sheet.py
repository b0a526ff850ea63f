"""Bring this engine into an older sheet: its fixes, none of this sheet's content.

    python -m pipeline.update_sheet OLD
    make update-sheet DEST=../sheet1

Every engine file (pipeline/new_sheet.py says what is engine and what is content) that
differs in OLD is replaced by this one, and one OLD lacks is added; OLD's content
(notebooks, templates, report.toml, its answer tests) is not touched. An engine file
OLD has and this engine has not (one a later engine dropped, or one of OLD's own) is
left alone and named.

copier's `update` merges a template's new version into a project; here the engine is
replaced whole, so OLD must be a git repository in which every engine file to replace
is committed: the update is then one `git diff` to read and one `git checkout .` to undo,
and nothing of OLD's is lost. An engine file changed but not committed stops the update
before it writes anything.
"""

import argparse
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path, PurePath

from pipeline.errors import BuildError, say, warning
from pipeline.new_sheet import engine_files
from pipeline.paths import PROJECT


def git(sheet: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(sheet), *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def to_replace(source: Path, sheet: Path) -> list[PurePath]:
    """The engine files of `source` that `sheet` lacks or holds otherwise."""
    return sorted(
        name
        for name in engine_files(source)
        if not (sheet / name).is_file() or not filecmp.cmp(source / name, sheet / name, shallow=False)
    )


def not_committed(sheet: Path, names: list[PurePath]) -> list[str]:
    """Those of `names` whose state in `sheet` git could not bring back: changed since the
    last commit, or never committed."""
    if not names:
        return []
    status = git(sheet, "status", "--porcelain", "--untracked-files=all", "--", *map(str, names))
    return sorted(line[3:] for line in status.stdout.splitlines())


def update_sheet(source: Path, sheet: Path) -> list[PurePath]:
    """Copy the engine of `source` into `sheet`; return the files written."""
    if not ((sheet / "report.toml").is_file() and (sheet / "build.py").is_file()):
        raise BuildError("is not a sheet (it has no report.toml and build.py)", sheet)
    if sheet.resolve() == source.resolve():
        raise BuildError("is this sheet itself: name an older sheet's folder", sheet)
    if git(sheet, "rev-parse", "--show-toplevel").returncode != 0:
        raise BuildError(
            "is not a git repository: the update replaces its engine files, so commit them "
            "first to be able to undo it (git init && git add -A && git commit -m 'before the update')",
            sheet,
        )
    names = to_replace(source, sheet)
    if unsafe := [name for name in not_committed(sheet, names) if (sheet / name).exists()]:
        raise BuildError(
            f"has engine files changed since its last commit: {', '.join(unsafe)}",
            sheet,
            details=["commit them (or undo the changes) first; the update would replace them"],
        )
    for name in names:
        (sheet / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, sheet / name, follow_symlinks=False)
    for extra in sorted(engine_files(sheet) - engine_files(source)):
        message = "not in this engine, so left alone (delete it if the old engine had it)"
        say(warning(sheet / extra, None, message))
    return names


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.update_sheet", description="Bring this engine into an older sheet."
    )
    parser.add_argument("sheet", type=Path, help="the older sheet's folder")
    options = parser.parse_args(argv)
    try:
        written = update_sheet(PROJECT.root, options.sheet)
    except (BuildError, OSError) as problem:
        say(str(problem), error=True)
        return 1
    for name in written:
        say(f"[update] {name}")
    say(f"[update] {options.sheet}: {len(written)} engine files brought in; `git diff` there shows them")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
