"""The notebooks' code in the PDF: highlighted with Pygments, typeset apart from the document.

`typeset_code_pages("ex1")` typesets the cells and imported modules recorded in
report/results/ex1.json (templates/standalone/code-pages.tex) into
report/code/ex1-code.pdf, one chunk of a few lines per page, and records in
report/code/ex1.json which pages hold which cell. The document then includes those
pages (templates/code.tex): editing the prose never re-typesets the code.
No shell escape anywhere: the highlighting happens here, in Python.
"""

import json
import os
import unicodedata

from pygments import highlight as pygments_highlight
from pygments.formatters import LatexFormatter
from pygments.lexers import PythonLexer

from pipeline import page
from pipeline.errors import BuildError
from pipeline.latex import PDFLATEX, run_tex
from pipeline.markdown import markdown_source, to_latex
from pipeline.paths import PROJECT
from pipeline.render import layout_context, render, template_environment
from pipeline.stamps import write_atomically
from pipeline.texify import untypesettable

PICTURE_INDENT_CM = 0.6  # a picture a cell shows is indented as its output's frame is (1.6em)
FORMATTER = LatexFormatter(style="default", nowrap=True, commandprefix="PY")


def highlight(source: str) -> str:
    """Highlighted LaTeX for `source` (to go inside a Verbatim with commandchars=\\\\\\{\\})."""
    return pygments_highlight(source, PythonLexer(), FORMATTER)


def style_definitions() -> str:
    # Latin Modern's typewriter face has no bold; colour alone marks keywords.
    return FORMATTER.get_style_defs().replace(r"\let\PY@bf=\textbf", "")


def _characters(chars: list[str]) -> str:
    names = ", ".join(f"U+{ord(c):04X} ({unicodedata.name(c, '?')})" for c in chars)
    return f"the PDF cannot show {names}"


def check_printable(record: dict) -> None:
    """Every character of the code and its output must be one the PDF can show."""
    hint = "write it in ASCII, or give it a LaTeX command in UNICODE_COMMANDS (pipeline/texify.py)"
    sources = [(record["notebook"], cell["first_line"], cell["source"]) for cell in record["cells"]]
    sources += [(module["path"], 1, module["source"]) for module in record["modules"]]
    for path, start, text in sources:
        for number, line in enumerate(text.splitlines(), start=start):
            if bad := untypesettable(line):
                raise BuildError(_characters(bad), path, number, [line.strip(), hint])
    for cell in record["cells"]:
        if bad := untypesettable("".join(output.get("text", "") for output in cell["outputs"])):
            raise BuildError(
                f"cell {cell['number']} prints: {_characters(bad)}",
                record["notebook"],
                cell["first_line"],
                [hint],
            )


def chunk_pages(chunk_log: str) -> dict[str, list[int]]:
    """`cell-3-code` -> [first page, last page], from the log the typesetting wrote."""
    pages: dict[str, list[int]] = {}
    for line in chunk_log.splitlines():
        what, page = line.split()
        pages.setdefault(what, [int(page), int(page)])[1] = int(page)
    return pages


def shown_as(output: dict) -> None:
    """Add to one of a cell's outputs (pipeline/notebook.py: shown_outputs) what
    templates/standalone/code-pages.tex sets: text ending its last line (Verbatim needs
    its end on a line of its own), LaTeX for math and markdown, and for a picture its
    file as seen from where the pages are typeset, at most as wide as the text."""
    if "text" in output and not output["text"].endswith("\n"):
        output["text"] += "\n"
    if output["type"] == "latex":
        output["latex"] = output["source"]
    elif output["type"] == "markdown":
        output["latex"] = to_latex(output["source"])
    elif output["type"] == "picture":
        output["file"] = os.path.relpath(PROJECT.root / output["path"], PROJECT.code_build)
        output["width"] = f"{min(output['width_cm'], page.TEXT_WIDTH_CM - PICTURE_INDENT_CM):.3f}cm"


def typeset_code_pages(notebook: str) -> None:
    """report/results/<notebook>.json -> report/code/<notebook>-code.pdf and its page map."""
    record = json.loads(PROJECT.results_of(notebook).read_text(encoding="utf-8"))
    check_printable(record)
    for cell in record["cells"]:
        cell["code"] = highlight(cell["source"])
        cell["prose"] = to_latex(markdown_source(cell["source"])) if cell["kind"] == "markdown" else ""
        for output in cell["outputs"]:
            shown_as(output)
    for module in record["modules"]:
        module["code"] = highlight(module["source"])
    work = PROJECT.code_build
    work.mkdir(parents=True, exist_ok=True)
    write_atomically(work / "code-style.tex", style_definitions())
    text = render(
        template_environment(PROJECT.standalone_dir),
        "code-pages.tex",
        {"notebook": record, **layout_context()},
    )
    (work / f"{notebook}.tex").write_text(text, encoding="utf-8")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1", "max_print_line": "10000"}
    done = run_tex([*PDFLATEX, f"{notebook}.tex"], work, env)
    if done.returncode != 0:
        errors = [line for line in done.stdout.splitlines() if line.startswith(("./", "!"))]
        raise BuildError(
            f"typesetting the code of {record['notebook']} failed",
            record["notebook"],
            None,
            [*errors[:2], f"the log: {PROJECT.shown(work / notebook)}.log"],
        )
    os.replace(work / f"{notebook}.pdf", PROJECT.code_pdf_of(notebook))
    pages = chunk_pages((work / f"{notebook}.chunks").read_text(encoding="utf-8"))
    write_atomically(PROJECT.page_map_of(notebook), json.dumps(pages, indent=1) + "\n")
