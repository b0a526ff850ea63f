"""Python source as highlighted LaTeX (Pygments), for the notebooks' code in the PDF.

    python -m pipeline.listing > report/results/code-style.tex   (the colour macros)

`highlight` gives the body of a fvextra Verbatim environment with `\\PY{...}` commands;
the style's macros are written once per build by the command above and loaded by the
preamble. Nothing here needs shell escape: the highlighting happens in Python.
"""

import sys

from pygments import highlight as pygments_highlight
from pygments.formatters import LatexFormatter
from pygments.lexers import PythonLexer

FORMATTER = LatexFormatter(style="default", nowrap=True, commandprefix="PY")


def highlight(source: str) -> str:
    """Highlighted LaTeX for `source` (to go inside a Verbatim with commandchars=\\\\\\{\\})."""
    return pygments_highlight(source, PythonLexer(), FORMATTER)


def style_definitions() -> str:
    # Latin Modern's typewriter face has no bold; colour alone marks keywords.
    return FORMATTER.get_style_defs().replace(r"\let\PY@bf=\textbf", "")


if __name__ == "__main__":
    sys.stdout.write(style_definitions())
