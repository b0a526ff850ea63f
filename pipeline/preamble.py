"""The preamble, compiled once: a pdfTeX format with every package already loaded.

    python -m pipeline.preamble        (make runs it when the preamble or what it loads changed)

Loading the preamble's packages is a good part of a small edit's LaTeX time.
mylatexformat (Debian's texlive-latex-extra) dumps everything before `\\endofdump`
into a format; a compile started from it skips that part of submission.tex.

The format's name carries a hash of the preamble it was made from
(report/build/preamble-<hash>.fmt), so a compile uses it only if it matches the
preamble being compiled, and a new one can be made while a compile runs (make runs
both at once). The format is a cache and never the reason a build fails: without a
matching one, the compile takes the plain route.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.render import layout_context, template_environment

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "report" / "build"
DRIVER = "\\input{preamble}\n\\endofdump\n"


def format_name(preamble: str) -> str:
    """The format's job name for this rendered preamble."""
    return "preamble-" + hashlib.sha256(preamble.encode("utf-8")).hexdigest()[:12]


def current_format(build_dir: Path) -> str | None:
    """The job name of the format made from build_dir/preamble.tex, if it exists."""
    preamble = build_dir / "preamble.tex"
    if not preamble.exists():
        return None
    name = format_name(preamble.read_text(encoding="utf-8"))
    return name if (build_dir / f"{name}.fmt").exists() else None


def dump_format(build_dir: Path = BUILD_DIR) -> str | None:
    """Render the preamble and dump it into build_dir/preamble-<hash>.fmt, replacing
    older formats; returns None, or why it failed."""
    preamble = template_environment().get_template("preamble.tex").render(layout_context())
    name = format_name(preamble)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "preamble.tex").write_text(preamble, encoding="utf-8")
        (work / "driver.tex").write_text(DRIVER, encoding="utf-8")
        done = subprocess.run(
            ["pdftex", "-ini", "-interaction=nonstopmode", "-halt-on-error", f"-jobname={name}",
             "&pdflatex", "mylatexformat.ltx", "driver.tex"],
            cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not (work / f"{name}.fmt").exists():
            errors = [line for line in done.stdout.splitlines() if line.startswith("!")]
            return errors[0] if errors else "pdftex -ini failed"
        build_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(work / f"{name}.fmt", build_dir / f"{name}.fmt.partial")
    os.replace(build_dir / f"{name}.fmt.partial", build_dir / f"{name}.fmt")
    for old in build_dir.glob("preamble-*.fmt"):
        if old.stem != name:
            old.unlink(missing_ok=True)
    return None


def main() -> int:
    start = time.perf_counter()
    problem = dump_format()
    if problem:
        print(f"[format] not made ({problem}); compiles take the plain route", file=sys.stderr)
    else:
        print(f"[format] report/build/preamble-*.fmt ({time.perf_counter() - start:.1f} s)")
    (BUILD_DIR / ".format-made").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
