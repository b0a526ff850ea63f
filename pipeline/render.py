"""Render the Jinja2 templates in templates/ into LaTeX files under report/build/.

Jinja's usual `{{ }}` and `{% %}` clash with LaTeX's braces and comments, so the
templates use `\\VAR{...}` for values, `\\BLOCK{...}` for statements and `\\#{...}` for
comments. Undefined names are errors, and every number a template prints passes
through pipeline.texify.format_number (the environment's `finalize`).
"""

import json
import numbers
import re
import zlib
from pathlib import Path
from typing import cast

import jinja2

from pipeline import made, page
from pipeline.config import load_settings, load_submission
from pipeline.diagnostics import template_error, template_place, where_used
from pipeline.errors import BuildError, read_text
from pipeline.fonts import fontenc_option
from pipeline.paths import EXERCISE, PROJECT, exercise_number
from pipeline.texify import UNICODE_COMMANDS, format_number


def _finalize(value: object) -> object:
    """Format numbers the one way the report formats numbers (a list: each of them,
    separated by commas); leave LaTeX strings alone."""
    if isinstance(value, list):
        return ", ".join(str(_finalize(item)) for item in value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return format_number(cast(float, value))  # any real number: an int, a float, numpy's
    return value


def layout_context() -> dict:
    """What every LaTeX document of the build needs: the page size, the font encodings
    (pipeline/fonts.py) and the characters beyond Latin-1 it can typeset (declared in
    the preambles)."""
    return {
        "page": {"text_width_cm": page.TEXT_WIDTH_CM, "text_height_cm": page.TEXT_HEIGHT_CM},
        "font_encodings": fontenc_option(),
        "unicode_commands": [(f"{ord(char):04X}", command) for char, command in UNICODE_COMMANDS.items()],
    }


def document_context(notebooks: list[str]) -> dict:
    """What the document's templates see: `submission` (report.toml, escaped), `exercises`
    (the exercise templates in their order, with their numbers), `task_cells` (every cell
    titled with a task: its notebook, line and task, once for each task it answers, which
    a template must define), each
    notebook's values by its name (`ex1.some_value`), `notebooks` (those whose code the
    appendix shows, with the cells and modules it shows and where their typeset pages
    are), and the layout."""
    everything = load_settings().appendix_show == "all"
    cited = cited_tasks()
    records = {}
    for notebook in notebooks:
        record = json.loads(PROJECT.results_of(notebook).read_text(encoding="utf-8"))
        record["pages"] = json.loads(PROJECT.page_map_of(notebook).read_text(encoding="utf-8"))
        record["shown_cells"], record["shown_modules"] = appendix_of(record, cited, everything=everything)
        records[notebook] = record
    return {
        "submission": load_submission().as_latex(),
        "exercises": {name: exercise_number(Path(f"{name}.tex")) for name in PROJECT.exercises()},
        "task_cells": [
            (record["notebook"], cell["first_line"], task)
            for record in records.values()
            for cell in record["cells"]
            for task in cell["tasks"]
        ],
        "notebooks": {name: record for name, record in records.items() if record["shown_cells"]},
        **{name: record["values"] for name, record in records.items()},
        **layout_context(),
    }


def cited_tasks() -> set[str]:
    """The tasks whose code the answers cite: `\\coderef{1(b)}` in any template."""
    return {
        task
        for template in PROJECT.templates()
        for task in re.findall(r"\\coderef\{([^}]*)\}", read_text(template))
    }


def tasks_shown_with(cells: list[dict]) -> list[list[str]]:
    """The tasks each cell is shown with: its own, and for a markdown cell without any
    those of the cell after it, which it introduces (as in sphinx-gallery's examples)."""
    tasks = [cell["tasks"] for cell in cells]
    for index in reversed(range(len(cells) - 1)):
        if cells[index]["kind"] == "markdown" and not tasks[index]:
            tasks[index] = tasks[index + 1]
    return tasks


def appendix_of(
    record: dict, cited: set[str], *, everything: bool
) -> tuple[list[dict], list[tuple[int, dict]]]:
    """The cells of a notebook the appendix shows, and the modules (numbered as typeset):
    the cells of the tasks the answers cite, after the cells that open the notebook (its
    introduction and setup), then the modules those cells use; or, with `everything`,
    every cell and module."""
    cells = record["cells"]
    if everything:
        return cells, list(enumerate(record["modules"], start=1))
    opening = next((index for index, cell in enumerate(cells) if cell["tasks"]), len(cells))
    shown = [
        cell for cell, tasks in zip(cells, tasks_shown_with(cells), strict=True) if cited.intersection(tasks)
    ]
    shown = cells[:opening] + shown if shown else []
    used = {module for cell in shown for module in cell["uses"]}
    return shown, [(index, m) for index, m in enumerate(record["modules"], start=1) if m["path"] in used]


def printed_values(context: dict, notebooks: list[str]) -> dict[str, str]:
    """Each published value as a template prints it (`ex1.gram_min` -> `62.2`)."""
    return {
        f"{notebook}.{name}": str(_finalize(value))
        for notebook in notebooks
        for name, value in context[notebook].items()
    }


def changed_values(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """For every template line that prints a value whose text changed, one line saying so
    (`templates/ex1.tex:73: ex1.gram_min 62.2 -> 62.4`): the sentences to reread."""
    changed = {key for key in before.keys() & after.keys() if before[key] != after[key]}
    lines = []
    for template in PROJECT.templates() if changed else []:
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), start=1):
            for key in dict.fromkeys(re.findall(r"\\VAR\{\s*(\w+\.\w+)", line)):
                if key in changed:
                    old, new = (_shortened(text) for text in (before[key], after[key]))
                    lines.append(f"{PROJECT.shown(template)}:{number}: {key} {old} -> {new}")
    return lines


def _shortened(text: str, width: int = 40) -> str:
    """A printed value as a terminal line shows it: `2.61e-25` for a number's LaTeX."""
    text = re.sub(r"^\\ensuremath\{(.*)\}$", r"\1", " ".join(text.split()))
    text = re.sub(r"\\times 10\^\{(-?\d+)\}", r"e\1", text.replace("{,}", ","))
    return text if len(text) <= width else text[: width - 3] + "..."


class RecordingLoader(jinja2.FileSystemLoader):
    """Jinja2's file loader, noting each file it reads: a template's `include`s are the
    document's inputs as much as the template is."""

    def __init__(self, templates: Path) -> None:
        super().__init__(templates, encoding="utf-8-sig")  # a byte-order mark is no text
        self.loads: list[Path] = []

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple:
        # Noted before it is looked up: `include ... ignore missing` of a file made later counts.
        self.loads.append(Path(self.searchpath[0], template))
        return super().get_source(environment, template)


def _recording(environment: jinja2.Environment) -> RecordingLoader:
    """The loader of an environment template_environment() made."""
    return cast(RecordingLoader, environment.loader)


def template_environment(templates: Path = PROJECT.templates_dir) -> jinja2.Environment:
    cache = PROJECT.build / ".jinja-cache"
    cache.mkdir(parents=True, exist_ok=True)
    environment = jinja2.Environment(
        loader=RecordingLoader(templates),
        # Compiled templates are kept (keyed by their source), so an edit recompiles one.
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(cache)),
        undefined=jinja2.StrictUndefined,
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_finalize,
    )
    environment.filters["num"] = format_number
    return environment


def render(environment: jinja2.Environment, name: str, context: dict) -> str:
    """The template `name` rendered; any error (Jinja's, or a filter's such as `|num`
    given text) becomes a BuildError at the template's line."""
    read_text(Path(_recording(environment).searchpath[0]) / name)  # UTF-8, or an error at the bad byte
    try:
        return environment.get_template(name).render(context)
    except jinja2.TemplateError as error:  # TemplateNotFound is an OSError too: an include's, say
        raise template_error(error, context) from None
    except OSError as error:  # the compiled-template cache cannot be written: name its folder
        cache = cast(jinja2.FileSystemBytecodeCache, environment.bytecode_cache).directory
        raise OSError(
            error.errno, error.strerror, str(Path(error.filename).parent) if error.filename else cache
        ) from None
    except Exception as error:
        raise template_error(error) from None


def render_templates(context: dict, build_dir: Path) -> tuple[list[Path], set[Path], set[Path]]:
    """Render every template (pipeline/paths.py says which) to build_dir; rewrite a file
    only when its text changed, and remove rendered files whose template is gone. Return
    the files rendered, the template files read, and those a template included.

    Leaving unchanged files untouched keeps their timestamps, so LaTeX tools that
    watch the files see only real edits.
    """
    environment = template_environment()
    loads = _recording(environment).loads
    build_dir.mkdir(parents=True, exist_ok=True)
    written: dict[Path, str] = {}  # each rendered file and its text
    included: set[Path] = set()
    try:
        for template_path in PROJECT.templates():
            cast(dict, environment.cache).clear()  # each include is looked up, and noted, in this render
            start = len(loads)
            text = render(environment, template_path.name, context)
            included |= set(loads[start:]) - {template_path}
            target = build_dir / template_path.name
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
            written[target] = text
    finally:  # what a failed render wrote is the build's too
        made.record(written)
    check_numbering(written, context.get("task_cells", []))
    check_pictures(written)
    made.delete(set(build_dir.glob("*.tex")) - set(written))  # a deleted template's, not a person's
    return list(written), set(loads), included


TASK = re.compile(r"\\task\{([^{}]*)\}")
# Headings LaTeX numbers by counting: a task's letter would depend on the tasks before it.
COUNTED_TASK = re.compile(r"\\subsection(?!\s*\*)")
SECTION = re.compile(r"\\section(?!\s*\*)")
END_DOCUMENT = re.compile(r"\\end\s*\{document\}")
TEX_COMMENT = re.compile(r"(?<!\\)%.*")
MAY_NUMBER = re.compile(r"\\(?:task|subsection|section|end)\b")


def check_numbering(rendered: dict[Path, str], task_cells: list[tuple[str, int, str]]) -> None:
    """Every number the document prints is the sheet's: an exercise's comes from its file
    name and a task's letter from its `\\task{c}{Title}`, so nothing in an exercise may
    number by counting (a `\\subsection`, a second `\\section`), no letter may be given
    twice, and every cell titled with a task (`# %% 2(c) ...`) must answer one that a
    template defines. An `\\end{document}` before the submission's own would end it there
    silently (TeX then blames whatever it misses later): an error at its own line.
    Rendered text is read (comments gone, includes in place), each problem traced to its
    template line."""
    defined: dict[str, tuple[Path, int]] = {}  # each task's rendered file and line
    for path, text in rendered.items():
        if path.name == "submission.tex":
            continue
        exercise = EXERCISE.fullmatch(path.name)
        sections = 0
        lines = text.splitlines()
        # Only the lines that may hold a heading or an \end (most hold neither), in order.
        for number in sorted({text.count("\n", 0, match.start()) + 1 for match in MAY_NUMBER.finditer(text)}):
            code = TEX_COMMENT.sub("", lines[number - 1])
            sections += bool(exercise and SECTION.search(code))
            problem, details = _numbering_problem(code, exercise, sections, defined)
            if problem:
                place = template_place(path, number)
                raise BuildError(problem, place.path, place.line, [place.text.strip(), details])
            if exercise:
                for letter in TASK.findall(code):
                    defined[f"{exercise.group(1)}({letter})"] = (path, number)
    for notebook, line, task in task_cells:
        if task not in defined:
            exercise_number, letter = task[:-1].split("(")
            where = f"templates/ex{exercise_number}.tex would define it as \\task{{{letter}}}{{Title}}"
            raise BuildError(
                f"cell titled {task}, a task no template defines",
                PROJECT.root / notebook,
                line,
                [f"{where}; or retitle the cell"],
            )


def _numbering_problem(
    code: str, exercise: re.Match | None, sections: int, defined: dict[str, tuple[Path, int]]
) -> tuple[str, str]:
    """What is wrong with one rendered line (without its comment) of a numbering, and how
    to put it right; ('', '') if nothing."""
    if END_DOCUMENT.search(code):
        return (
            "\\end{document} ends the submission here",
            "what follows, and the code appendix, would be missing",
        )
    if not exercise:
        return "", ""
    if COUNTED_TASK.search(code):
        return (
            "a task is written \\task{letter}{Title}, not \\subsection{Title}",
            "its letter is the sheet's; a \\subsection would be lettered by counting the tasks before it",
        )
    if sections > 1 and SECTION.search(code):
        return (
            "a second \\section in an exercise would take the next exercise's number",
            "exercise N is templates/exN.tex, with one \\section",
        )
    if sections == 0 and TASK.search(code):
        return (
            "a task before its exercise's \\section{Title}",
            "it would be numbered as a task of the exercise before",
        )
    for letter in TASK.findall(code):
        task = f"{exercise.group(1)}({letter})"
        if not re.fullmatch("[a-z]", letter):
            return f"\\task{{{letter}}}: a task's letter is one of a to z, as on the sheet", ""
        if task in defined:
            first = template_place(*defined[task])
            return f"task {task} is defined twice", f"first at {PROJECT.shown(first.path)}:{first.line}"
    return "", ""


PICTURE = re.compile(r"\\(plot|scan)\{([^{}]*)\}")
PICTURE_TYPES = {".pdf": "PDF", ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
# How each type's files start: graphicx goes by the name's extension, pdfTeX by the bytes.
MAGIC = {"PDF": b"%PDF-", "PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff"}


def check_pictures(rendered: dict[Path, str]) -> None:
    """Figures made by hand (templates/figures/) are placed by name like the notebooks'
    (`\\plot{name}...`, `\\scan{name}`), so a name must mean one file: a hand-made figure
    named like a generated one, or two of one name, is an error. Every hand-made file a
    template places, and every scan, must be there and readable as what its name says:
    otherwise pdfTeX stops without a line (or a viewer shows half a page), so it is an
    error at the template line that places it."""
    handmade: dict[str, list[Path]] = {}
    for file in sorted(PROJECT.handmade_figures.glob("*")):
        handmade.setdefault(file.stem, []).append(file)
    generated = {file.stem for file in PROJECT.figures.glob("*.pdf")}
    for name, files in handmade.items():
        pictures = [file for file in files if file.suffix.lower() in PICTURE_TYPES]
        if name in generated and pictures:
            problem = f"two figures are named {name}: {PROJECT.shown(pictures[0])} and one a notebook saves"
            _picture_error(problem, name, "rename the one made by hand (and where a template places it)")
        if len(pictures) > 1:
            problem = f"two figures are named {name}: " + " and ".join(PROJECT.shown(f) for f in pictures)
            _picture_error(problem, name, "keep one of them (LaTeX would take the first it finds)")
    for path, text in rendered.items():
        if "\\plot{" not in text and "\\scan{" not in text:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for macro, name in PICTURE.findall(TEX_COMMENT.sub("", line)):
                problem, details = _picture_problem(macro, name, handmade)
                if problem:
                    place = template_place(path, number)
                    raise BuildError(problem, place.path, place.line, [place.text.strip(), details])


def _picture_error(problem: str, name: str, details: str) -> None:
    """A figure's name means two files: an error where a template places it, or at the file."""
    used = where_used(name)
    raise BuildError(
        problem,
        used.path if used else PROJECT.handmade_figures / name,
        used.line if used else None,
        [used.text.strip() if used else "", details],
    )


def _picture_problem(macro: str, name: str, handmade: dict[str, list[Path]]) -> tuple[str, str]:
    """What is wrong with the hand-made file `\\plot{name}` or `\\scan{name}` places, and
    what to do; ('', '') if nothing (a \\plot of a notebook's figure is left to LaTeX)."""
    given = PROJECT.handmade_figures / name
    files = [given] if given.suffix.lower() in PICTURE_TYPES and given.is_file() else handmade.get(name, [])
    pictures = [file for file in files if file.suffix.lower() in PICTURE_TYPES]
    if not pictures and files:
        found = ", ".join(PROJECT.shown(file) for file in files)
        return f"\\{macro}{{{name}}}: {found} is not a PDF, PNG or JPG", "convert it to one of them"
    if not pictures:
        if macro == "plot":
            return "", ""
        return (
            f"\\scan{{{name}}}: no scan named {name} in templates/figures/",
            f"put it there as {name}.pdf (one page or more), {name}.png or {name}.jpg",
        )
    return unreadable(pictures[0]), "export or scan it again"


def unreadable(file: Path) -> str:
    """Why pdfTeX could not place `file`, judged by its bytes ('' if it looks whole): empty,
    of another type than its name says, or cut short (a copy or download that stopped)."""
    data = file.read_bytes()
    shown, kind = PROJECT.shown(file), PICTURE_TYPES[file.suffix.lower()]
    if not data:
        return f"{shown} is empty"
    actual = next((other for other, magic in MAGIC.items() if data[:1024].lstrip().startswith(magic)), None)
    if actual is None and kind == "PDF" and MAGIC["PDF"] in data[:1024]:
        actual = "PDF"  # a PDF may start with a few bytes of junk
    if actual != kind:
        what = f"a {actual} file" if actual else "not a picture"
        return f"{shown} is {what}, not a {kind} as its name says"
    whole = {
        "PDF": b"%%EOF" in data[-1024:] and b"startxref" in data,
        "PNG": _png_is_whole(data),
        "JPEG": data.rstrip(b"\0\r\n")[-2:] == b"\xff\xd9",
    }
    return "" if whole[kind] else f"{shown} is cut short: its {kind} data ends early"


def _png_is_whole(data: bytes) -> bool:
    """Whether the PNG's chunks run, each whole and with its checksum, to its end chunk."""
    at = 8
    while at + 12 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        checksum = data[at + 8 + length : at + 12 + length]
        if len(body) < length or checksum != zlib.crc32(kind + body).to_bytes(4, "big"):
            return False
        if kind == b"IEND":
            return True
        at += 12 + length
    return False
