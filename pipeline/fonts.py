"""The title block's text in any script the document's fonts have: which characters the
PDF can show, and the LaTeX that prints a field of report.toml exactly as written.

The document is pdfLaTeX with Latin Modern, and a font encoding holds 256 glyphs, so the
preamble loads one encoding per script (ENCODINGS): T1 for Latin letters, T5 for
Vietnamese, T2A for Cyrillic (Computer Modern's, from CM-Super: Latin Modern has none)
and LGR for Greek (the CB fonts). A character can be shown when one of them declares it
in its UTF-8 mapping file, LaTeX's <enc>enc.dfu (`\\DeclareUnicodeCharacter{0416}{\\CYRZH}`),
or when Unicode decomposes it into such a letter and accents LaTeX has (ǚ is ü with a
caron); tests/test_names.py typesets all of them to show the fonts have them.

A word is set in the first encoding that has all its letters ("Nguyễn" in T5, "Жанна" in
T2A), else letter by letter. TeX builds some letters from a letter and an accent (Ș, Ā,
Greek capitals with a tonos, and combining accents Unicode has no letter for, as in
Yoruba ọ̀), and those read back from the PDF as two characters; so a word with anything
beyond Latin-1 carries its text as /ActualText, which pdftotext and a reader's copy take.
Text in ASCII and Latin-1 is escaped as it always was: the same PDF, and no file read.
"""

import functools
import re
import subprocess
import unicodedata
from pathlib import Path

from pipeline.texify import UNICODE_COMMANDS, escape_text

# Encoding -> its UTF-8 mapping files, in the order a word tries them. T1 is the text's
# own, which also has LaTeX's symbol encodings at hand (TS1, OT1, OMS).
ENCODINGS = {
    "T1": ("t1enc.dfu", "ts1enc.dfu", "ot1enc.dfu", "omsenc.dfu"),
    "T5": ("t5enc.dfu",),
    "T2A": ("t2aenc.dfu",),
    "LGR": ("lgrenc.dfu",),
}
# Declared for an encoding, but not printable in it: 8-bit Greek fonts have no glyphs for
# the Greek symbol variants (greek-fontenc stops with an error), and LGR none for these
# quotation marks (they print in T1).
NO_GLYPH = {"LGR": frozenset("ϐϑϕϖϰϱϴϵ‚‹›")}
# Combining accents left after NFC (no precomposed letter exists, as for Yoruba ọ̀) are
# LaTeX's accents over the letter. LGR's accent commands are Greek ones, and T5 has no
# ogonek, so a letter with one of these is set in T1 or T2A there.
COMBINING_ACCENTS = {
    "\u0300": r"\`",
    "\u0301": r"\'",
    "\u0302": r"\^",
    "\u0303": r"\~",
    "\u0304": r"\=",
    "\u0306": r"\u",
    "\u0307": r"\.",
    "\u0308": r"\"",
    "\u030a": r"\r",
    "\u030b": r"\H",
    "\u030c": r"\v",
    "\u0323": r"\d",
    "\u0327": r"\c",
    "\u0328": r"\k",
    "\u0331": r"\b",
}
NO_ACCENTS = {"LGR": frozenset(COMBINING_ACCENTS), "T5": frozenset("\u0328")}
# `\DeclareUnicodeCharacter{0386}{\ensuregreek{\acctonos\textAlpha}}`: the code, and the
# body (braces nested two deep).
DECLARATION = re.compile(
    r"^\\DeclareUnicodeCharacter\{([0-9A-Fa-f]+)\}\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}", re.MULTILINE
)
SPACES = re.compile(r"([ \t\r\n]+)")  # between words: where a field may wrap
BREAK = r"\titlebreak "  # the preamble's break between two letters of a long word


def fontenc_option() -> str:
    """The preamble's \\usepackage[...]{fontenc} option: the last one, T1, is the default."""
    return ",".join(reversed(ENCODINGS))


def letters(text: str) -> list[str]:
    """`text` cut into characters, each with the combining accents that follow it: a
    letter and its accents print as one, and count as one."""
    units: list[str] = []
    for char in text:
        if units and unicodedata.combining(char):
            units[-1] += char
        else:
            units.append(char)
    return units


def describe(char: str) -> str:
    """`王 (U+738B CJK UNIFIED IDEOGRAPH-738B)`: the character (if it shows on its own),
    its code point and its Unicode name."""
    named = f"U+{ord(char):04X} {unicodedata.name(char, '(unnamed)')}"
    visible = unicodedata.category(char)[0] not in "CMZ"  # not a control, mark or space
    return f"{char} ({named})" if visible else named


def unshowable(text: str) -> list[str]:
    """The characters of `text` the PDF cannot show, each once, in order."""
    bad: list[str] = []
    for unit in letters(text):
        if SPACES.fullmatch(unit) or _latin1_letter(unit) or ways_to_print(unit):
            continue
        base, marks = unit[0], unit[1:]
        if not ways_to_print(base):
            bad.append(base)
        else:  # an accent TeX has no command for
            bad += [mark for mark in marks if not ways_to_print(base + mark)]
    return list(dict.fromkeys(bad))


def field_latex(text: str, line_letters: int) -> str:
    """LaTeX that prints `text` (showable, see `unshowable`) exactly, in a place whose line
    holds `line_letters` of the widest letters: it wraps at its spaces, and a word longer
    than a line may also break between two letters."""
    words = [word for word in SPACES.split(text) if word]
    if _latin1(text) and all(len(word) <= line_letters for word in words):
        return escape_text(text)
    return "".join(" " if word.isspace() else _word(word, line_letters) for word in words)


def ways_to_print(unit: str) -> dict[str, str]:
    """Encoding -> LaTeX that prints `unit` (a character and its combining accents) in
    it, in the order of ENCODINGS; empty if the PDF cannot show it."""
    char, marks = unit[0], unit[1:]
    if unicodedata.category(char) == "Cc" or unicodedata.combining(char):
        return {}
    if _neutral(char):
        ways = {"T1": escape_text(char)}
    elif char.isascii():  # LGR has Greek letters where ASCII has Latin ones
        ways = {encoding: char for encoding in ENCODINGS if encoding != "LGR"}
    else:
        ways = {
            # The preamble maps a few characters to math (α is \alpha in the prose, from
            # UNICODE_COMMANDS); where an encoding has a glyph for one, its text command.
            encoding: found[char] if char in UNICODE_COMMANDS else escape_text(char)
            for encoding, found in declared().items()
            if char in found and char not in NO_GLYPH.get(encoding, ())
        }
        if not ways and char in UNICODE_COMMANDS:
            ways = {"T1": char}  # math, as in the prose
        if not ways and (parts := unicodedata.decomposition(char)) and not parts.startswith("<"):
            # No encoding declares it (ǚ, ṛ): its letter and accents, as Unicode decomposes it.
            return ways_to_print("".join(chr(int(code, 16)) for code in parts.split()) + marks)
    for mark in reversed(marks):
        ways = {
            encoding: f"{COMBINING_ACCENTS[mark]}{{{latex}}}"
            for encoding, latex in ways.items()
            if mark in COMBINING_ACCENTS and mark not in NO_ACCENTS.get(encoding, ())
        }
    return ways


def _latin1(text: str) -> bool:
    return all(ord(char) <= 0xFF for char in text)


def _latin1_letter(unit: str) -> bool:
    """A Latin-1 character other than a control character: T1 shows it, as it always has."""
    return len(unit) == 1 and ord(unit) <= 0xFF and unicodedata.category(unit) != "Cc"


def _neutral(unit: str) -> bool:
    """ASCII punctuation and TeX's specials: escaped, and always set in T1."""
    return unit.isascii() and not unit.isalnum()


def _word(word: str, line_letters: int) -> str:
    """LaTeX for one word: its letters in their encodings, with its text as /ActualText
    if anything in it is beyond Latin-1. A word longer than `line_letters` may not fit a
    line: the preamble's \\titleword then sets it with a break allowed between any two
    letters (and its text as /ActualText, since it may be cut in two)."""
    units = letters(word)
    ways = [ways_to_print(unit) for unit in units]
    spelled = [way for unit, way in zip(units, ways, strict=True) if not _neutral(unit)]
    whole = next((encoding for encoding in ENCODINGS if all(encoding in way for way in spelled)), None)
    runs: list[tuple[str, list[str]]] = []
    for way in ways:
        encoding = whole if whole in way else next(iter(way))
        if not runs or runs[-1][0] != encoding:
            runs.append((encoding, []))
        runs[-1][1].append(way[encoding])
    plain = "".join(_in_encoding(encoding, pieces, "") for encoding, pieces in runs)
    if not _latin1(word):
        plain = _actual_text(word, plain)
    if len(units) <= line_letters:
        return plain
    breakable = BREAK.join(_in_encoding(encoding, pieces, BREAK) for encoding, pieces in runs)
    return rf"\titleword{{{plain}}}{{{_actual_text(word, breakable)}}}"


def _actual_text(text: str, latex: str) -> str:
    return rf"\actualtext{{{text.encode('utf-16-be').hex().upper()}}}{{{latex}}}"


def _in_encoding(encoding: str, pieces: list[str], joint: str) -> str:
    """The pieces set in `encoding`; a piece ending in a command name (\\textalpha) is
    ended by a space, which TeX drops."""
    latex = joint.join(piece + " " if re.search(r"\\[A-Za-z]+$", piece) else piece for piece in pieces)
    return latex if encoding == "T1" else rf"{{\fontencoding{{{encoding}}}\selectfont {latex}}}"


@functools.cache
def declared() -> dict[str, dict[str, str]]:
    """Encoding -> character -> the LaTeX its UTF-8 mapping files declare for it (the
    files are found where TeX finds them; read once, only for text beyond Latin-1)."""
    names = [name for files in ENCODINGS.values() for name in files]
    found = subprocess.run(["kpsewhich", *names], capture_output=True, text=True, check=False).stdout
    paths = {Path(line).name: Path(line) for line in found.splitlines() if line}
    tables: dict[str, dict[str, str]] = {}
    for encoding, files in ENCODINGS.items():
        tables[encoding] = {}
        for name in (name for name in files if name in paths):
            text = paths[name].read_text(encoding="utf-8", errors="replace")
            for code, body in DECLARATION.findall(text):
                tables[encoding].setdefault(chr(int(code, 16)), body.strip())
    return tables
