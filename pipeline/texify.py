"""Turning Python values into LaTeX source: escaped text and formatted numbers.

Every number that reaches the PDF goes through `format_number`, and every string
from the user's config goes through `escape_text`; nothing else formats either.
"""

import math
import numbers

from pylatex.utils import escape_latex

# T1-encoded fonts turn some ASCII pairs into other glyphs (-- into a dash, << into
# guillemets, ' into a curly quote). These replacements keep a name exactly as typed.
_LIGATURE_BREAKERS = {
    "'": r"\textquotesingle{}",
    "`": r"\textasciigrave{}",
    '"': r"\textquotedbl{}",
    "-": "-{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "!": "!{}",
    "?": "?{}",
}


def escape_text(text: str) -> str:
    """LaTeX source that prints `text` exactly as written (special characters included)."""
    escaped = escape_latex(text)
    return "".join(_LIGATURE_BREAKERS.get(char, char) for char in escaped)


def format_number(value: numbers.Real, digits: int = 3) -> str:
    """LaTeX for `value`, rounded to `digits` significant digits.

    Integers (and floats that are whole numbers below a million) print in full with
    grouped thousands; other values print like %g, with a power of ten written out.
    The result works in text and in math mode.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"format_number expects a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"cannot format the non-finite number {value!r}")
    if isinstance(value, numbers.Integral) or (float(value).is_integer() and abs(value) < 1e6):
        body = f"{int(value):,}".replace(",", "{,}")
    else:
        body = f"{float(value):.{digits}g}"
        if "e" in body:
            mantissa, exponent = body.split("e")
            body = rf"{mantissa}\times 10^{{{int(exponent)}}}"
    if body == "-0":
        body = "0"
    return rf"\ensuremath{{{body}}}" if any(c in body for c in "-\\{") else body
