"""Names in any script the title block's fonts have print exactly; others are errors.

A copy of the project is built with names in Vietnamese, Greek, Cyrillic and Latin
letters with accents of many languages, and the PDF is read back: its text (pdftotext)
and its metadata's author hold each name exactly as written (NFC), in embedded Type 1
fonts. A name with a character no font has, or too long for the title block, is an error
at its line of report.toml. pipeline/fonts.py decides what can be shown from the font
encodings' declarations; one test typesets all of them. The LaTeX a field becomes is
pinned by hand-written cases (escaping alone is pinned in test_texify.py).
"""

import re
import subprocess
import unicodedata
from pathlib import Path

import pytest
from conftest import pdf_to_text
from pypdf import PdfReader
from workspace import Workspace, checksum, copy_project, quickfix

from pipeline.config import ROOM
from pipeline.diagnostics import explain_missing_file
from pipeline.fonts import COMBINING_ACCENTS, declared, field_latex, ways_to_print
from pipeline.latex import PDFLATEX
from pipeline.render import layout_context, render, template_environment
from pipeline.texify import UNICODE_COMMANDS

HEAD = '[submission]\ncourse = "Generative Neural Networks"\nsheet = "Sheet"\ntutorial_group = "3"\n'
NAMES = [
    "Nguyễn Thị Minh Khai",  # Vietnamese (T5)
    "Άννα-Μαρία Παπαδοπούλου",  # Greek (LGR), a capital with its accent built by TeX
    "Олена Їжакевич-Щербакова",  # Ukrainian and Russian (T2A)
    "Ștefan Łukasz Dvořák Þórður Ķēniņš",  # Romanian, Polish, Czech, Icelandic, Latvian
    "Gülşen Erdős-İnce Lǚ Ọ̀ṣun",  # Turkish, Hungarian, Pinyin, Yoruba (a combining accent)
    "Ǆ" * ROOM["name"].letters,  # the widest letter, as many as the title block has room for
]


def toml_with(*names: str) -> str:
    return HEAD + "".join(f'\n[[members]]\nname = "{name}"\n' for name in names)


def line_of(config: str, name: str) -> int:
    return config.splitlines().index(f'name = "{name}"') + 1


@pytest.fixture(scope="module")
def many_scripts(tmp_path_factory: pytest.TempPathFactory, engine: Workspace) -> tuple[Workspace, str]:
    """A copy built with NAMES (the Vietnamese one typed decomposed, as some keyboards
    write it); with what the build said."""
    workspace = copy_project(tmp_path_factory.mktemp("names") / "project", engine.root)
    typed = [unicodedata.normalize("NFD", NAMES[0]), *NAMES[1:]]
    workspace.write("report.toml", toml_with(*typed))
    done = workspace.make()
    return workspace, done.stdout + done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_a_name_in_any_script_the_fonts_have_prints_exactly(
    many_scripts: tuple[Workspace, str], name: str
) -> None:
    workspace, _ = many_scripts
    assert name in pdf_to_text(workspace.pdf)
    assert name in PdfReader(workspace.pdf).metadata.author.split(", ")


def test_names_in_other_scripts_are_in_embedded_type_1_fonts_and_fit(
    many_scripts: tuple[Workspace, str],
) -> None:
    workspace, said = many_scripts

    def fonts_of(pdf: Path, *pages: str) -> list[str]:
        listed = subprocess.run(["pdffonts", *pages, str(pdf)], capture_output=True, text=True, check=True)
        return listed.stdout.splitlines()[2:]

    def name(font: str) -> str:
        return font.split()[0].split("+")[-1]

    figures = workspace.layout.figures.glob("*.pdf")
    in_figures = {name(font) for figure in figures for font in fonts_of(figure)}
    fonts = [font for font in fonts_of(workspace.pdf, "-l", "1") if name(font) not in in_figures]
    assert fonts
    for font in fonts:
        assert re.search(r" Type 1 .* yes +yes +yes ", font), font  # embedded, subset, with Unicode
    assert {"grmn1000", "SFRM1095"} <= {name(font) for font in fonts}
    assert "sticks out" not in said


@pytest.mark.parametrize(
    ("name", "character"),
    [
        ("王小明", "王 (U+738B CJK UNIFIED IDEOGRAPH-738B), 小 (U+5C0F CJK UNIFIED IDEOGRAPH-5C0F)"),
        ("Ada 😀 Lovelace", "😀 (U+1F600 GRINNING FACE)"),
    ],
)
def test_a_name_the_fonts_cannot_show_is_an_error_at_its_line(
    workspace: Workspace, name: str, character: str
) -> None:
    config = toml_with("Alan Turing", name)
    path, line, message = quickfix(failing(workspace, config))[0]
    assert (path, line) == ("report.toml", line_of(config, name))
    assert message.startswith(f"error: the PDF cannot show {character}")
    assert message.endswith(" in 'name'")


def test_a_name_too_long_for_the_title_block_is_an_error_at_its_line(workspace: Workspace) -> None:
    config = toml_with("A" * 5000, "Alan Turing")
    room = ROOM["name"].letters
    assert quickfix(failing(workspace, config))[0] == (
        "report.toml",
        line_of(config, "A" * 5000),
        f"error: 'name' is 5000 characters long; the title block has room for {room}",
    )


def failing(workspace: Workspace, config: str) -> str:
    """Build the copy with `config` as report.toml: it must fail, say why in one line per
    problem without a traceback, and keep the PDF; return what it said."""
    workspace.write("report.toml", config)
    before = checksum(workspace.pdf)
    done = workspace.make(check=False)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert checksum(workspace.pdf) == before
    return done.stderr


@pytest.mark.parametrize(
    ("text", "line_letters", "expected"),
    [
        # Latin-1 that fits its place: escaped text, nothing more
        (
            "Jürgen Groß & Ana_María {O'Neil} 100%",
            ROOM["name"].line,
            r"Jürgen Groß \& Ana\_María \{O\textquotesingle{}Neil\} 100\%",
        ),
        ("Søren Kierkegaard-Þór ½ × ÷", ROOM["name"].line, "Søren Kierkegaard{-{}}Þór ½ × ÷"),
        ("Ab c", 3, "Ab c"),  # each word fits: wraps only at the space
        # a word longer than a line: may break between any two letters, its text kept whole
        (
            "Ab-c",
            3,
            r"\titleword{Ab{-{}}c}"
            r"{\actualtext{00410062002D0063}{A\titlebreak b\titlebreak {-{}}\titlebreak c}}",
        ),
        # beyond Latin-1: each word in its script's encoding, with its UTF-16 text for copying
        (
            "Olena Щерба",
            ROOM["name"].line,
            r"Olena \actualtext{04290435044004310430}{{\fontencoding{T2A}\selectfont Щерба}}",
        ),
        (
            "Άννα",
            ROOM["name"].line,
            r"\actualtext{038603BD03BD03B1}{{\fontencoding{LGR}\selectfont Ά\textnu \textnu \textalpha }}",
        ),
    ],
)
def test_a_field_is_written_as_latex_that_prints_it(text: str, line_letters: int, expected: str) -> None:
    assert field_latex(text, line_letters) == expected


def test_a_missing_encoding_names_its_debian_package() -> None:
    said = explain_missing_file("Package fontenc Error: Encoding file `t5enc.def' not found.")
    assert "sudo apt-get install texlive-lang-other" in said


def test_every_character_a_name_may_hold_typesets(tmp_path: Path) -> None:
    """Every character the encodings declare, every letter Unicode composes of a letter
    and accents (up to U+1FFF), and every accent over a letter, in each encoding
    pipeline/fonts.py may set it in, typesets with the document's preamble without an
    error or a missing glyph: what fonts.py accepts, the PDF shows."""
    parts = {chr(code): unicodedata.decomposition(chr(code)) for code in range(0xC0, 0x2000)}
    composed = {char for char, of in parts.items() if of and not of.startswith("<")}
    declared_chars = {char for table in declared().values() for char in table}
    units = sorted(declared_chars | set(UNICODE_COMMANDS) | composed)
    units += [letter + mark for mark in COMBINING_ACCENTS for letter in ("a", "ọ", "ж")]
    tried = [(unit, encoding, latex) for unit in units for encoding, latex in ways_to_print(unit).items()]
    assert len(tried) > 1000
    (tmp_path / "preamble.tex").write_text(
        render(template_environment(), "preamble.tex", layout_context()), encoding="utf-8"
    )
    head = [r"\input{preamble}", r"\begin{document}", r"\tracinglostchars=3"]
    body = [rf"{{\fontencoding{{{encoding}}}\selectfont {latex}}}\par" for _, encoding, latex in tried]
    (tmp_path / "probe.tex").write_text("\n".join([*head, *body, r"\end{document}", ""]), encoding="utf-8")
    command = [arg for arg in PDFLATEX if arg != "-halt-on-error"]
    done = subprocess.run(
        [*command, "probe.tex"], cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    log = (tmp_path / "probe.log").read_text(encoding="utf-8", errors="replace")
    failed = [
        f"{tried[int(line) - len(head) - 1][:2]}: {message}"
        for line, message in re.findall(r"^\./probe\.tex:(\d+): (.*)$", log, re.MULTILINE)
    ]
    assert not failed, "\n".join(failed[:20])
    assert done.returncode == 0, log[-2000:]
