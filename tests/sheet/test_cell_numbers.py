"""The appendix's cell numbers, read from the real PDF: a cell keeps its number in its
notebook, so the numbers a section shows skip wherever a cell is not labelled. Every skip
must be explained on the page: a text cell reads as prose (the appendix says once that text
cells count), and a cell left out is one the notebook's opening says it leaves out. An
opening that says cells are left out where none is would be wrong too."""

import json
import re

import pytest

from pipeline.paths import PROJECT

# What the appendix says once, and what a notebook's opening says when it leaves cells out.
TEXT_CELLS_COUNT = "text cells count too: they read as prose, without a label"
LEFT_OUT = "left out here, so the cell numbers skip them"
# A run of plain words, which the PDF shows as written (no math, code or markup in it).
PLAIN_WORDS = re.compile(r"[A-Za-z][a-z]*(?:[ ,;:]+[A-Za-z][a-z]*){3,}")


def sections(pdf_text: str) -> dict[str, tuple[str, str]]:
    """Each notebook's appendix section: its letter (A, B, ... in order) and text, by
    notebook name (`ex1`)."""
    found = list(re.finditer(r"Code and output: figures_src/(ex\d+)\.py", pdf_text))
    ends = [match.start() for match in found[1:]] + [len(pdf_text)]
    return {
        match.group(1): (chr(ord("A") + index), pdf_text[match.end() : end])
        for index, (match, end) in enumerate(zip(found, ends, strict=True))
    }


def prose_is_shown(cell: dict, text: str) -> bool:
    """Whether a markdown cell's prose is in the section: its first run of plain words."""
    prose = re.sub(r"\$[^$]*\$|`[^`]*`|[#*_\n]", "|", cell["body"])  # math, code, markup: not plain
    words = PLAIN_WORDS.search(prose)
    assert words, f"cell {cell['number']}: no plain words to find"
    return re.sub(r"\s+", " ", words.group(0)) in text


@pytest.fixture(scope="module")
def appendix(pdf_text: str) -> dict[str, tuple[str, str]]:
    found = sections(pdf_text)
    assert found, "no appendix section"
    return found


def left_out(notebook: str, letter: str, text: str) -> list[dict]:
    """The cells of the notebook the section neither labels nor shows as prose; checks on the
    way that every cell it labels is one of the notebook's."""
    cells = json.loads(PROJECT.results_of(notebook).read_text(encoding="utf-8"))["cells"]
    labelled = {int(number) for number in re.findall(rf"\bCell {letter}\.(\d+)\b", text)}
    code = {cell["number"] for cell in cells if cell["kind"] == "code"}
    assert labelled <= code, f"{notebook}: labels {sorted(labelled - code)} are no code cell's"
    return [
        cell
        for cell in cells
        if cell["number"] not in labelled and not (cell["kind"] == "markdown" and prose_is_shown(cell, text))
    ]


def test_the_appendix_says_text_cells_count(appendix: dict[str, tuple[str, str]], pdf_text: str) -> None:
    """Text cells read as prose between the numbered cells, so the numbers skip them."""
    assert pdf_text.count(TEXT_CELLS_COUNT) == 1


def test_every_cell_left_out_is_one_the_opening_says(appendix: dict[str, tuple[str, str]]) -> None:
    """The opening names what it leaves out: the cells that only check the results, and the
    cells of any task it names (3(a)'s schematic code). Where nothing is left out, the
    sentence is not there."""
    for notebook, (letter, text) in appendix.items():
        missing = left_out(notebook, letter, text)
        sentence = next((s for s in re.split(r"(?<=\.) ", text) if LEFT_OUT in s), "")
        assert bool(missing) == bool(sentence), (
            f"{notebook}: cells {[cell['number'] for cell in missing]} left out, sentence {sentence!r}"
        )
        for cell in missing:
            said = cell["title"].startswith("Check") or any(task in sentence for task in cell["tasks"])
            # A text cell left out introduces the cells after it, which are left out too.
            said = said or (
                cell["kind"] == "markdown" and cell["number"] + 1 in {c["number"] for c in missing}
            )
            assert said, f"{notebook}: cell {cell['number']} ({cell['title']!r}) is left out unsaid"
