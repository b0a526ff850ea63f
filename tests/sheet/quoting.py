"""How the answers' numbers read in the PDF, written without the code under test, and a
check that finds each one inside the words that say what it is.

`reads(value)` writes a recomputed value as a reader would round it from its decimal
digits (a 5 rounds away from zero), with the page's notation: whole numbers in full with
grouped thousands, others with `digits` significant digits and a power of ten written out
where %g would use one. It works on the digit string by hand, so a formatter that
truncates, rounds half to even or drops a digit cannot agree with it by sharing its code.

`says(text, phrase)` fails with the nearest passage of the text when the phrase (the
number with the words around it) is missing, so a value printed in the wrong sentence, or
two values swapped, fails where a bare substring search would find the number elsewhere.
"""

import difflib
import re

MINUS = "\u2212"


def _round_digits(digits: str, keep: int) -> tuple[str, int]:
    """The first `keep` of `digits`, rounded half up by the next digit; and 1 if the
    rounding carried into a new leading digit (99.96 -> 100.0), else 0."""
    head, rest = digits[:keep], digits[keep:]
    if not rest or rest[0] < "5":
        return head.ljust(keep, "0"), 0
    carried = str(int(head) + 1)
    return (carried[:keep], 1) if len(carried) > keep else (carried.zfill(keep), 0)


def reads(value: float, digits: int = 3) -> str:
    """`value` as pdftotext reads it on the page (e.g. 20.25 -> '20.3', -3e-5 -> '−3 × 10−5')."""
    sign = MINUS if value < 0 else ""
    if float(value).is_integer() and abs(value) < 1e6:
        return sign + f"{abs(int(value)):,}"
    # repr's digits are the decimal the value was written as (0.1235, not 0.12349999...)
    shortest = repr(abs(float(value)))
    if "e" not in shortest:
        whole, _, fraction = shortest.partition(".")
        all_digits = (whole + fraction).lstrip("0")
        leading_zeros = len(fraction) - len(fraction.lstrip("0"))
        exponent = len(whole.lstrip("0")) - 1 if whole.strip("0") else -(leading_zeros + 1)
    else:
        written, _, shown_power = shortest.partition("e")
        all_digits, exponent = written.replace(".", "").lstrip("0"), int(shown_power)
    kept, carry = _round_digits(all_digits, digits)
    exponent += carry
    kept = kept.rstrip("0") or "0"
    if -4 <= exponent < digits:  # %g's rule for when a power of ten is written
        if exponent >= 0:
            whole, fraction = kept[: exponent + 1].ljust(exponent + 1, "0"), kept[exponent + 1 :]
        else:
            whole, fraction = "0", "0" * (-exponent - 1) + kept
        return sign + whole + (f".{fraction}" if fraction else "")
    shown = kept[0] + (f".{kept[1:]}" if len(kept) > 1 else "")
    power_shown = f"{MINUS}{-exponent}" if exponent < 0 else str(exponent)
    return f"{sign}{shown} × 10{power_shown}"


def says(text: str, phrase: str) -> None:
    """Assert that `text` has `phrase` (whitespace folded); else show the closest passage."""
    text, phrase = re.sub(r"\s+", " ", text), re.sub(r"\s+", " ", phrase)
    if phrase in text:
        return
    width = len(phrase)
    windows = [text[start : start + width] for start in range(0, max(1, len(text) - width + 1), 4)]
    nearest = difflib.get_close_matches(phrase, windows, n=1, cutoff=0) or [""]
    raise AssertionError(f"the PDF should say {phrase!r}; nearest: {nearest[0]!r}")
