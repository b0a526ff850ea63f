"""Plain-words error reports: a problem in a rendered .tex file or in a template,
traced back to the template file and line the user edits.

Every template renders to its own file (templates/ex1.tex -> report/build/ex1.tex), so a
TeX error's file names the template; its line is found by matching the rendered line
against the template's lines, with each `\\VAR{...}` standing for any text.
"""

import difflib
import os
import re
import shutil
import subprocess
import traceback
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import jinja2

from pipeline.errors import BuildError, warning
from pipeline.paths import PROJECT
from pipeline.tex_setup import required_packages

OVERFULL_LIMIT_PT = 1.0
# pdfTeX's fwrite() failing without a reason, with less free space than this: a full disk.
FULL_BELOW = 1 << 20
SPLIT_IT = (
    "make it smaller, or split it (a table into two, a display into several) so that each part fits a page"
)
# What templates/preamble.tex logs at each page: its number, the file and line being read.
SHIPPED = re.compile(r"^<shipout (\d+) ([^:\n]*):(\d+)>$", re.MULTILINE)
NEARBY = 40  # rendered lines to look back for one a template line produced

# TeX's terse messages, and what they usually mean in a template.
HINTS = {
    "Undefined control sequence": "an unknown command (a typo, or a macro whose package is not loaded)",
    "Missing $ inserted": "math outside math mode (wrap it in $...$), or a _ or ^ in text (write \\_)",
    "Runaway argument": "a { without its } (the argument never ended)",
    "File ended while scanning": "a { without its } (the file ended inside an argument)",
    "Extra }, or forgotten": "a } without its {, or a $ left open",
    "Missing } inserted": "a { without its }, or a $ left open",
    "Extra alignment tab": "more & in a table row than the table has columns",
    "Misplaced alignment tab character &": "a bare & in text (write \\&)",
    "Environment": "\\begin{...} and \\end{...} do not match",
}


@dataclass(frozen=True)
class Place:
    """A line in a file the user edits (or, failing that, in the rendered file)."""

    path: Path
    line: int | None
    text: str = ""


def _template_line_pattern(line: str) -> re.Pattern[str] | None:
    """A regex for what a template line renders to (values and statements match anything)."""
    pieces = re.split(r"\\(?:VAR|BLOCK)\{(?:[^{}]|\{[^{}]*\})*\}", line.strip())
    if not "".join(pieces).strip():
        return None
    return re.compile(".*?".join(re.escape(piece) for piece in pieces))


def template_place(rendered: Path, line: int) -> Place:
    """The template line that produced line `line` of the rendered file `rendered`. TeX
    often notices a problem only where a paragraph or an argument ends, on a line no
    template line produced (a blank one, say): then the nearest line above it that one did."""
    template = PROJECT.templates_dir / rendered.name
    rendered_lines = rendered.read_text(encoding="utf-8", errors="replace").splitlines()
    if template.exists():
        template_lines = template.read_text(encoding="utf-8").splitlines()
        for number in range(min(line, len(rendered_lines)), max(line - NEARBY, 0), -1):
            if found := _template_line(template_lines, rendered_lines, number):
                return Place(template, found, template_lines[found - 1])
    target = rendered_lines[line - 1].strip() if 0 < line <= len(rendered_lines) else ""
    return Place(rendered, line, target)


def _template_line(template_lines: list[str], rendered_lines: list[str], line: int) -> int | None:
    """The template line that renders to rendered line `line`; of equal matches, the one
    at the same relative height in the file."""
    target = rendered_lines[line - 1].strip()
    candidates = [
        number
        for number, text in enumerate(template_lines, start=1)
        if target and (pattern := _template_line_pattern(text)) and pattern.fullmatch(target)
    ]
    expected = line * len(template_lines) / max(len(rendered_lines), 1)
    return min(candidates, key=lambda number: abs(number - expected)) if candidates else None


def debian_package_for(file: str) -> str | None:
    """The Debian package debian-packages.txt names as providing `file`, if any."""
    return next((package for package, files in required_packages().items() if file in files), None)


def explain_missing_file(message: str) -> str:
    """What to do about `File 'x' not found`: a package to install, or a figure to make."""
    missing = re.search(r"[Ff]ile `([^']+)' not found", message)  # `Encoding file ...' too
    if not missing:
        return ""
    name = missing.group(1)
    if name.endswith((".sty", ".cls", ".tfm", ".fd", ".def")):
        package = debian_package_for(name)
        if package:
            return f"{name} comes with the Debian package {package}: sudo apt-get install {package}"
        return (
            f"no {name} in templates/ (your own packages go there, or in a subfolder) nor in TeX Live; "
            f"if it is a LaTeX package, `apt-file search {name}` names the Debian package that has it"
        )
    if name.endswith(".tex"):
        return f"no {name} in templates/: your own parts go in a subfolder, templates/{name}, say"
    return (
        f"no figure or file named {name}: a figure made by hand belongs in templates/figures/ "
        f"({name}.pdf, .png or .jpg); one a notebook saves with save_figure is report/figures/{name}.pdf "
        "(check the name, or run `make figures`)"
    )


def _file_being_read(log_so_far: str, build_dir: Path) -> Path:
    """The rendered file TeX was reading at the end of `log_so_far`: the last one opened.
    (Our templates are \\input one after another at the top level, so this is exact.)"""
    opened = re.findall(r"\((?:\./)?([\w-]+\.tex)", log_so_far)
    return build_dir / (opened[-1] if opened else "submission.tex")


def _runaway_argument(before: list[str], build_dir: Path) -> Place | None:
    """Where an argument that never ended starts: TeX only names the file it ran out in,
    but prints the argument's first words after `Runaway argument?`."""
    if "Runaway argument?" not in before[:-1]:
        return None
    words = before[before.index("Runaway argument?") + 1].split(r" \par", 1)[0].lstrip("{").split()
    rendered = {
        path: path.read_text(encoding="utf-8").splitlines() for path in sorted(build_dir.glob("*.tex"))
    }
    # The argument may run over several lines: look for as many of its first words as one holds.
    for count in range(min(len(words), 8), 0, -1):
        start = " ".join(words[:count])
        for path, lines in rendered.items():
            for number, line in enumerate(lines, start=1):
                if len(start) >= 6 and start in line:
                    return template_place(path, number)
    return None


def latex_error_report(log: str, build_dir: Path) -> BuildError:
    """The first error of a LaTeX log in plain words, at the template place it comes from."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        picture = re.match(r"^!pdfTeX error: \S+ \(file (.+?)\): (.+)$", line)
        if picture and (build_dir / picture.group(1)).resolve().parent != build_dir.resolve():
            return unreadable_picture(build_dir / picture.group(1), picture.group(2))  # not the PDF it writes
        if failed := re.match(r"^!pdfTeX error: .*\((.+)\)$", line):  # the system refused a write
            return BuildError(f"pdfTeX could not write the PDF: {failed.group(1).lower()}", build_dir)
        if line.startswith("!pdfTeX error: ") and line.endswith("fwrite() failed"):  # it gave no reason
            full = shutil.disk_usage(build_dir).free < FULL_BELOW
            reason = "no space left on device" if full else "the system refused a write"
            return BuildError(f"pdfTeX could not write the PDF: {reason}", build_dir)
        located = re.match(r"^(?:\./)?(\S+?\.tex):(\d+): (.*)$", line)
        if located or line.startswith("! "):
            message = located.group(3) if located else line[2:]
            context = next((ln for ln in lines[index : index + 12] if re.match(r"^l\.\d+ ", ln)), "")
            runaway = _runaway_argument(lines[max(index - 3, 0) : index], build_dir)
            if runaway:
                place = runaway
            elif located:
                place = template_place(build_dir / located.group(1), int(located.group(2)))
            elif context:
                rendered = _file_being_read("\n".join(lines[:index]), build_dir)
                place = template_place(rendered, int(context.split()[0][2:]))
            else:
                place = Place(build_dir / "submission.tex", None)
            if (package := re.search(r"File `([^']+)\.sty' not found", message)) and (
                loaded := where_used(package.group(1))
            ):  # TeX is already past the \usepackage line when it finds the file missing
                place = loaded
            hint = next((text for key, text in HINTS.items() if message.startswith(key)), "")
            hint = explain_missing_file(message) or hint
            if typed := re.search(r"Unicode character (.+?) \(U\+([0-9A-F]+)\)", message):
                message, hint = unknown_character(chr(int(typed.group(2), 16))), ""
            stopped = context.split(" ", 1)[-1].strip()  # without TeX's "l.14" (a line of report/build/)
            details = [
                place.text.strip(),
                hint and f"meaning: {hint}",
                stopped and f"TeX stopped at: {stopped}",
            ]
            return BuildError(message, place.path, place.line, details)
    return BuildError("LaTeX stopped without naming an error")


def unknown_character(char: str) -> str:
    """What to type instead of a character the document's fonts and preamble do not know:
    its LaTeX command, as unicode-math's table of every math character names it."""
    code = f"U+{ord(char):04X}"
    name = f"{code} {unicodedata.name(char, '')}".strip()
    command = math_command(char)
    if command:
        return f"the PDF cannot show {char} ({name}) as typed: write {command} (in math mode) instead"
    return f"the PDF cannot show {char} ({name}): no font of the document has it"


def math_command(char: str) -> str | None:
    """The LaTeX command for a math character, from unicode-math's table (TeX Live has it
    wherever the document builds: texlive-latex-recommended)."""
    table = (
        shutil.which("kpsewhich")
        and subprocess.run(
            ["kpsewhich", "unicode-math-table.tex"], capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    if not table:
        return None
    pattern = r'^\\UnicodeMathSymbol\{"0*' + f"{ord(char):X}" + r"\}\{(\\\w+)\s*\}"
    found = re.search(pattern, Path(table).read_text(encoding="utf-8"), re.MULTILINE)
    return found.group(1) if found else None


def unreadable_picture(file: Path, reason: str) -> BuildError:
    """A picture pdfTeX could not read (a PDF whose insides are broken, say), which stops
    it without a line: an error at the template line that places it by name."""
    file = Path(os.path.normpath(file))
    used = where_used(file.stem) or where_used(file.name)
    return BuildError(
        f"{PROJECT.shown(file)} cannot be read: {reason}",
        used.path if used else file,
        used.line if used else None,
        [used.text.strip() if used else "", "export or scan it again"],
    )


def undefined_references(log: str) -> list[str]:
    """Labels the final pass could not resolve."""
    found = re.findall(r"(?:Reference|Hyper reference) `([^']+)' on page \d+ undefined", log)
    return sorted(set(found))


def bibliography_files(build_dir: Path, main: str) -> list[Path]:
    """The .bib files the document's `\\bibliography{...}` names, as found in templates/
    (where bibtex looks for them, latex_environment's BIBINPUTS)."""
    aux = build_dir / f"{main}.aux"
    text = aux.read_text(encoding="utf-8", errors="replace") if aux.exists() else ""
    names = [name.strip() for found in re.findall(r"\\bibdata\{([^}]*)\}", text) for name in found.split(",")]
    return [path for name in names if (path := _own_file(name if name.endswith(".bib") else name + ".bib"))]


def _own_file(name: str) -> Path | None:
    """templates/<name>, or the first templates/<subfolder>/<name>."""
    direct = PROJECT.templates_dir / name
    return direct if direct.is_file() else next(iter(sorted(PROJECT.templates_dir.rglob(name))), None)


def bibliography_error(build_dir: Path, main: str) -> BuildError | None:
    """What stopped bibtex, from its log (<main>.blg): an error in a .bib file at its
    line there, a .bib or style that is not there at the template line that names it."""
    blg = build_dir / f"{main}.blg"
    log = blg.read_text(encoding="utf-8", errors="replace") if blg.exists() else ""
    missing = re.search(r"^I couldn't open (database|style) file (.+?)(\.bib|\.bst)?$", log, re.MULTILINE)
    if missing:
        kind, name = missing.group(1), missing.group(2)
        place = where_used(name) or Place(build_dir / "submission.tex", None)
        hint = (
            f"a .bib file belongs in templates/ ({name}.bib)"
            if kind == "database"
            else "natbib's styles are plainnat, abbrvnat and unsrtnat"
        )
        message = f"no {kind} file {name}{'.bib' if kind == 'database' else '.bst'}"
        return BuildError(message, place.path, place.line, [place.text.strip(), hint])
    if at_line := re.search(r"^(.*?)---line (\d+) of file (.+)$", log, flags=re.MULTILINE):
        bib = _own_file(at_line.group(3).strip())
        line = int(at_line.group(2))
        text = bib.read_text(encoding="utf-8", errors="replace").splitlines() if bib else []
        shown = text[line - 1].strip() if 0 < line <= len(text) else ""
        message = at_line.group(1).strip() or "bibtex cannot read this entry"
        return BuildError(f"bibtex: {message}", bib or Path(at_line.group(3)), line, [shown])
    return None


def undefined_citations(log: str, build_dir: Path, main: str) -> list[BuildError]:
    """Citations of keys no .bib entry has (or with no `\\bibliography` at all), at the
    template line that cites them, with the keys that come closest."""
    keys = list(dict.fromkeys(re.findall(r"Citation `([^']+)' on page \d+ undefined", log)))  # as cited
    if not keys:
        return []
    bibs = bibliography_files(build_dir, main)
    entry = re.compile(r"^\s*@\s*\w+\s*[{(]\s*([^,\s]+)\s*,", re.MULTILINE)
    entries = [key for bib in bibs for key in entry.findall(bib.read_text(encoding="utf-8", errors="ignore"))]
    problems = []
    for key in keys:
        used = where_used(key)
        where = " and ".join(PROJECT.shown(bib) for bib in bibs)
        message = f"\\cite{{{key}}}: " + (f"no entry {key} in {where}" if bibs else "no bibliography")
        close = difflib.get_close_matches(key, entries, n=3)
        hint = (
            f"did you mean {' or '.join(close)}?"
            if close
            else "the entries are templates/*.bib's, named by \\bibliography{references} where the list goes"
        )
        place = used or Place(build_dir / "submission.tex", None)
        problems.append(BuildError(message, place.path, place.line, [place.text.strip(), hint]))
    return problems


def ambiguous_targets(log: str, build_dir: Path) -> list[BuildError]:
    """Two link targets of one name, which TeX only warns about: a \\label defined twice,
    or two destinations pdfTeX keeps only the first of. A link to either would land on
    the first, whatever page its text names."""
    problems = []
    for label in sorted(set(re.findall(r"Label `([^']+)' multiply defined", log))):
        lines = _lines_with(r"\\label\{" + re.escape(label) + r"\}")
        second = (
            lines[1] if len(lines) > 1 else lines[0] if lines else Place(build_dir / "submission.tex", None)
        )
        problems.append(
            BuildError(f"the label {label} is defined twice", second.path, second.line, [second.text.strip()])
        )
    for match in re.finditer(r"destination with the same identifier \(name\{([^}]+)\}\)", log):
        context = re.search(r"^l\.(\d+) ", log[match.end() : match.end() + 400], flags=re.MULTILINE)
        rendered = _file_being_read(log[: match.start()], build_dir)
        place = template_place(rendered, int(context.group(1))) if context else Place(rendered, None)
        message = f"two link targets are named {match.group(1)}; links to the second land on the first"
        problems.append(BuildError(message, place.path, place.line, [place.text.strip()]))
    return problems


def missing_targets(log: str, build_dir: Path) -> list[BuildError]:
    """Links to a target no heading, label or anchor defines, which pdfTeX only warns
    about (and points at the page's top): at the rendered line that names the target,
    traced to its template line."""
    problems = []
    for name in dict.fromkeys(re.findall(r"name\{([^}]+)\} has been referenced but does not exist", log)):
        place = next(
            (
                template_place(path, number)
                for path in sorted(build_dir.glob("*.tex"))
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                if "{" + name + "}" in line
            ),
            Place(build_dir / "submission.tex", None),
        )
        message = f"a link to {name}, a target the document does not have"
        problems.append(BuildError(message, place.path, place.line, [place.text.strip()]))
    return problems


def _lines_with(pattern: str) -> list[Place]:
    """Every template line matching `pattern`."""
    found = re.compile(pattern)
    return [
        Place(template, number, line)
        for template in PROJECT.templates()
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), start=1)
        if found.search(line)
    ]


def where_used(name: str) -> Place | None:
    """The first template line with `name` in braces, alone or in a list:
    `\\ref{fig:x}`, `\\coderef{1(b)}`, `\\usepackage{amsmath, name}`."""
    places = _lines_with(r"[{,]\s*" + re.escape(name) + r"\s*[,}]")
    return places[0] if places else None


def overfull_boxes(log: str, build_dir: Path) -> list[str]:
    """Overfull boxes wider than OVERFULL_LIMIT_PT, as warnings at their template lines."""
    warnings = []
    for match in re.finditer(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)[^\n]*?lines? (\d+)", log):
        if float(match.group(1)) <= OVERFULL_LIMIT_PT:
            continue
        place = template_place(_file_being_read(log[: match.start()], build_dir), int(match.group(2)))
        message = f"a line sticks out {match.group(1)} pt into the margin"
        warnings.append(warning(place.path, place.line, message, [place.text.strip()]))
    return warnings


def page_overflows(log: str, build_dir: Path) -> list[BuildError]:
    """What runs off the bottom of a page (a table, a display or a box taller than the
    space left, a float larger than the page), which TeX only warns about while the PDF
    shows it cut off or over the page number: errors at the template line where what
    overfills a page ends (TeX makes a page once it reads the line after it, which
    templates/preamble.tex logs at each page), or where the float ends."""
    problems = []
    too_tall = r"Overfull \\vbox \((\d+(?:\.\d+)?)pt too high\) has occurred while \\output is active"
    for match in re.finditer(too_tall, log):
        if float(match.group(1)) <= OVERFULL_LIMIT_PT:
            continue
        shipped = SHIPPED.search(log, match.end())
        if not shipped:
            continue
        page, rendered, line = shipped.group(1), shipped.group(2) or "submission.tex", int(shipped.group(3))
        place = template_place(build_dir / rendered, max(line - 1, 1))
        height = float(match.group(1))
        message = f"page {page} is {height:.1f} pt taller than the text area: its foot runs off the page"
        problems.append(BuildError(message, place.path, place.line, [place.text.strip(), SPLIT_IT]))
    for match in re.finditer(r"Float too large for page by (\d+(?:\.\d+)?)pt on input line (\d+)", log):
        place = template_place(_file_being_read(log[: match.start()], build_dir), int(match.group(2)))
        message = (
            f"a float is {float(match.group(1)):.1f} pt taller than the page: its foot runs off the page"
        )
        problems.append(BuildError(message, place.path, place.line, [place.text.strip(), SPLIT_IT]))
    return problems


def published_names(context: dict) -> list[str]:
    """Every name a template can print: `ex2.count`, `submission.course`, ..."""
    return [
        f"{name}.{key}" if isinstance(value, dict) else name
        for name, value in context.items()
        for key in (value if isinstance(value, dict) else [name])
    ]


def template_error(error: Exception, context: dict | None = None) -> BuildError:
    """An error while rendering (Jinja's, or a filter's) at the template's path and line,
    with the line itself, and for an undefined name the published names closest to it."""
    detail = error.message if isinstance(error, jinja2.TemplateError) and error.message else error
    if isinstance(error, jinja2.TemplateNotFound):  # its message names the folder from the machine's root
        detail = f"{error.name} is not in {PROJECT.shown(PROJECT.templates_dir)}/"
    message = f"{type(error).__name__}: {detail}"
    line: int | None
    if isinstance(error, jinja2.TemplateSyntaxError) and error.filename:
        path, line = Path(error.filename), error.lineno
    else:
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if frame.filename.startswith(str(PROJECT.templates_dir))
        ]
        if not frames:
            return BuildError(message)
        path, line = Path(frames[-1].filename), frames[-1].lineno
    text = path.read_text(encoding="utf-8").splitlines()[line - 1] if line else ""
    details = [text.strip()]
    missing = re.search(r"has no attribute '([^']+)'|'([^']+)' is undefined", message)
    if isinstance(error, jinja2.UndefinedError) and context and missing:
        name = missing.group(1) or missing.group(2)
        # The name as the line writes it, with its notebook: ex2.a_paramter_ratio.
        written = re.search(r"[\w.]*\b" + re.escape(name) + r"\b", text)
        names = published_names(context)
        close = difflib.get_close_matches(written.group(0) if written else name, names, n=3, cutoff=0.75)
        details.append(f"did you mean {' or '.join(close)}?" if close else "")
    return BuildError(message, path, line, details)
