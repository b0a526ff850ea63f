"""Compile the rendered LaTeX with latexmk and publish the PDF atomically."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.diagnostics import latex_error_report, overfull_boxes, undefined_references
from pipeline.tex_setup import install_command


class LatexError(Exception):
    """LaTeX stopped, or left references unresolved; the message says where and why."""


def _forget_interrupted_compile(build_dir: Path, main: str) -> Path:
    """If the last compile never finished (killed, or failed), its .aux and latexmk's
    database may be half written: drop them so this compile starts from a clean state.
    Returns the marker file that stands for a compile in progress."""
    marker = build_dir / f".{main}.compiling"
    if marker.exists():
        for leftover in (f"{main}.aux", f"{main}.fdb_latexmk", f"{main}.out", f"{main}.toc"):
            (build_dir / leftover).unlink(missing_ok=True)
    marker.touch()
    return marker


def compile_document(build_dir: Path, main: str, source_date_epoch: int) -> Path:
    """Run latexmk on build_dir/<main>.tex (as many passes as it needs); return the PDF."""
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        raise LatexError(
            "latexmk or pdflatex is not installed; install TeX Live from Debian:\n  sudo "
            + " ".join(install_command(["latexmk", "texlive-latex-base"]))
        )
    env = {
        **os.environ,
        "SOURCE_DATE_EPOCH": str(source_date_epoch),
        "FORCE_SOURCE_DATE": "1",
        "TEXINPUTS": f".:{build_dir.parent / 'figures'}:{build_dir.parent / 'code'}:",
        "max_print_line": "10000",  # one log line per message, so the log can be read back
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
    marker = _forget_interrupted_compile(build_dir, main)
    done = subprocess.run(
        command, cwd=build_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    log_path = build_dir / f"{main}.log"
    log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    if done.returncode != 0:
        report = latex_error_report(log, build_dir) if log else done.stdout + done.stderr
        raise LatexError(f"{report}\n  (full log: {log_path})")
    unresolved = undefined_references(log)
    if unresolved:
        raise LatexError(
            f"undefined references: {', '.join(unresolved)}\n"
            f"  each needs a \\label{{...}} of that name (full log: {log_path})"
        )
    marker.unlink()
    for warning in overfull_boxes(log, build_dir):
        print(f"warning: {warning}", file=sys.stderr)
    return build_dir / f"{main}.pdf"


def publish_pdf(built: Path, target: Path) -> None:
    """Copy the built PDF over target in one rename, so target is never half written."""
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(built, partial)
    os.replace(partial, target)
