"""Compile the rendered LaTeX with latexmk and publish the PDF atomically."""

import os
import re
import shutil
import subprocess
from pathlib import Path


class LatexError(Exception):
    """LaTeX stopped; the message holds the first error and where the full log is."""


def first_error(log: str) -> str:
    """The first error of a LaTeX log (with -file-line-error), with the lines that explain it."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^(\S+?:\d+: |! )", line):
            return "\n".join(lines[index : index + 4]).rstrip()
    return "LaTeX stopped without reporting an error (see the log)"


def compile_document(build_dir: Path, main: str, source_date_epoch: int) -> Path:
    """Run latexmk on build_dir/<main>.tex (as many passes as it needs); return the PDF."""
    env = {
        **os.environ,
        "SOURCE_DATE_EPOCH": str(source_date_epoch),
        "FORCE_SOURCE_DATE": "1",
        "TEXINPUTS": f".:{build_dir.parent / 'figures'}:{build_dir.parent / 'results'}:",
    }
    command = [
        "latexmk",
        "-pdf",
        "-silent",
        "-interaction=nonstopmode",
        "-halt-on-error",
        "-file-line-error",
        "-pdflatex=pdflatex -no-shell-escape %O %S",
        f"{main}.tex",
    ]
    done = subprocess.run(
        command, cwd=build_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    log = build_dir / f"{main}.log"
    if done.returncode != 0:
        text = (
            log.read_text(encoding="utf-8", errors="replace") if log.exists() else done.stdout + done.stderr
        )
        raise LatexError(f"{first_error(text)}\n(full log: {log})")
    return build_dir / f"{main}.pdf"


def publish_pdf(built: Path, target: Path) -> None:
    """Copy the built PDF over target in one rename, so target is never half written."""
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(built, partial)
    os.replace(partial, target)
