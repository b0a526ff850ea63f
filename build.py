"""Build report/submission.pdf from the notebooks' results, the config and the templates.

    python build.py        (make calls this after the notebooks have run)

The flow, one stage per function:
  report.toml                       -> load_submission   -> the title block's details
  report/results/<notebook>.json    -> load_results      -> numbers, formulas, cells
    + report/code/<notebook>.json                            (+ where its typeset code is)
  both                              -> template_context  -> one dict for every template
  templates/*.tex + the context     -> render_templates  -> report/build/*.tex
  report/build/submission.tex       -> compile_document  -> report/build/submission.pdf
  that PDF                          -> publish_pdf       -> report/submission.pdf
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jinja2

from pipeline.config import ConfigError, Submission, load_submission
from pipeline.diagnostics import BUILD_FAILED, template_error_report
from pipeline.latex import LatexError, compile_document, publish_pdf
from pipeline.render import layout_context, render_templates

ROOT = Path(__file__).resolve().parent
REPORT = ROOT / "report"
BUILD_DIR = REPORT / "build"
RESULTS_DIR = REPORT / "results"
CODE_DIR = REPORT / "code"
NOTEBOOKS = ROOT / "figures_src"


def load_results() -> dict[str, dict]:
    """Each notebook's results (pipeline/notebook.py) with the page map of its typeset
    code (pipeline/listing.py), by notebook name."""
    results = {}
    for notebook in sorted(NOTEBOOKS.glob("ex*.py")):
        path = RESULTS_DIR / f"{notebook.stem}.json"
        if not path.exists():
            raise FileNotFoundError(f"{path.relative_to(ROOT)} is missing: run `make` to run {notebook.name}")
        record = json.loads(path.read_text(encoding="utf-8"))
        pages = CODE_DIR / f"{notebook.stem}.json"
        if not pages.exists():
            raise FileNotFoundError(f"{pages.relative_to(ROOT)} is missing: run `make` to typeset the code")
        record["pages"] = json.loads(pages.read_text(encoding="utf-8"))
        results[notebook.stem] = record
    return results


def template_context(submission: Submission, results: dict[str, dict]) -> dict:
    """What the templates see: `submission`, `page`, each notebook's values by its name
    (`ex1.some_value`), and `notebooks` with every notebook's cells."""
    return {
        "submission": submission.as_latex(),
        **layout_context(),
        "notebooks": results,
        **{name: record["values"] for name, record in results.items()},
    }


def source_date_epoch() -> int:
    """The date stamped into the PDF: $SOURCE_DATE_EPOCH, else the last commit's, else 0."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:  # no git: a tarball of the project still builds
        return 0
    return int(commit.stdout.strip() or 0)


def stage(name: str, start: float, made: str) -> None:
    print(f"[{name}] {made} ({time.perf_counter() - start:.2f} s)", flush=True)


def build() -> None:
    start = time.perf_counter()
    context = template_context(load_submission(ROOT / "report.toml"), load_results())
    rendered = render_templates(context, BUILD_DIR)
    stage("render", start, f"{len(rendered)} templates -> {BUILD_DIR.relative_to(ROOT)}/")

    start = time.perf_counter()
    plain = os.environ.get("REPORT_FORMAT") == "off"  # bypass the preamble format
    built = compile_document(BUILD_DIR, "submission", source_date_epoch(), plain=plain)
    publish_pdf(built, REPORT / "submission.pdf")
    stage("latex", start, "report/submission.pdf")


def main() -> int:
    try:
        build()
    except jinja2.TemplateError as error:
        print(f"error: {template_error_report(error)}", file=sys.stderr)
    except (ConfigError, LatexError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
    else:
        return 0
    print(BUILD_FAILED, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
