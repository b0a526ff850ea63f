"""References as a LaTeX writer makes them: a .bib file in templates/, \\cite and its
natbib variants in the templates, `\\bibliography{...}` where the list goes; on every
compile route, with a .bib that is an input of the document and errors at their lines."""

from pathlib import PurePath

import pytest
from conftest import pdf_to_text
from test_errors import failing, first_error
from workspace import Workspace

BIB = """% Two entries, the second one's year on line 12.
@inproceedings{vaswani2017,
  author    = {Vaswani, Ashish and Shazeer, Noam},
  title     = {Attention Is All You Need},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2017},
}

@article{eckart1936,
  author  = {Eckart, Carl and Young, Gale},
  title   = {The Approximation of One Matrix by Another of Lower Rank},
  year    = {1936},
  journal = {Psychometrika},
}
"""
CITING = r"Rows of four hold four times as many as there are rows"


def cite(workspace: Workspace, command: str = r"\citet{vaswani2017}") -> int:
    """Write templates/references.bib, cite from ex2's task (b) and list the references at
    the end of ex2; return the line of the citation."""
    workspace.write("templates/references.bib", BIB)
    workspace.edit(
        "templates/ex2.tex", CITING, f"As {command} and \\citep{{eckart1936}} say, {CITING.lower()}"
    )
    template = workspace.root / "templates" / "ex2.tex"
    template.write_text(
        template.read_text(encoding="utf-8") + "\n\\bibliography{references}\n", encoding="utf-8"
    )
    lines = template.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if command in line)


def retitle(workspace: Workspace) -> None:
    """An edit of an entry in the .bib alone."""
    workspace.edit("templates/references.bib", "Attention Is All You Need", "Attention Is Not All You Need")


@pytest.mark.parametrize("route", ["format", "off"])
def test_citations_resolve_and_the_bib_is_an_input(workspace: Workspace, route: str) -> None:
    cite(workspace)
    workspace.run(["make"], REPORT_FORMAT=route)
    done = workspace.run(["make", "--no-print-directory"], REPORT_FORMAT=route)
    assert done.returncode == 0, done.stderr
    text = pdf_to_text(workspace.pdf)
    assert "As Vaswani and Shazeer (2017) and (Eckart and Young, 1936) say" in text
    assert "References" in text and "Attention is all you need" in text
    assert "The approximation of one matrix by another of lower rank" in text
    retitle(workspace)
    done = workspace.run(["make", "--no-print-directory"], REPORT_FORMAT=route)
    assert done.returncode == 0, done.stderr
    assert "Attention is not all you need" in pdf_to_text(workspace.pdf)


def test_an_interrupted_compile_with_a_bibliography_recovers(workspace: Workspace) -> None:
    cite(workspace)
    workspace.make()
    build = workspace.layout.build
    # As a killed compile leaves them: its marker and a half-written .bbl.
    (build / "submission.bbl").write_text("\\begin{thebibliography}{9}\n\\bibitem[Half", encoding="utf-8")
    for again, route in enumerate(("off", "format")):
        (build / ".submission.compiling").touch()
        workspace.edit("templates/ex2.tex", "say", "say" + " again" * (again + 1))  # so that it compiles
        done = workspace.run(["make", "--no-print-directory"], REPORT_FORMAT=route)
        assert done.returncode == 0, done.stderr
        assert "Vaswani and Shazeer (2017)" in pdf_to_text(workspace.pdf)


@pytest.mark.parametrize("route", ["format", "off"])
def test_an_undefined_key_is_an_error_at_its_line_with_the_closest_keys(
    workspace: Workspace, route: str
) -> None:
    workspace.make()
    line = cite(workspace, r"\citet{vaswani2071}")
    path, at, said = first_error(failing(workspace, REPORT_FORMAT=route))
    assert (path, at) == ("templates/ex2.tex", line)
    assert said == r"error: \cite{vaswani2071}: no entry vaswani2071 in templates/references.bib"
    assert "did you mean vaswani2017?" in failing(workspace, REPORT_FORMAT=route)


def test_a_citation_without_a_bibliography_says_so(workspace: Workspace) -> None:
    workspace.edit("templates/ex2.tex", CITING, r"\citep{vaswani2017} " + CITING)
    path, at, said = first_error(failing(workspace))
    assert (path, at, said) == ("templates/ex2.tex", 12, r"error: \cite{vaswani2017}: no bibliography")


@pytest.mark.parametrize("route", ["format", "off"])
def test_a_bib_syntax_error_is_an_error_at_its_line(workspace: Workspace, route: str) -> None:
    cite(workspace)
    workspace.edit("templates/references.bib", "year    = {1936},", "year    = {1936}")
    path, at, said = first_error(failing(workspace, REPORT_FORMAT=route))
    assert (path, at) == ("templates/references.bib", 13)
    assert said.startswith("error: bibtex: I was expecting a `,' or a `}'")


def test_a_missing_bib_is_an_error_where_the_bibliography_names_it(workspace: Workspace) -> None:
    line = cite(workspace)
    (workspace.root / "templates" / "references.bib").rename(workspace.root / "templates" / "refs.bib")
    path, at, said = first_error(failing(workspace))
    lines = (workspace.root / "templates" / "ex2.tex").read_text(encoding="utf-8").splitlines()
    assert (path, at, said) == ("templates/ex2.tex", len(lines), "error: no database file references.bib")
    assert line < at


def test_the_bibliography_tools_are_listed() -> None:
    from pipeline.tex_setup import required_packages

    assert {"bibtex", "natbib.sty", "plainnat.bst"} <= set(required_packages()["texlive-latex-base"])


def test_a_sheets_references_and_own_packages_stay_with_it() -> None:
    """The next sheet (make new-sheet) starts without this one's .bib and .sty."""
    from pipeline.new_sheet import is_content

    assert is_content(PurePath("templates/references.bib"))
    assert is_content(PurePath("templates/mymacros.sty"))
    assert not is_content(PurePath("templates/preamble.tex"))
    assert not is_content(PurePath("templates/standalone"))


def test_make_watch_cites_and_follows_the_bib(workspace: Workspace) -> None:
    from test_fresh import start_watch, stop_watch, wait_for

    watch = start_watch(workspace)
    try:
        wait_for(lambda: list(workspace.layout.build.glob(".warm-*")), seconds=60)  # built once
        cite(workspace)
        wait_for(lambda: "Vaswani and Shazeer (2017)" in pdf_to_text(workspace.pdf), seconds=60)
        retitle(workspace)
        wait_for(lambda: "Attention is not all you need" in pdf_to_text(workspace.pdf), seconds=60)
    finally:
        stop_watch(workspace, watch)


@pytest.mark.parametrize("route", ["format", "off"])
def test_a_bib_not_saved_as_utf8_is_an_error_at_its_line(workspace: Workspace, route: str) -> None:
    """bibtex copies a .bib's bytes into the document: a Latin-1 ü would reach pdfLaTeX
    as a byte no UTF-8 text has."""
    cite(workspace)
    bib = workspace.root / "templates" / "references.bib"
    bib.write_bytes(bib.read_bytes().replace(b"Shazeer, Noam", "Schüßler, Noam".encode("latin-1")))
    done = workspace.run(["make", "--no-print-directory"], REPORT_FORMAT=route)
    assert done.returncode != 0
    assert first_error(done.stderr) == ("templates/references.bib", 3, "error: not UTF-8 text (byte 0xFC)")
