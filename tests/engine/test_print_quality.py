"""The PDF as a tutor reads it: vector fonts, figures at text size, navigation, clean
typesetting. Each test reads back the real PDF of the engine's own sheet, its figures or
its LaTeX log."""

import json
import math
import re
import string
import subprocess
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PageObject, PdfReader
from workspace import Workspace

from pipeline.page import CM_PER_INCH, TEXT_WIDTH_CM

TEXT_WIDTH_PT = TEXT_WIDTH_CM / CM_PER_INCH * 72
TASK_LABELS = ["1(a)", "1(b)", "1(c)", "2(a)", "2(b)", "2(c)"]  # the fixture's tasks


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def built_pdf(engine: Workspace) -> Path:
    return engine.pdf


@pytest.fixture(scope="module")
def build(engine: Workspace) -> Path:
    """The rendered LaTeX, its .aux and its log."""
    return engine.layout.build


def figure_files(engine: Workspace) -> list[Path]:
    figures = sorted(engine.layout.figures.glob("*.pdf"))
    assert figures, "the fixture saves no figure"
    return figures


def test_only_vector_fonts_in_the_document_and_every_figure(engine: Workspace, built_pdf: Path) -> None:
    for pdf in [built_pdf, *figure_files(engine)]:
        fonts = run("pdffonts", str(pdf)).splitlines()[2:]
        assert fonts or pdf != built_pdf
        assert not [f for f in fonts if "Type 3" in f], f"{pdf.name} embeds bitmap fonts"
        assert all(" yes " in f for f in fonts), f"{pdf.name} has a font that is not embedded"


def test_figures_are_drawn_at_most_text_width_and_included_at_scale_one(engine: Workspace) -> None:
    for figure in figure_files(engine):
        width = float(re.search(r"Page size:\s+([\d.]+) x", run("pdfinfo", str(figure))).group(1))
        assert width <= TEXT_WIDTH_PT + 1, f"{figure.name} is {width:.0f} pt wide"
    for template in engine.layout.templates_dir.glob("*.tex"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\\includegraphics\[[^\]]*(width|scale|height)", text), template.name
        assert not re.search(r"\\begin\{(figure|table)\}", text), (
            f"{template.name}: floats drift from their task"
        )


# Figures of the fixture drawn without any text (each must say why); every other figure
# must have text to measure, or a figure whose text was lost would pass unmeasured.
TEXT_FREE_FIGURES: dict[str, str] = {}
SMALLEST_TEXT_PT = 7.0  # below this, print is hard to read
BODY_TEXT_PT = (8.0, 10.0)  # the size of most of a figure's text: the document's footnotes to body


def printed_text_sizes(figure: Path) -> Counter[float]:
    """How many characters a figure prints at each font size (in pt, to 0.1 pt): the
    figure is included at scale one (test above), so its own sizes are the printed ones.
    No text may lie outside the page: hidden there (a page number of the figure's own
    page, say), it still turns up in the document's copied or searched text."""
    sizes: Counter[float] = Counter()
    for page in PdfReader(figure).pages:
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        for size, x, y, characters in text_runs(page):
            assert not characters or (x0 <= x <= x1 and y0 <= y <= y1), (
                f"{figure.name}: text at ({x:.0f}, {y:.0f}) pt, outside its page"
            )
            if characters:
                sizes[round(size, 1)] += characters
    return sizes


def text_runs(page: PageObject) -> list[tuple[float, float, float, int]]:
    """Each run of text on the page: its font size as drawn, where it starts (x, y in pt)
    and how many characters it has. pypdf's text visitor gives the font size and the text
    and transformation matrices; the size drawn is the font size scaled by their product
    (its area, so that rotated text, a y axis label, counts the same)."""
    runs: list[tuple[float, float, float, int]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        a, b = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3]
        c, d = tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]
        x, y = tm[4] * cm[0] + tm[5] * cm[2] + cm[4], tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        runs.append((size * abs(a * d - b * c) ** 0.5, x, y, len(text.strip())))

    page.extract_text(visitor_text=visit)
    return runs


def test_figure_text_is_at_least_seven_points_and_mostly_eight_to_ten(engine: Workspace) -> None:
    """Every figure's text as printed: none smaller than 7 pt, and most of it (tick labels,
    axis labels) 8 to 10 pt, beside the document's 10 pt text. A figure without text fails
    unless TEXT_FREE_FIGURES names it."""
    for figure in figure_files(engine):
        sizes = printed_text_sizes(figure)
        if figure.stem in TEXT_FREE_FIGURES:
            assert not sizes, f"{figure.name} has text: take it out of TEXT_FREE_FIGURES"
            continue
        assert sizes, f"{figure.name} has no text to measure (a text-free figure goes in TEXT_FREE_FIGURES)"
        smallest = min(sizes)
        body = max(sizes, key=lambda size: sizes[size])
        assert smallest >= SMALLEST_TEXT_PT, f"{figure.name}: text of {smallest} pt ({dict(sizes)})"
        low, high = BODY_TEXT_PT
        assert low <= body <= high, f"{figure.name}: most text is {body} pt ({dict(sizes)})"


def outline_titles(pdf: Path) -> list[str]:
    titles: list[str] = []

    def walk(entries: list) -> None:
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                titles.append(entry.title)

    walk(PdfReader(pdf).outline)
    return titles


def test_bookmarks_for_every_exercise_and_task(built_pdf: Path) -> None:
    titles = outline_titles(built_pdf)
    for number in "12":
        assert any(re.match(rf"{number} \w", t) for t in titles), titles
    for label in TASK_LABELS:
        matching = [t for t in titles if t.startswith(label + " ")]
        assert matching, f"no bookmark for {label}"
        assert len(matching[0]) > len(label) + 3, f"bookmark {matching[0]!r} lost its title"


def test_metadata_has_the_title_and_both_authors(engine: Workspace, built_pdf: Path) -> None:
    info = PdfReader(built_pdf).metadata
    config = tomllib.loads(engine.layout.config.read_text(encoding="utf-8"))
    assert info.title == config["submission"]["sheet"]
    assert info.author == ", ".join(member["name"] for member in config["members"])


Place = tuple[int, float]  # a page (from 0) and a height on it (pt from the bottom)
SAME_LINE_PT = 12  # a cell's link target is at most this far above the links of its heading line


def reading_order(place: Place) -> tuple[int, float]:
    return place[0], -place[1]


def task_anchor(label: str) -> str:
    """The link target of a task's heading: \\task{b} of exercise 1 is subsection.1.2."""
    exercise, letter = re.fullmatch(r"(\d+)\(([a-z])\)", label).groups()
    return f"subsection.{exercise}.{ord(letter) - ord('a') + 1}"


def coderefs_by_task(engine: Workspace) -> dict[str, list[str]]:
    """Each task of the fixture's templates and the tasks its text cites with \\coderef."""
    cited: dict[str, list[str]] = {}
    for template in sorted(engine.layout.templates_dir.glob("ex*.tex")):
        exercise = template.stem.removeprefix("ex")
        for letter, text in re.findall(
            r"\\task\{([a-z])\}(.*?)(?=\\task\{|\Z)", template.read_text(encoding="utf-8"), re.DOTALL
        ):
            cited[f"{exercise}({letter})"] = re.findall(r"\\coderef\{([^}]+)\}", text)
    return cited


def cell_anchors(engine: Workspace) -> dict[str, tuple[list[str], list[str]]]:
    """The link target of every task's code cell in the appendix (codecell.A.3: cell 3 of
    the first notebook), with the tasks it answers and those whose first cell it is."""
    anchors: dict[str, tuple[list[str], list[str]]] = {}
    notebooks = sorted(engine.layout.results.glob("ex*.json"), key=lambda path: int(path.stem[2:]))
    for appendix, results in zip(string.ascii_uppercase, notebooks, strict=False):
        for cell in json.loads(results.read_text(encoding="utf-8"))["cells"]:
            if cell["tasks"]:
                anchors[f"codecell.{appendix}.{cell['number']}"] = (cell["tasks"], cell["first_of"])
    return anchors


def link_places(reader: PdfReader) -> list[tuple[Place, str]]:
    """Every link to a named target: where its rectangle's top is, and the target."""
    found = []
    for number, page in enumerate(reader.pages):
        for annotation in page.get("/Annots", []):
            link = annotation.get_object()
            target = link.get("/A", {}).get("/D", link.get("/Dest"))
            if link.get("/Subtype") == "/Link" and isinstance(target, str):
                found.append(((number, float(link["/Rect"][3])), str(target)))
    return found


def test_each_coderef_links_to_its_first_cell_and_each_cell_back_to_its_task(
    engine: Workspace, built_pdf: Path
) -> None:
    """Inside each task's text (from its heading to the next heading), its \\coderef links
    to the first cell of the cited task (a link broken over two lines is two rectangles
    with one target); each cited cell's heading in the appendix ("Cell
    A.3 answers 1(a)") links to the heading of that cell's own task, on the same line."""
    reader = PdfReader(built_pdf)
    places: dict[str, Place] = {
        name: (reader.get_destination_page_number(destination), float(destination.top))
        for name, destination in reader.named_destinations.items()
    }
    links = link_places(reader)
    headings = sorted(
        (name for name in places if name.startswith(("section.", "subsection.", "appendix."))),
        key=lambda name: reading_order(places[name]),
    )
    next_heading = dict(
        zip(headings, [*(places[name] for name in headings[1:]), (len(reader.pages), -math.inf)], strict=True)
    )
    cells = cell_anchors(engine)
    first_cell = {task: anchor for anchor, (_, first_of) in cells.items() for task in first_of}
    cited = coderefs_by_task(engine)
    assert sum(map(len, cited.values())) == len(TASK_LABELS) - 1, cited  # 2(b) has no code
    for task, references in cited.items():
        start, end = reading_order(places[task_anchor(task)]), reading_order(next_heading[task_anchor(task)])
        targets = [
            target for place, target in links
            if start <= reading_order(place) < end and target.startswith("codecell.")
        ]  # fmt: skip
        expected = [first_cell[label] for label in references]
        assert list(dict.fromkeys(targets)) == expected, (
            f"{task}'s \\coderef links to {targets}, not {expected}"
        )
    cited_tasks = {label for references in cited.values() for label in references}
    for anchor in (anchor for anchor, (tasks, _) in cells.items() if cited_tasks & set(tasks)):
        assert anchor in places, f"the appendix does not show {anchor}"
        page, top = places[anchor]
        back = [target for (on, at), target in links if on == page and 0 <= top - at <= SAME_LINE_PT]
        assert back == [task_anchor(task) for task in cells[anchor][0]], (
            f"the heading of {anchor} links to {back}"
        )


def test_no_overfull_box_wider_than_one_point(build: Path) -> None:
    log = (build / "submission.log").read_text(encoding="utf-8", errors="replace")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
    assert all(w <= 1.0 for w in widths), sorted(widths)[-5:]


def test_every_figure_is_on_its_task_page_or_the_next(build: Path) -> None:
    """The .aux lists headings and figure labels in document order, with their pages."""
    aux = (build / "submission.aux").read_text(encoding="utf-8")
    task_page = None
    for line in aux.splitlines():
        heading = re.search(r"\\contentsline \{(?:sub)?section\}.*\}\{(\d+)\}\{(?:sub)?section\.", line)
        if heading:
            task_page = int(heading.group(1))
        figure = re.match(r"\\newlabel\{fig:([^}]+)\}\{\{\d+\}\{(\d+)\}", line)
        if figure and task_page is not None:
            assert int(figure.group(2)) - task_page <= 1, f"{figure.group(1)} drifted from its task"


def test_tables_use_booktabs_rules(build: Path) -> None:
    rendered = "".join(p.read_text(encoding="utf-8") for p in build.glob("*.tex"))
    assert r"\toprule" in rendered
    assert r"\hline" not in rendered


def page_texts(pdf: Path) -> list[str]:
    """Each page's text (pdftotext separates pages with form feeds)."""
    return run("pdftotext", "-layout", str(pdf), "-").split("\f")


def test_code_references_point_at_the_page_of_their_cell(built_pdf: Path, engine_text: str) -> None:
    pages = page_texts(built_pdf)
    references = re.findall(
        r"\(code: cells? ([A-C]\.\d+)(?:–([A-C]\.\d+))?, pp?\. (\d+)(?:–(\d+))?\)", engine_text
    )
    assert len(references) == len(TASK_LABELS) - 1  # 2(b) has no code
    assert any(last_page for *_, last_page in references), "no reference spans pages"
    for first, last, page, last_page in references:
        on_page = re.search(rf"Cell {re.escape(first)}\b", pages[int(page) - 1])
        assert on_page, f"cell {first} is not on p. {page}"
        following = int(last_page or page)  # the page after the range does not continue its last cell
        if following < len(pages):
            assert f"Cell {last or first} (continued)" not in pages[following], f"{first}: range ends early"


def test_no_heading_is_left_alone_at_the_foot_of_a_page(built_pdf: Path) -> None:
    heading = re.compile(r"^\s*(\d\([a-h]\)|[1-3A-C]) {2,}\S")
    for number, page in enumerate(page_texts(built_pdf)[:-1], start=1):
        lines = [line for line in page.splitlines() if line.strip()]
        if len(lines) < 2:
            continue
        last_text = lines[-2] if lines[-1].strip().isdigit() else lines[-1]
        assert not heading.match(last_text), f"p. {number} ends with the heading {last_text.strip()!r}"


def test_tables_are_kept_with_their_captions(engine: Workspace) -> None:
    """A table caption outside `tablehere` could end a page with the table on the next."""
    for template in engine.layout.templates_dir.glob("*.tex"):
        text = template.read_text(encoding="utf-8")
        outside = re.sub(r"\\begin\{tablehere\}.*?\\end\{tablehere\}", "", text, flags=re.DOTALL)
        assert r"\captionof{table}" not in outside, f"{template.name}: a table caption outside tablehere"


def test_appendix_pages_that_start_inside_a_cell_say_which(built_pdf: Path) -> None:
    pages = page_texts(built_pdf)
    first = next(
        i for i, page in enumerate(pages) if re.search(r"^A {2,}Code and output", page, re.MULTILINE)
    )
    open_item = None
    for number, page in enumerate(pages[first:], start=first + 1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        if not lines:
            continue
        continued = re.fullmatch(r"(.+) \(continued\)", lines[0])
        body = lines[1:] if continued else lines
        fresh = re.match(r"(Cell [A-C]\.\d+|[A-C] +Code and output|Module |Saved )", body[0])
        assert bool(continued) != bool(fresh), f"p. {number} starts with {body[0]!r}"
        if continued:
            assert continued.group(1) == open_item, (
                f"p. {number} continues {continued.group(1)}, not {open_item}"
            )
        for line in body:
            header = re.match(r"Cell ([A-C]\.\d+)|Module (\S+),", line)
            if header:
                open_item = f"Cell {header.group(1)}" if header.group(1) else header.group(2)


def words_by_page(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Each page's words with their boxes (x0, top, x1, bottom, in points from the top left)."""
    html = run("pdftotext", "-bbox", str(pdf), "-")
    pages = []
    for page in html.split("<page ")[1:]:
        words = re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page
        )
        pages.append([(float(a), float(b), float(c), float(d), html_text(w)) for a, b, c, d, w in words])
    return pages


def html_text(word: str) -> str:
    return word.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')


def links(pdf: Path) -> list[tuple[int, str, int]]:
    """Every internal link: the page it is on, the words inside its rectangle, the page it leads to."""
    reader = PdfReader(pdf)
    targets = {
        name: reader.get_destination_page_number(dest) for name, dest in reader.named_destinations.items()
    }
    words = words_by_page(pdf)
    found = []
    for number, page in enumerate(reader.pages):
        height = float(page.mediabox.height)
        for annotation in page.get("/Annots", []):
            link = annotation.get_object()
            destination = link.get("/A", {}).get("/D", link.get("/Dest"))
            if link.get("/Subtype") != "/Link" or destination is None:
                continue
            x0, y0, x1, y1 = (float(v) for v in link["/Rect"])
            inside = [
                w for a, top, b, bottom, w in words[number]
                if a >= x0 - 1 and b <= x1 + 1 and top >= height - y1 - 2 and bottom <= height - y0 + 2
            ]  # fmt: skip
            target = (
                targets[str(destination)]
                if isinstance(destination, str)
                else reader.get_page_number(destination[0])
            )
            found.append((number, " ".join(inside), target))
    return found


def test_every_link_lands_where_its_text_says(built_pdf: Path) -> None:
    """A link that names a page lands on it; one that names a figure, cell or task lands on
    the page that shows it (pdftotext's view of each page)."""
    pages = page_texts(built_pdf)
    checked = 0
    for number, text, target in links(built_pdf):
        where = f"the link {text!r} on p. {number + 1} leads to p. {target + 1}"
        if page := re.search(r"pp?\. (\d+)", text):
            assert target + 1 == int(page.group(1)), where
        if figure := re.match(r"Figure (\d+)", text):
            assert f"Figure {figure.group(1)}:" in pages[target], where
        elif cell := re.search(r"cells? ([A-Z]\.\d+)", text):
            assert re.search(rf"Cell {re.escape(cell.group(1))}\b", pages[target]), where
        elif re.fullmatch(r"\d+\([a-h]\)", text):
            assert re.search(rf"^\s*{re.escape(text)}\s", pages[target], re.MULTILINE), where
        checked += 1
    assert checked >= 10, f"only {checked} links"


def test_figure_links_land_on_the_figure_not_its_caption(build: Path) -> None:
    """caption's hypcap places a figure's link target at its top, unless it cannot (then it warns)."""
    log = (build / "submission.log").read_text(encoding="utf-8", errors="replace")
    assert "hypcap=true' will be ignored" not in log
