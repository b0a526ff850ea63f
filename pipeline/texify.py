"""Turning Python values into LaTeX source: escaped text and formatted numbers.

Every number that reaches the PDF goes through `format_number`, and every string
from the user's config goes through `escape_text`; nothing else formats either.
"""

import math
import numbers
from decimal import ROUND_HALF_UP, Decimal

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


# Characters beyond Latin-1 (which the utf8 input encoding already covers) that the
# document can typeset, as math-mode commands; the preamble declares each of them.
UNICODE_COMMANDS = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\epsilon",
    "ζ": r"\zeta",
    "η": r"\eta",
    "θ": r"\theta",
    "ι": r"\iota",
    "κ": r"\kappa",
    "λ": r"\lambda",
    "μ": r"\mu",
    "ν": r"\nu",
    "ξ": r"\xi",
    "π": r"\pi",
    "ρ": r"\rho",
    "σ": r"\sigma",
    "τ": r"\tau",
    "υ": r"\upsilon",
    "φ": r"\phi",
    "χ": r"\chi",
    "ψ": r"\psi",
    "ω": r"\omega",
    "Γ": r"\Gamma",
    "Δ": r"\Delta",
    "Θ": r"\Theta",
    "Λ": r"\Lambda",
    "Ξ": r"\Xi",
    "Π": r"\Pi",
    "Σ": r"\Sigma",
    "Υ": r"\Upsilon",
    "Φ": r"\Phi",
    "Ψ": r"\Psi",
    "Ω": r"\Omega",
    "→": r"\rightarrow",
    "←": r"\leftarrow",
    "⇒": r"\Rightarrow",
    "≈": r"\approx",
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "−": r"-",
    "∑": r"\sum",
    "∈": r"\in",
    "√": r"\surd",
    "‖": r"\|",
    "∞": r"\infty",
    "∂": r"\partial",
    "∇": r"\nabla",
    "⊤": r"\top",
    "…": r"\ldots",
    "ᵀ": r"^{\mathsf{T}}",
    "⁻": r"^{-}",
    "₀": r"_{0}",
    "₁": r"_{1}",
    "₂": r"_{2}",
    "ᵢ": r"_{i}",
    "⊙": r"\odot",
    "∘": r"\circ",
    "≪": r"\ll",
    "≫": r"\gg",
    "∝": r"\propto",
    "∼": r"\sim",
    "∀": r"\forall",
    "∃": r"\exists",
    "∅": r"\emptyset",
    "∩": r"\cap",
    "∪": r"\cup",
    "⊂": r"\subset",
    "⊆": r"\subseteq",
    "↦": r"\mapsto",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "∫": r"\int",
    "∏": r"\prod",
    "≡": r"\equiv",
    "⋅": r"\cdot",
    "ℝ": r"\mathbb{R}",
}


def untypesettable(text: str) -> list[str]:
    """The characters of `text` pdfLaTeX cannot print (beyond Latin-1 and UNICODE_COMMANDS)."""
    return sorted({c for c in text if ord(c) > 0xFF and c not in UNICODE_COMMANDS})


def escape_text(text: str) -> str:
    """LaTeX source that prints `text` exactly as written (special characters included)."""
    escaped = escape_latex(text)
    return "".join(_LIGATURE_BREAKERS.get(char, char) for char in escaped)


def round_half_up(value: float, digits: int) -> float:
    """`value` rounded to `digits` significant digits as a reader rounds its decimal
    digits: a 5 rounds away from zero (162/8 = 20.25 -> 20.3). Python's own formatting
    rounds the binary value half to even, which prints 20.2."""
    written = Decimal(repr(value))  # the shortest decimal that reads back as value
    if written == 0:
        return value
    step = Decimal(1).scaleb(written.adjusted() - digits + 1)
    return float(written.quantize(step, rounding=ROUND_HALF_UP))


def format_number(value: float, digits: int = 3, trailing_zeros: bool = False) -> str:
    """LaTeX for `value`, rounded to `digits` significant digits.

    Integers (and floats that are whole numbers below a million) print in full with
    grouped thousands; other values print like %g, with a power of ten written out.
    `trailing_zeros` keeps them (0.920 rather than 0.92), for columns of a table.
    The result works in text and in math mode.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"a number is needed here, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"cannot format the non-finite number {value!r}")
    if digits < 1:
        raise ValueError(f"a number needs at least one significant digit, not {digits}")
    if isinstance(value, numbers.Integral) or (float(value).is_integer() and abs(value) < 1e6):
        body = f"{int(value):,}".replace(",", "{,}")
    else:
        rounded = round_half_up(float(value), digits)
        body = f"{rounded:{'#' if trailing_zeros else ''}.{digits}g}".replace(".e", "e").rstrip(".")
        if "e" in body:
            mantissa, exponent = body.split("e")
            body = rf"{mantissa}\times 10^{{{int(exponent)}}}"
    return rf"\ensuremath{{{body}}}" if any(c in body for c in "-\\{") else body
