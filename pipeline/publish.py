"""What a notebook hands to the report: named values, formulas, tables and figures.

A notebook calls `publish("name", value)` and the template writes `\\VAR{ex1.name}`;
it calls `save_figure(fig, "ex1-name")` and the template includes `ex1-name.pdf`.
The build's notebook runner (pipeline/notebook.py) collects both after the run.

sympy, PyLaTeX, pyplot and pypdf are imported only when a notebook uses them: a value
can only be a sympy expression or a PyLaTeX table once the notebook imported sympy or
PyLaTeX. A notebook that needs neither starts a second sooner, at every build.
"""

import contextlib
import functools
import logging
import math
import numbers
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np

from pipeline.page import CM_PER_INCH, TEXT_HEIGHT_CM, TEXT_WIDTH_CM, TEXT_WIDTH_IN
from pipeline.paths import PROJECT, ensure_this_checkout
from pipeline.texify import UNICODE_COMMANDS, escape_text

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from matplotlib.figure import Figure

ensure_this_checkout(getattr(sys.modules["__main__"], "__file__", None), Path.cwd())

FIGURE_DIR = PROJECT.figures

# Figures are drawn at the size they print. save_figure has LaTeX typeset their text
# (matplotlib's pgf backend) in the document's fonts (Latin Modern, T1, with pdfTeX's
# glyph-to-Unicode table), so the PDF's text layer reads as drawn: a minus as −, ⊤ as ⊤,
# which matplotlib's own Computer Modern TrueType fonts map to ¡ and >. A notebook shown
# in Jupyter or VS Code draws the same figure with matplotlib's Computer Modern.
UNICODE_MATH = [
    rf"\DeclareUnicodeCharacter{{{ord(c):04X}}}{{\ensuremath{{{tex}}}}}"
    for c, tex in UNICODE_COMMANDS.items()
]
PGF_PREAMBLE = "\n".join(
    [
        r"\usepackage[T1]{fontenc}",
        r"\usepackage{lmodern}",
        r"\usepackage{amsmath, amssymb}",
        r"\input{glyphtounicode}\pdfgentounicode=1",
        r"\pdftrailerid{}\pdfsuppressptexinfo=-1",
        r"\pagestyle{empty}",  # no page number below the figure, where copied text would pick it up
        *UNICODE_MATH,
    ]
)
matplotlib.rcParams.update(
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
        "pgf.texsystem": "pdflatex",
        "pgf.rcfonts": False,
        "pgf.preamble": PGF_PREAMBLE,
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

INLINE_DPI = 96  # a browser's CSS pixels per inch: Jupyter's pictures at their printed size

RESULTS: dict[str, object] = {}
SAVED_FIGURES: list[str] = []  # by name, in the order saved
WRITTEN: list[Path] = []  # every file saved, a figure's TikZ source included

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# `ex1.values` in a template means the dict's method, not a value named "values".
_TAKEN = {name for name in dir(dict) if not name.startswith("_")}


class PublishError(ValueError):
    """A value the report cannot print, refused where the notebook publishes it."""


def _sympy() -> Any:
    """sympy, if the notebook imported it (else no value can be a sympy expression)."""
    return sys.modules.get("sympy")


@functools.cache
def _formula_printer() -> Any:
    r"""sympy's LaTeX in the report's notation: the transpose is ^{\top}, as in the text."""
    from sympy.printing.latex import LatexPrinter

    class ReportLatexPrinter(LatexPrinter):
        def _print_Transpose(self, expr: Any) -> str:
            return str(super()._print_Transpose(expr)).removesuffix("^{T}") + r"^{\top}"

    return ReportLatexPrinter()


def _number(value: object, name: str) -> int | float:
    """A finite real number, as JSON keeps it; the build formats it (pipeline/texify.py)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise PublishError(
            f"{name}: cannot publish {type(value).__name__} {value!r}: publish a number, "
            "text (str), LaTeX (NoEscape or a PyLaTeX object), a sympy expression, "
            "or a list or array of numbers"
        )
    if not math.isfinite(value):
        raise PublishError(f"{name} is {value}: only finite numbers can be printed")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _printable(value: object, name: str) -> object:
    """What the templates get for `value`: LaTeX source for text, LaTeX and formulas;
    numbers and (nested) lists of numbers as they are."""
    if "pylatex" in sys.modules:
        from pylatex.base_classes import LatexObject
        from pylatex.utils import NoEscape

        if isinstance(value, NoEscape):  # LaTeX, marked as such
            return str(value)
        if isinstance(value, LatexObject):  # a PyLaTeX table, say
            return value.dumps()
    if isinstance(value, str):  # text: printed exactly as written
        return escape_text(value)
    sympy = _sympy()
    if sympy and isinstance(value, sympy.Basic) and not value.is_number:
        return _formula_printer().doprint(value)
    if isinstance(value, np.ndarray | list | tuple):
        items = value.tolist() if isinstance(value, np.ndarray) else value
        return [
            _printable(item, f"{name}[{index}]")
            if isinstance(item, list | tuple)
            else _number(item, f"{name}[{index}]")
            for index, item in enumerate(items)
        ]
    if sympy and isinstance(value, sympy.Basic):
        value = float(value) if not value.is_integer else int(value)
    return _number(value, name)


def _check_name(name: str) -> None:
    """A name a template can print as `<notebook>.<name>`, or a PublishError."""
    if not _NAME.match(name):
        raise PublishError(f"published name {name!r} must be a Python identifier")
    if name in _TAKEN:
        raise PublishError(
            f"published name {name!r} would read as the dictionary method {name}() in a "
            "template; choose another name"
        )


def publish(name: str, value: object) -> None:
    """Make `value` available to the templates as `<notebook>.<name>`.

    It takes what the report can print and refuses the rest, here, at the notebook's
    line: a finite number (formatted by the build), text (printed exactly as written),
    LaTeX marked as LaTeX (`NoEscape("...")` or a PyLaTeX object such as a Tabular), a
    sympy expression (its LaTeX, for math mode), or a list or array of numbers.
    """
    _check_name(name)
    RESULTS[name] = _printable(value, name)


def publish_table(
    name: str, rows: "Sequence[Sequence[object]]", header: "Sequence[str] | None" = None, digits: int = 3
) -> None:
    """Publish a table of numbers (and text) as a booktabs tabular, each number formatted
    as everywhere in the report (pipeline/texify.py's format_number, `digits` significant
    digits, trailing zeros kept so a column lines up), text as written. Place it with its
    caption and label: `\\valuetable{tab:ex2-counts}{Caption.}{\\VAR{ex2.counts}}`."""
    from pipeline.texify import format_number

    _check_name(name)
    width = max([len(header or [])] + [len(row) for row in rows])
    if any(len(row) != width for row in rows) or (header and len(header) != width):
        raise PublishError(f"table {name}: every row and the header need {width} cells")

    def cell(value: object, where: str) -> str:
        if isinstance(value, str):
            return escape_text(value)
        return format_number(_number(value, where), digits, trailing_zeros=True)

    cells = [[cell(value, f"{name}[{r}][{c}]") for c, value in enumerate(row)] for r, row in enumerate(rows)]
    numeric = [all(not isinstance(row[c], str) for row in rows) for c in range(width)]
    lines = [f"\\begin{{tabular}}{{{''.join('r' if n else 'l' for n in numeric)}}}", "\\toprule"]
    if header:
        lines += [" & ".join(escape_text(title) for title in header) + " \\\\", "\\midrule"]
    lines += [" & ".join(row) + " \\\\" for row in cells]
    RESULTS[name] = "\n".join([*lines, "\\bottomrule", "\\end{tabular}"])


def publish_formula(name: str, expression: Any) -> None:
    """Publish the LaTeX of a sympy expression (typeset by the template inside math mode)."""
    sympy = _sympy()
    if not (sympy and isinstance(expression, sympy.Basic)):
        raise PublishError(
            f"{name}: publish_formula takes a sympy expression, got {type(expression).__name__}"
        )
    RESULTS[name] = _formula_printer().doprint(expression)


def new_figure(width: float = 1.0, aspect: float = 0.62, **kwargs: Any) -> "Figure":
    """A figure `width` text widths wide and `aspect` times as high, laid out to fit."""
    import matplotlib.pyplot as plt

    inches = width * TEXT_WIDTH_IN
    return plt.figure(figsize=(inches, inches * aspect), layout="constrained", **kwargs)


def fits_the_page(name: str, width_cm: float, height_cm: float) -> None:
    """A figure prints at its own size: one larger than the text area would run off the page."""
    if width_cm > TEXT_WIDTH_CM + 0.05 or height_cm > TEXT_HEIGHT_CM + 0.05:
        raise PublishError(
            f"figure {name} is {width_cm:.1f} x {height_cm:.1f} cm, larger than the text area of "
            f"{TEXT_WIDTH_CM:g} x {TEXT_HEIGHT_CM:g} cm; make it smaller (new_figure(width=..., aspect=...))"
        )


def a_figure_name(name: str) -> None:
    """A figure's name is written in LaTeX (`\\plot{name}...`, the appendix's file names),
    where `_`, `#`, `%`, `&`, `$`, `^`, `~`, braces, a backslash or a space mean something
    else: refused here, where the notebook names it, not later inside a template."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]*", name):
        suggestion = re.sub(r"[^A-Za-z0-9.+-]+", "-", name).strip("-") or "ex1-name"
        raise PublishError(
            f"figure name {name!r}: LaTeX reads its special characters as commands; "
            f"use letters, digits and - ({suggestion!r}, say)"
        )


@contextlib.contextmanager
def _environment(**variables: str) -> "Iterator[None]":
    """These environment variables for what runs inside (matplotlib starts pdfLaTeX with
    the notebook's environment), then the notebook's own again."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def save_figure(fig: "Figure", name: str) -> None:
    """Write `fig` to report/figures/<name>.pdf at its own size, atomically, and close it
    (but in a notebook's kernel, which shows it under the cell).

    The file is written under a temporary name and renamed, so a failed run never
    leaves half a figure behind. Metadata carries no date, so reruns are byte-identical.
    """
    import matplotlib.pyplot as plt

    a_figure_name(name)
    width, height = fig.get_size_inches() * CM_PER_INCH
    fits_the_page(name, width, height)
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    target = FIGURE_DIR / f"{name}.pdf"
    partial = target.with_suffix(".pdf.partial")
    # pdfTeX dates the PDF from SOURCE_DATE_EPOCH: the same figure gives the same bytes.
    with _environment(SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1"):
        fig.savefig(partial, format="pdf", backend="pgf", metadata={"CreationDate": None, "ModDate": None})
    os.replace(partial, target)
    if "inline" not in plt.get_backend():  # in Jupyter or VS Code the figure stays to be shown
        plt.close(fig)
    SAVED_FIGURES.append(name)
    WRITTEN.append(target)


def save_tikz(picture: str, name: str) -> None:
    """Compile a TikZ picture (`\\begin{tikzpicture}...`) to report/figures/<name>.pdf.

    The picture is typeset apart from the document, so editing the document's prose
    never re-typesets it; its fonts are the document's (T1, Latin Modern).
    """
    from pypdf import PdfReader

    a_figure_name(name)
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
        page = PdfReader(Path(scratch) / f"{name}.pdf").pages[0].mediabox
        fits_the_page(name, float(page.width) / 72 * CM_PER_INCH, float(page.height) / 72 * CM_PER_INCH)
        partial = target.with_suffix(".pdf.partial")
        shutil.move(Path(scratch) / f"{name}.pdf", partial)
    os.replace(partial, target)
    if "inline" in matplotlib.get_backend():  # in Jupyter or VS Code: under the cell, as a figure is
        _show_inline(target)
    SAVED_FIGURES.append(name)
    WRITTEN.extend([source, target])


def _show_inline(pdf: Path) -> None:
    """Show a compiled picture under the running cell of Jupyter or VS Code, which show
    no PDF: as a PNG (poppler's pdftoppm) at twice the resolution, shown at print size."""
    from IPython.display import Image, display

    png = subprocess.run(
        ["pdftoppm", "-png", "-r", str(2 * INLINE_DPI), "-singlefile", str(pdf)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
    ).stdout
    width = int.from_bytes(png[16:20], "big")  # in pixels, from the PNG's header (IHDR)
    display(Image(data=png, format="png", width=width // 2))
