"""pipeline/config.py on its own, in-process: report.toml as a user writes it (a real
file in a temporary project), what the title block gets from it, and each mistake as an
error at its line with the words the README promises. The module reads the project's
report.toml (`PROJECT.config`); each test points it at its own temporary project.
"""

import unicodedata
from pathlib import Path

import pytest

from pipeline import config
from pipeline.config import ROOM, Lines, Member, Room, Settings, Submission, load_settings, load_submission
from pipeline.errors import BuildError
from pipeline.paths import Layout

HEAD = '[submission]\ncourse = "Generative Neural Networks"\nsheet = "Sheet 1"\ntutorial_group = "3"\n'
PAIR = (
    '\n[[members]]\nname = "Ada Lovelace"\nmatriculation = "4711001"\n\n[[members]]\nname = "Alan Turing"\n'
)
MISSPELT_NAME = ["did you mean 'name'?", "[[members]] can hold: name, matriculation"]
NO_MEMBERS = ["add one [[members]] table with a name per member"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder whose report.toml the config module reads."""
    monkeypatch.setattr(config, "PROJECT", Layout(tmp_path))
    return tmp_path


def write(project: Path, text: str) -> None:
    (project / "report.toml").write_text(text, encoding="utf-8")


def error_of(project: Path, text: str, load: object = load_submission) -> tuple[str, int | None, list[str]]:
    """The error report.toml with `text` makes: its message, line and details."""
    write(project, text)
    with pytest.raises(BuildError) as raised:
        load()  # type: ignore[operator]
    assert raised.value.path == project / "report.toml"
    return raised.value.message, raised.value.line, raised.value.details


def test_the_details_of_a_pair(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, HEAD + PAIR)
    assert load_submission() == Submission(
        course="Generative Neural Networks",
        sheet="Sheet 1",
        tutorial_group="3",
        members=(Member("Ada Lovelace", "4711001"), Member("Alan Turing", "")),
    )
    assert capsys.readouterr().err == ""


def test_values_are_trimmed_composed_and_numbers_read_as_text(project: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị")
    write(
        project,
        '[submission]\ncourse = " C "\nsheet = "S"\ntutorial_group = 3\n'
        f'[[members]]\nname = "  {decomposed} "\nmatriculation = 4711001\n'
        '[[members]]\nname = "Alan"\nmatriculation = " "\n',
    )
    submission = load_submission()
    assert (submission.course, submission.tutorial_group) == ("C", "3")
    assert submission.members == (Member("Nguyễn Thị", "4711001"), Member("Alan", ""))
    assert submission.members[0].name == "Nguy\u1ec5n Th\u1ecb"  # one code point for each letter


def test_a_group_that_is_not_a_pair_is_a_warning(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, HEAD + '\n[[members]]\nname = "Ada Lovelace"\n')
    assert load_submission().members == (Member("Ada Lovelace", ""),)
    assert capsys.readouterr().err == (
        f"{project}/report.toml:6: warning: 1 member(s) listed; the sheet asks for groups of two\n"
    )


def test_the_title_block_gets_latex_that_prints_each_field_exactly(project: Path) -> None:
    write(
        project,
        '[submission]\ncourse = "Nets & Co"\nsheet = "Sheet_1"\ntutorial_group = "3%"\n'
        '[[members]]\nname = "Ada {L}"\nmatriculation = "#1"\n[[members]]\nname = "Alan Turing"\n',
    )
    assert load_submission().as_latex() == {
        "course": r"Nets \& Co",
        "sheet": r"Sheet\_1",
        "tutorial_group": r"3\%",
        "members": [
            {"name": r"Ada \{L\}", "matriculation": r"\#1"},
            {"name": "Alan Turing", "matriculation": ""},
        ],
        "metadata": {"title": r"Sheet\_1", "author": r"Ada \{L\}, Alan Turing", "subject": r"Nets \& Co"},
    }


def test_a_word_longer_than_its_place_may_break_between_letters(project: Path) -> None:
    write(project, HEAD + '[[members]]\nname = "Ada"\nmatriculation = "12345678"\n[[members]]\nname = "B"\n')
    # the matriculation number's place holds 7 of the widest letters a line
    assert load_submission().as_latex()["members"][0]["matriculation"] == (
        r"\titleword{12345678}{\actualtext{00310032003300340035003600370038}"
        r"{1\titlebreak 2\titlebreak 3\titlebreak 4\titlebreak 5\titlebreak 6\titlebreak 7\titlebreak 8}}"
    )


def test_the_room_of_each_place() -> None:
    assert Room(5).lines == 4
    assert Room(5, 2).letters == 10
    assert {key: room.letters for key, room in ROOM.items()} == {
        "sheet": 60,
        "course": 104,
        "tutorial_group": 92,
        "name": 76,
        "matriculation": 28,
    }


def test_settings_default_when_report_toml_is_silent(project: Path) -> None:
    write(project, HEAD + PAIR)
    assert load_settings() == Settings(cell_timeout_minutes=10.0, appendix_show="cited")


def test_settings_as_written(project: Path) -> None:
    write(project, HEAD + PAIR + '[build]\ncell_timeout_minutes = 2\n[appendix]\nshow = "all"\n')
    settings = load_settings()
    assert settings == Settings(cell_timeout_minutes=2.0, appendix_show="all")
    assert isinstance(settings.cell_timeout_minutes, float)
    write(project, HEAD + PAIR + "[build]\ncell_timeout_minutes = 0.5\n")
    assert load_settings().cell_timeout_minutes == 0.5


@pytest.mark.parametrize(
    ("value", "shown"),
    [("0", "0"), ("-1", "-1"), ("true", "True"), ('"5"', "'5'"), ("nan", "nan")],
)
def test_a_timeout_must_be_minutes_above_zero(project: Path, value: str, shown: str) -> None:
    assert error_of(project, HEAD + PAIR + f"[build]\ncell_timeout_minutes = {value}\n", load_settings) == (
        f"'cell_timeout_minutes' must be a number of minutes above 0, got {shown}",
        13,
        [],
    )


def test_the_appendix_shows_cited_or_all(project: Path) -> None:
    assert error_of(project, HEAD + PAIR + '[appendix]\n\nshow = "some"\n', load_settings) == (
        "'show' must be one of 'cited', 'all', got 'some'",
        14,
        ["'cited': the cells the answers cite with \\coderef; 'all': every cell of every notebook"],
    )


def test_a_missing_report_toml(project: Path) -> None:
    with pytest.raises(BuildError) as raised:
        load_submission()
    assert (raised.value.message, raised.value.line, raised.value.details) == (
        "file not found",
        None,
        ["copy the example from the README and fill in your names"],
    )


def test_toml_syntax_errors_are_at_their_line(project: Path) -> None:
    assert error_of(project, '[submission]\ncourse = "x\n') == (
        "TOML syntax error: Illegal character '\\n'",
        2,
        [],
    )
    # tomllib names no line for a file that ends too early; its own words say where
    assert error_of(project, "[submission]\ncourse = ") == (
        "TOML syntax error: Invalid value (at end of document)",
        None,
        [],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEAD + '\n[submision]\ncourse = "x"\n' + PAIR,
            (
                "unknown table 'submision'",
                6,
                ["did you mean 'submission'?", "report.toml can hold: submission, members, build, appendix"],
            ),
        ),
        (
            HEAD + 'colour = "blue"\n' + PAIR,
            (
                "unknown key 'colour' in [submission]",
                5,
                ["did you mean 'course'?", "[submission] can hold: course, sheet, tutorial_group"],
            ),
        ),
        (
            HEAD + PAIR + 'nmae = "x"\n',
            ("unknown key 'nmae' in [[members]]", 12, MISSPELT_NAME),
        ),
        (
            'title = "x"\n' + HEAD + PAIR,
            ("unknown table 'title'", 1, ["", "report.toml can hold: submission, members, build, appendix"]),
        ),
        (
            'members = "Ada"\n' + HEAD,
            ("'members' must be a table [members]", 1, []),
        ),
        (
            '\nmembers = [{name = "Ada"}, "Alan"]\n' + HEAD,
            ("'members' must be a table [members]", 2, []),
        ),
        (
            HEAD + '[[members]]\nname = "Ada"\n[[members]]\nname = "Alan"\nnmae = "x"\n',
            ("unknown key 'nmae' in [[members]]", 9, MISSPELT_NAME),
        ),
    ],
)
def test_unknown_tables_and_keys_are_errors_at_their_line(
    project: Path, text: str, expected: tuple[str, int, list[str]]
) -> None:
    assert error_of(project, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PAIR, ("the table [submission] is missing", 1, ["it holds course, sheet, tutorial_group"])),
        (HEAD, ("no [[members]] listed", 1, NO_MEMBERS)),
        ("members = []\n" + HEAD, ("no [[members]] listed", 1, NO_MEMBERS)),
        (HEAD.replace('"3"', '" "'), ("'tutorial_group' is missing or empty", 4, [])),
        (HEAD.replace('sheet = "Sheet 1"\n', "") + PAIR, ("'sheet' is missing or empty", 1, [])),
        (HEAD + '[[members]]\nname = ""\n' + PAIR, ("'name' is missing or empty", 6, [])),
        (HEAD + "[[members]]\nmatriculation = 1\n" + PAIR, ("'name' is missing or empty", 5, [])),
        (HEAD + "[[members]]\nname = 3.5\n" + PAIR, ("'name' must be text, got float 3.5", 6, [])),
        (HEAD + "[[members]]\nname = true\n" + PAIR, ("'name' must be text, got bool True", 6, [])),
        (HEAD.replace('"3"', "[3]") + PAIR, ("'tutorial_group' must be text, got list [3]", 4, [])),
        (PAIR + "matriculation = 3.5\n" + HEAD, ("'matriculation' must be text, got float 3.5", 8, [])),
    ],
)
def test_missing_empty_and_mistyped_values_are_errors_at_their_line(
    project: Path, text: str, expected: tuple[str, int, list[str]]
) -> None:
    assert error_of(project, text) == expected


def test_a_field_longer_than_its_place_is_an_error(project: Path) -> None:
    fits = "Ǆ" * 76  # the widest letter, as many as four lines of a name hold
    write(project, HEAD + f'[[members]]\nname = "{fits}"\n' + PAIR)
    assert load_submission().members[0].name == fits
    assert error_of(project, HEAD + f'[[members]]\nname = "{fits}A"\n' + PAIR) == (
        "'name' is 77 characters long; the title block has room for 76",
        6,
        ["4 lines of 19 of the widest letters where it is printed; shorten it"],
    )
    accents = "Ọ̀" * 76  # a letter and its accents take the room of one letter
    write(project, HEAD + f'[[members]]\nname = "{accents}"\n' + PAIR)
    assert load_submission().members[0].name == unicodedata.normalize("NFC", accents)


def test_a_character_the_pdf_cannot_show_is_an_error(project: Path) -> None:
    assert error_of(project, HEAD.replace('"3"', '"王"') + PAIR) == (
        "the PDF cannot show 王 (U+738B CJK UNIFIED IDEOGRAPH-738B) in 'tutorial_group'",
        4,
        [
            "the title block's fonts have Latin letters with any accents, Greek and Cyrillic:"
            " write the tutorial group in one of these scripts (transliterated, say)"
        ],
    )
    message, _, _ = error_of(project, HEAD + '[[members]]\nname = "王小明 😀 ✓"\n' + PAIR)
    assert message == (
        "the PDF cannot show 王 (U+738B CJK UNIFIED IDEOGRAPH-738B), 小 (U+5C0F CJK UNIFIED IDEOGRAPH-5C0F),"
        " 明 (U+660E CJK UNIFIED IDEOGRAPH-660E) and 2 more in 'name'"
    )
    message, _, _ = error_of(project, HEAD + '[[members]]\nname = "王小明 ✓"\n' + PAIR)
    assert message.endswith("明 (U+660E CJK UNIFIED IDEOGRAPH-660E) and 1 more in 'name'")
    message, _, _ = error_of(project, HEAD + '[[members]]\nname = "王小明"\n' + PAIR)
    assert message.endswith("明 (U+660E CJK UNIFIED IDEOGRAPH-660E) in 'name'")


def test_dotted_keys_and_inline_tables_are_found_at_their_line(project: Path) -> None:
    text = (
        'submission.course = "C"\n'
        'submission.sheet = "S"\n'
        'submission.tutorial_group = "3"\n'
        'members = [{name = "Ada # not a comment", matriculation = "1"},\n'
        '  {name = "Alan {Turing} = x", nmae = "x"}]\n'
    )
    assert error_of(project, text) == (
        "unknown key 'nmae' in [[members]]",
        5,
        ["did you mean 'name'?", "[[members]] can hold: name, matriculation"],
    )
    dotted = 'submission.sheet = "S"\nsubmission.course = ""\nsubmission.tutorial_group = "3"\n' + PAIR
    assert error_of(project, dotted) == ("'course' is missing or empty", 2, [])
    assert error_of(project, 'submission = {course = "C", sheet = "", tutorial_group = "3"}\n' + PAIR) == (
        "'sheet' is missing or empty",
        1,
        [],
    )


def test_lines_finds_each_table_and_key() -> None:
    lines = Lines(
        "# a comment = not a key\n"  # 1
        "[submission]\n"  # 2
        "course = 'Nets [1] = {x}'  # course = y\n"  # 3
        "\n"  # 4
        "[[ members ]]\n"  # 5
        'name = "Ada"\n'  # 6
        "[[members]]\n"  # 7
        'name = "Alan"\n'  # 8
        "[build]\n"  # 9
        "# cell_timeout_minutes = 30 gives slow cells more time\n"  # 10
        "cell_timeout_minutes = 3\n"  # 11
        "[appendix]\n"  # 12
        "x = [1, {y = 2}]\n"  # 13
        'show = "all"\n'  # 14
    )
    assert lines.of("submission") == 2
    assert lines.of("submission", 1, "course") == 3
    assert lines.of("submission", 1, "sheet") == 2  # not written: the table's header
    assert lines.of("members") == 5
    assert lines.of("members", 1, "name") == 6
    assert lines.of("members", 2) == 7
    assert lines.of("members", 2, "name") == 8
    assert lines.of("members", 3, "name") is None
    assert lines.of("build", 1, "cell_timeout_minutes") == 11  # not the comment above it
    assert lines.of("appendix") == 12
    assert lines.of("appendix", 1, "x") == 13
    assert lines.of("appendix", 1, "show") == 14
    assert lines.of("course") is None
    assert lines.of("a") is None  # "# a comment = not a key"


def test_lines_of_keys_before_any_table() -> None:
    lines = Lines(
        'appendix.show = "all"\n'  # 1
        "build = {cell_timeout_minutes = 3}\n"  # 2
        "members = [\n"  # 3
        "  {name = 'a'},\n"  # 4
        "  {name = 'b', matriculation = '2'}]\n"  # 5
        "top = 1\n"  # 6
        "appendix.other = 2\n"  # 7
        "submission = {\n"  # 8
    )
    assert lines.of("appendix") == 1
    assert lines.of("appendix", 1, "show") == 1
    assert lines.of("build") == 2
    assert lines.of("build", 1, "cell_timeout_minutes") == 2
    assert lines.of("members") == 3
    assert lines.of("members", 1, "name") == 4
    assert lines.of("members", 2, "name") == 5
    assert lines.of("members", 2, "matriculation") == 5
    assert lines.keys[("", 0, "top")] == 6
    assert lines.of("top") == 6
    assert lines.of("appendix", 1, "other") == 7
    assert lines.of("submission") == 8
