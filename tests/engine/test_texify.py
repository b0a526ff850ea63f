"""pipeline/texify.py on its own, in-process: every number and every string of the PDF
goes through it, so each rule is pinned by literal cases (written by hand, never computed
by the code under test). `make mutants` runs these against mutants of texify.py: a case
here exists because some changed line of it would otherwise print a wrong number.
"""

import pytest

from pipeline.texify import escape_text, format_number, round_half_up, untypesettable


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (128.0, "128"),
        (12288, r"\ensuremath{12{,}288}"),
        (0.031234, "0.0312"),
        (1.234e-13, r"\ensuremath{1.23\times 10^{-13}}"),
        (-0.5, r"\ensuremath{-0.5}"),
        (2 / 3, "0.667"),
        (-1e-20 * 0, "0"),
        (162 / 8, "20.3"),  # a reader rounds a 5 up; Python's %g prints 20.2
        (-20.25, r"\ensuremath{-20.3}"),  # and away from zero
        (0.1235, "0.124"),  # 0.1235 is 0.12349999... in binary: the written digits count
        (26.66, "26.7"),
        (124.45, "124"),
        (9.995, "10"),
        (99950.5, r"\ensuremath{1\times 10^{5}}"),
        (1234567.0, r"\ensuremath{1.23\times 10^{6}}"),
        (2.5e-7, r"\ensuremath{2.5\times 10^{-7}}"),
    ],
)
def test_numbers_have_three_significant_digits(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.92, "0.920"),
        (0.0434, "0.0434"),
        (2.0e-5, r"\ensuremath{2.00\times 10^{-5}}"),
        (7.0, "7"),
        (12.5, "12.5"),
    ],
)
def test_table_columns_can_keep_trailing_zeros(value: float, expected: str) -> None:
    assert format_number(value, trailing_zeros=True) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.005, "1.01"),  # 1.00499999... in binary; Python's %g prints 1
        (2.675, "2.68"),
        (12.35, "12.4"),
        (-12.35, r"\ensuremath{-12.4}"),
        (0.125, "0.125"),  # exactly three digits: nothing to round
        (1.5, "1.5"),
        (2.5, "2.5"),
    ],
)
def test_halves_round_away_from_zero(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (2.5, 1, "3"),
        (-2.5, 1, r"\ensuremath{-3}"),
        (0.25, 1, "0.3"),
        (0.35, 1, "0.4"),
        (3.7, 1, "4"),
        (0.05, 1, "0.05"),
        (0.125, 2, "0.13"),
        (20.25, 2, "20"),
        (1234.5, 2, r"\ensuremath{1.2\times 10^{3}}"),
        (20.25, 4, "20.25"),
        (1.23456, 5, "1.2346"),
    ],
)
def test_other_numbers_of_digits(value: float, digits: int, expected: str) -> None:
    assert format_number(value, digits) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.14159, "3.14"),
        (-3.14159, r"\ensuremath{-3.14}"),
        (1.5e10, r"\ensuremath{1.5\times 10^{10}}"),
        (123456.7, r"\ensuremath{1.23\times 10^{5}}"),
        (999.5, r"\ensuremath{1\times 10^{3}}"),  # rounds up to 1000, written as %g writes it
        (-1.234e-13, r"\ensuremath{-1.23\times 10^{-13}}"),
    ],
)
def test_values_that_are_not_whole_numbers(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1000, r"\ensuremath{1{,}000}"),
        (-1234, r"\ensuremath{-1{,}234}"),
        (1234567, r"\ensuremath{1{,}234{,}567}"),  # an int prints in full, however large
        (999999.0, r"\ensuremath{999{,}999}"),  # a whole float below a million too
        (1e6, r"\ensuremath{1\times 10^{6}}"),  # from a million on, with its power of ten
        (-1e6, r"\ensuremath{-1\times 10^{6}}"),
        (100000.0, r"\ensuremath{100{,}000}"),
        (999, "999"),
        (-7, r"\ensuremath{-7}"),
        (0, "0"),
    ],
)
def test_whole_numbers_print_in_full_with_grouped_thousands(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e-5, r"\ensuremath{1\times 10^{-5}}"),
        (1e-4, "0.0001"),  # %g writes a power of ten below 10^-4 only
        (1e-3, "0.001"),
        (1e7, r"\ensuremath{1\times 10^{7}}"),
    ],
)
def test_powers_of_ten(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (1.5, 3, "1.50"),
        (0.1, 3, "0.100"),
        (9.995, 3, "10.0"),
        (-0.5, 3, r"\ensuremath{-0.500}"),
        (99950.5, 3, r"\ensuremath{1.00\times 10^{5}}"),
        (1e-7, 3, r"\ensuremath{1.00\times 10^{-7}}"),
        (2.5e-5, 1, r"\ensuremath{3\times 10^{-5}}"),  # %#.1g writes 3.e-05: no lone point
        (3.7, 1, "4"),  # %#.1g writes 4.
        (0.25, 1, "0.3"),
    ],
)
def test_trailing_zeros_never_leave_a_lone_decimal_point(value: float, digits: int, expected: str) -> None:
    assert format_number(value, digits, trailing_zeros=True) == expected


def test_numpy_numbers_print_like_python_ones() -> None:
    import numpy as np

    assert format_number(np.float64(20.25)) == "20.3"
    assert format_number(np.int64(-12288)) == r"\ensuremath{-12{,}288}"
    assert format_number(np.float32(0.1)) == "0.1"  # 0.10000000149 as a double


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("words", "a number is needed here, got str 'words'"),
        (True, "a number is needed here, got bool True"),
        (None, "a number is needed here, got NoneType None"),
    ],
)
def test_only_numbers_are_formatted(value: object, message: str) -> None:
    with pytest.raises(TypeError) as raised:
        format_number(value)  # type: ignore[arg-type]
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "cannot format the non-finite number nan"),
        (float("-inf"), "cannot format the non-finite number -inf"),
    ],
)
def test_non_finite_numbers_are_errors(value: float, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        format_number(value)
    assert str(raised.value) == message


def test_a_number_needs_one_significant_digit() -> None:
    """Rounded to no digit at all, -0.3 would print as -0."""
    with pytest.raises(ValueError) as raised:
        format_number(-0.3, 0)
    assert str(raised.value) == "a number needs at least one significant digit, not 0"


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (20.25, 3, 20.3),
        (-20.25, 3, -20.3),
        (1234.5, 2, 1200.0),
        (0.000123456, 2, 0.00012),
        (0.5, 1, 0.5),
        (0.0, 3, 0.0),
    ],
)
def test_round_half_up(value: float, digits: int, expected: float) -> None:
    assert round_half_up(value, digits) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        (
            "Jürgen Groß & Ana_María {O'Neil} 100%",
            r"Jürgen Groß \& Ana\_María \{O\textquotesingle{}Neil\} 100\%",
        ),
        ("$x^2~\\ #1", r"\$x\^{}2\textasciitilde{}\textbackslash{} \#1"),
        ("a--b", "a{-{}}{-{}}b"),  # no en dash
        ("<<a>>", r"\textless{}\textless{}a\textgreater{}\textgreater{}"),  # no guillemets
        ("!`?`", r"!{}\textasciigrave{}?{}\textasciigrave{}"),  # no ¡ or ¿
        ('"q"', r"\textquotedbl{}q\textquotedbl{}"),
        ("Søren Kierkegaard-Þór ½ × ÷", "Søren Kierkegaard{-{}}Þór ½ × ÷"),
    ],
)
def test_text_is_escaped_to_print_exactly_as_written(text: str, expected: str) -> None:
    assert escape_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ada Lovelace, Søren ½ ÿ", []),  # Latin-1 is typeset as it is
        ("α ≤ β → ℝ", []),  # each has a command in UNICODE_COMMANDS
        ("王 ⊗ α 王", ["⊗", "王"]),  # each once, in code point order
        ("Ā", ["Ā"]),  # U+0100, the first beyond Latin-1
    ],
)
def test_untypesettable_names_what_has_no_glyph(text: str, expected: list[str]) -> None:
    assert untypesettable(text) == expected
