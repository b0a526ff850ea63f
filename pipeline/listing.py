"""The notebooks' code in the PDF: highlighted with Pygments, typeset apart from the document.

    python -m pipeline.listing style report/results/code-style.tex
    python -m pipeline.listing pages report/results/ex1.json

`style` writes the colour macros of the highlighting. `pages` typesets one notebook's
cells and imported modules (templates/standalone/code-pages.tex) into
report/code/<notebook>-code.pdf, one chunk of a few lines per page, and records in
report/code/<notebook>.json which pages hold which cell. The document then includes
those pages (templates/code.tex): editing the prose never re-typesets the code.
No shell escape anywhere: the highlighting happens here, in Python.
"""

import json
import os
import sys
import time
from pathlib import Path

from pygments import highlight as pygments_highlight
from pygments.formatters import LatexFormatter
from pygments.lexers import PythonLexer

from pipeline.latex import PDFLATEX, run_tex
from pipeline.render import layout_context, template_environment

ROOT = Path(__file__).resolve().parent.parent
CODE_DIR = ROOT / "report" / "code"
FORMATTER = LatexFormatter(style="default", nowrap=True, commandprefix="PY")


def highlight(source: str) -> str:
    """Highlighted LaTeX for `source` (to go inside a Verbatim with commandchars=\\\\\\{\\})."""
    return pygments_highlight(source, PythonLexer(), FORMATTER)


def style_definitions() -> str:
    # Latin Modern's typewriter face has no bold; colour alone marks keywords.
    return FORMATTER.get_style_defs().replace(r"\let\PY@bf=\textbf", "")


def chunk_pages(chunk_log: Path) -> dict[str, list[int]]:
    """`cell-3-code` -> [first page, last page], from the log the typesetting wrote."""
    pages: dict[str, list[int]] = {}
    for line in chunk_log.read_text(encoding="utf-8").splitlines():
        what, page = line.split()
        pages.setdefault(what, [int(page), int(page)])[1] = int(page)
    return pages


def typeset_code_pages(results: Path) -> Path:
    """report/results/<name>.json -> report/code/<name>-code.pdf and its page map <name>.json."""
    results = results.resolve()
    record = json.loads(results.read_text(encoding="utf-8"))
    name = results.stem
    work = CODE_DIR / "build"
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"{name}.tex"
    template = template_environment(ROOT / "templates" / "standalone").get_template("code-pages.tex")
    source.write_text(template.render(notebook=record, **layout_context()), encoding="utf-8")
    env = {
        **os.environ,
        "TEXINPUTS": f".:{results.parent}:",
        "SOURCE_DATE_EPOCH": "0",
        "FORCE_SOURCE_DATE": "1",
        "max_print_line": "10000",
    }
    done = run_tex([*PDFLATEX, source.name], work, env)
    if done.returncode != 0:
        errors = [line for line in done.stdout.splitlines() if line.startswith(("./", "!"))]
        raise RuntimeError(f"typesetting the code of {name} failed: {errors[:2]} (log: {work / name}.log)")
    target = CODE_DIR / f"{name}-code.pdf"
    os.replace(work / f"{name}.pdf", target)
    page_map = CODE_DIR / f"{name}.json"
    page_map.write_text(json.dumps(chunk_pages(work / f"{name}.chunks"), indent=1) + "\n", encoding="utf-8")
    return target


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "style":
        Path(argv[1]).write_text(style_definitions(), encoding="utf-8")
        return 0
    if len(argv) == 2 and argv[0] == "pages":
        start = time.perf_counter()
        try:
            target = typeset_code_pages(Path(argv[1]))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"[code] {target.relative_to(ROOT)} ({time.perf_counter() - start:.1f} s)")
        return 0
    print("usage: python -m pipeline.listing style OUT | pages report/results/<name>.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
