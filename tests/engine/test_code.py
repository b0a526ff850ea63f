"""The engine's code as the project keeps it: typed (mypy, as pyproject.toml sets it up)
and ruff-clean, checked by every `make test`."""

import subprocess
import sys

from pipeline.paths import PROJECT


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=PROJECT.root, capture_output=True, text=True, check=False
    )


def test_mypy_finds_no_error() -> None:
    done = run("mypy")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


def test_ruff_finds_nothing_to_fix_or_reformat() -> None:
    for check in (("ruff", "check", "."), ("ruff", "format", "--check", ".")):
        done = run(*check)
        assert done.returncode == 0, done.stdout[-3000:]
