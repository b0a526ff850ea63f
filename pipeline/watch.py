"""Rebuild on save: `make watch` polls the sources twice a second and runs `make` on a change."""

import contextlib
import os
import subprocess
import time
from pathlib import Path

from pipeline.paths import PROJECT

ROOT = PROJECT.root
WATCHED = ("templates", "figures_src", "pipeline", "report.toml", "build.py")


def snapshot() -> dict[Path, float]:
    """Modification time of every watched file."""
    files: list[Path] = []
    for name in WATCHED:
        path = ROOT / name
        files.extend(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else files.append(path)
    return {p: p.stat().st_mtime for p in files if p.exists()}


def standalone_environment() -> dict[str, str]:
    """This environment without what a calling make passes down (its job slots cannot
    reach a make we start), so the make we run behaves as one started by hand."""
    inherited = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    return {key: value for key, value in os.environ.items() if key not in inherited}


def main() -> None:
    print("[watch] rebuilding on every save; Ctrl-C stops", flush=True)
    seen = None
    while True:
        current = snapshot()
        if current != seen:
            # Taken before the build: a save during the build starts the next one.
            seen = current
            subprocess.run(
                ["make", "--no-print-directory"], cwd=ROOT, env=standalone_environment(), check=False
            )
        time.sleep(0.5)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
