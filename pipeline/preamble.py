"""The preamble, compiled once: a pdfTeX format with every package already loaded.

    python -m pipeline.preamble        (make runs it when the preamble or what it loads changed)

Loading the preamble's packages is a good part of a small edit's LaTeX time.
mylatexformat (Debian's texlive-latex-extra) dumps everything before `\\endofdump`
into report/build/preamble.fmt; a compile started with `-fmt=preamble` skips that
part of submission.tex. The format is a cache and never the reason a build fails:
if it cannot be made, the compile takes the plain route and says so.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from pipeline.render import layout_context, template_environment

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "report" / "build"
FORMAT_NAME = "preamble"
DRIVER = "\\input{preamble}\n\\endofdump\n"


def format_file(build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / f"{FORMAT_NAME}.fmt"


def render_preamble(build_dir: Path = BUILD_DIR) -> Path:
    """templates/preamble.tex -> build_dir/preamble.tex (rewritten only if it changed)."""
    text = template_environment().get_template("preamble.tex").render(layout_context())
    target = build_dir / "preamble.tex"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target


def dump_format(build_dir: Path = BUILD_DIR) -> str | None:
    """Dump the rendered preamble into build_dir/preamble.fmt; None, or why it failed."""
    build_dir.mkdir(parents=True, exist_ok=True)
    render_preamble(build_dir)
    (build_dir / f"{FORMAT_NAME}-driver.tex").write_text(DRIVER, encoding="utf-8")
    format_file(build_dir).unlink(missing_ok=True)
    done = subprocess.run(
        ["pdftex", "-ini", "-interaction=nonstopmode", "-halt-on-error", f"-jobname={FORMAT_NAME}",
         "&pdflatex", "mylatexformat.ltx", f"{FORMAT_NAME}-driver.tex"],
        cwd=build_dir,
        env={**os.environ, "TEXINPUTS": f".:{build_dir.parent / 'figures'}:"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0 or not format_file(build_dir).exists():
        errors = [line for line in done.stdout.splitlines() if line.startswith("!")]
        return errors[0] if errors else "pdftex -ini failed"
    return None


def main() -> int:
    start = time.perf_counter()
    problem = dump_format()
    if problem:
        print(f"[format] not made ({problem}); compiles take the plain route", file=sys.stderr)
    else:
        print(f"[format] report/build/preamble.fmt ({time.perf_counter() - start:.1f} s)")
    (BUILD_DIR / ".format-made").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
