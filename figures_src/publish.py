"""What a notebook hands to the report: named values, formulas, tables and figures.

A notebook calls `publish("name", value)` and the template writes `\\VAR{ex1.name}`;
it calls `save_figure(fig, "ex1-name")` and the template includes `ex1-name.pdf`.
The build's notebook runner (pipeline/notebook.py) collects both after the run.
"""

import logging
import numbers
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("pdf")
import matplotlib.pyplot as plt
import numpy as np
import sympy
from sympy.printing.latex import LatexPrinter

from figures_src.page import TEXT_WIDTH_IN
from pipeline.paths import PROJECT

FIGURE_DIR = PROJECT.figures

# Figures are drawn at the size they print, in the document's Computer Modern, with
# fonts embedded as TrueType outlines (fonttype 42) rather than Type 3 bitmaps.
plt.rcParams.update(
    {
        "font.family": "serif",
        "font.serif": ["cmr10"],
        "mathtext.fontset": "cm",
        "axes.formatter.use_mathtext": True,
        "axes.unicode_minus": False,
        "font.size": 9,
        "axes.titlesize": 9,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "pdf.fonttype": 42,
        "figure.dpi": 100,
        "savefig.dpi": 300,
        "image.cmap": "viridis",
    }
)

# fontTools complains that the Computer Modern TrueType files carry 1990s timestamps
# when it subsets them into a figure; the warning is harmless and would hide real ones.
logging.getLogger("fontTools").setLevel(logging.ERROR)

# A TikZ picture is compiled on its own, in the document's fonts, into a PDF figure.
TIKZ_DOCUMENT = r"""\documentclass[tikz, border=1pt]{standalone}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{amsmath, amssymb}
\usetikzlibrary{arrows.meta, positioning, calc, fit, backgrounds}
\pdftrailerid{}
\pdfsuppressptexinfo=-1
\begin{document}
%s
\end{document}
"""

RESULTS: dict[str, object] = {}
SAVED_FIGURES: list[str] = []  # by name, in the order saved
WRITTEN: list[Path] = []  # every file saved, a figure's TikZ source included

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _plain(value: object) -> object:
    """JSON-ready copy of a value: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot publish a {type(value).__name__}: use a number, text or a list of them")


def publish(name: str, value: object) -> None:
    """Make `value` available to the templates as `<notebook>.<name>`.

    Numbers are formatted by the build (pipeline/texify.py); strings are LaTeX source.
    """
    if not _NAME.match(name):
        raise ValueError(f"published name {name!r} must be a Python identifier")
    RESULTS[name] = _plain(value)


class ReportLatexPrinter(LatexPrinter):
    r"""sympy's LaTeX in the report's notation: the transpose is ^{\top}, as in the text."""

    def _print_Transpose(self, expr: sympy.Transpose) -> str:
        return super()._print_Transpose(expr).removesuffix("^{T}") + r"^{\top}"


def publish_formula(name: str, expression: sympy.Basic) -> None:
    """Publish the LaTeX of a sympy expression (typeset by the template inside math mode)."""
    publish(name, ReportLatexPrinter().doprint(expression))


def new_figure(width: float = 1.0, aspect: float = 0.62, **kwargs: object) -> plt.Figure:
    """A figure `width` text widths wide and `aspect` times as high, laid out to fit."""
    inches = width * TEXT_WIDTH_IN
    return plt.figure(figsize=(inches, inches * aspect), layout="constrained", **kwargs)


def save_figure(fig: plt.Figure, name: str) -> Path:
    """Write `fig` to report/figures/<name>.pdf at its own size, atomically, and close it.

    The file is written under a temporary name and renamed, so a failed run never
    leaves half a figure behind. Metadata carries no date, so reruns are byte-identical.
    """
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    target = FIGURE_DIR / f"{name}.pdf"
    partial = target.with_suffix(".pdf.partial")
    fig.savefig(partial, format="pdf", metadata={"CreationDate": None, "ModDate": None})
    os.replace(partial, target)
    plt.close(fig)
    SAVED_FIGURES.append(name)
    WRITTEN.append(target)
    return target


def save_tikz(picture: str, name: str) -> Path:
    """Compile a TikZ picture (`\\begin{tikzpicture}...`) to report/figures/<name>.pdf.

    The picture is typeset apart from the document, so editing the document's prose
    never re-typesets it; its fonts are the document's (T1, Latin Modern).
    """
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    target = FIGURE_DIR / f"{name}.pdf"
    source = FIGURE_DIR / f"{name}.tex"
    source.write_text(TIKZ_DOCUMENT % picture, encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [
                "pdflatex",
                "-no-shell-escape",
                "-interaction=nonstopmode",
                "-halt-on-error",
                "-file-line-error",
                f"-output-directory={scratch}",
                str(source),
            ],
            env={**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            errors = [line for line in done.stdout.splitlines() if ":" in line and line.startswith(scratch)]
            raise RuntimeError(
                f"TikZ figure {name} ({source}) failed to compile: {errors[:1] or done.stdout[-800:]}"
            )
        partial = target.with_suffix(".pdf.partial")
        shutil.move(Path(scratch) / f"{name}.pdf", partial)
    os.replace(partial, target)
    SAVED_FIGURES.append(name)
    WRITTEN.extend([source, target])
    return target
