"""Make sure TeX Live and the tools the build and tests call are installed.

    python3 -m pipeline.tex_setup      (from the project's root, as make runs it)

Runs with the system Python and its standard library only (it runs before the
virtual environment exists). The packages and the files that prove them installed are
listed in debian-packages.txt. Missing packages are installed with apt-get when we are
root and apt-get exists; otherwise the script stops with the exact command to run.
On success it copies the list to report/.tex-ready: make skips the check while the
list is what it was then.
"""

import os
import shutil
import subprocess
import sys

from pipeline.paths import PROJECT


def listed_packages() -> list[tuple[int, str, list[str]]]:
    """Each line of debian-packages.txt that names a package: its line number, the Debian
    package and the files it provides that the build relies on."""
    listed = []
    for number, line in enumerate(PROJECT.debian_packages.read_text(encoding="utf-8").splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if words:
            listed.append((number, words[0], words[1:]))
    return listed


def required_packages() -> dict[str, list[str]]:
    """Debian package -> files it provides that the build relies on."""
    return {package: files for _, package, files in listed_packages()}


def package_line(package: str) -> int | None:
    """The line of debian-packages.txt that lists `package`, if any."""
    return next((number for number, listed, _ in listed_packages() if listed == package), None)


def is_present(file: str) -> bool:
    if "." not in file:
        return shutil.which(file) is not None
    if shutil.which("kpsewhich") is None:
        return False
    found = subprocess.run(["kpsewhich", file], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def missing_packages() -> list[str]:
    return [
        package
        for package, files in required_packages().items()
        if not all(is_present(file) for file in files)
    ]


def install_command(packages: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def main() -> int:
    missing = missing_packages()
    if missing:
        can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
        if not can_install:
            command = "sudo apt-get update && sudo " + " ".join(install_command(missing))
            print(f"error: missing Debian packages: {' '.join(missing)}\n  run: {command}", file=sys.stderr)
            return 1
        print(f"[setup] installing {' '.join(missing)} with apt-get (about a minute)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in (["apt-get", "update", "-q"], install_command(missing)):
            subprocess.run(step, check=True, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        still_missing = missing_packages()
        if still_missing:
            print(f"error: still missing after apt-get: {' '.join(still_missing)}", file=sys.stderr)
            return 1
    PROJECT.tex_ready.parent.mkdir(parents=True, exist_ok=True)
    PROJECT.tex_ready.write_bytes(PROJECT.debian_packages.read_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
