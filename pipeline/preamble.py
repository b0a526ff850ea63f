"""The preamble, compiled once: a pdfTeX format with every package already loaded.

Loading the preamble's packages is a good part of a small edit's LaTeX time.
mylatexformat (Debian's texlive-latex-extra) dumps everything before `\\endofdump`
into a format; a compile started from it skips that part of submission.tex.

The format's name carries a hash of the preamble it was made from
(report/build/preamble-<hash>.fmt), so a compile uses it only if it matches the
preamble being compiled. build.py makes it beside the notebooks, and the document is
always compiled from it: pdfTeX numbers fonts differently with and without a format, so
one route for every build is what makes the same sources give the same bytes. The
format is a cache and never the reason a build fails: if none can be made, the compile
takes the plain route (latexmk) and says so.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.errors import BuildError
from pipeline.paths import PROJECT
from pipeline.render import layout_context, render, template_environment

DRIVER = "\\input{preamble}\n\\endofdump\n"


# The user's own LaTeX files a preamble may load (templates/mymacros.sty): they are dumped
# into the format with it. A .tex part is for the document: define macros in a .sty.
PACKAGE_SUFFIXES = {".sty", ".cls", ".def", ".cfg", ".clo", ".fd"}


def own_packages() -> list[Path]:
    """The package files under templates/ (any subfolder), which the preamble may load."""
    return sorted(
        path
        for path in PROJECT.templates_dir.rglob("*")
        if path.suffix in PACKAGE_SUFFIXES and path.is_file()
    )


def format_name(preamble: str) -> str:
    """The format's job name for this rendered preamble and the user's packages it may
    have loaded: an edited templates/mymacros.sty makes another format, never a stale one."""
    digest = hashlib.sha256(preamble.encode("utf-8"))
    for package in own_packages():
        digest.update(f"\0{package.relative_to(PROJECT.templates_dir)}\0".encode())
        digest.update(package.read_bytes())
    return "preamble-" + digest.hexdigest()[:12]


def current_format(build_dir: Path) -> str | None:
    """The job name of the format made from build_dir/preamble.tex, if it exists."""
    preamble = build_dir / "preamble.tex"
    if not preamble.exists():
        return None
    name = format_name(preamble.read_text(encoding="utf-8"))
    return name if (build_dir / f"{name}.fmt").exists() else None


class FormatError(BuildError):
    """pdfTeX could not dump the preamble; the message is its first error."""


def ensure_format(build_dir: Path = PROJECT.build, *, remake: bool = False) -> bool:
    """Render the preamble and, unless its format is there already (or `remake`), dump
    it into build_dir/preamble-<hash>.fmt, replacing older formats. True if it was made."""
    preamble = render(template_environment(), "preamble.tex", layout_context())
    name = format_name(preamble)
    if not remake and (build_dir / f"{name}.fmt").exists():
        return False
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "preamble.tex").write_text(preamble, encoding="utf-8")
        (work / "driver.tex").write_text(DRIVER, encoding="utf-8")
        done = subprocess.run(
            ["pdftex", "-ini", "-interaction=nonstopmode", "-halt-on-error", f"-jobname={name}",
             "&pdflatex", "mylatexformat.ltx", "driver.tex"],
            cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
            env={**os.environ, "TEXINPUTS": f".:{PROJECT.templates_dir}//:"},
        )  # fmt: skip
        if done.returncode != 0 or not (work / f"{name}.fmt").exists():
            errors = [line for line in done.stdout.splitlines() if line.startswith("!")]
            raise FormatError(errors[0] if errors else "pdftex -ini failed")
        build_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(work / f"{name}.fmt", build_dir / f"{name}.fmt.partial")
    os.replace(build_dir / f"{name}.fmt.partial", build_dir / f"{name}.fmt")
    for old in build_dir.glob("preamble-*.fmt"):
        if old.stem != name:
            old.unlink(missing_ok=True)
    return True
