"""`make mutants`: would the tests notice a wrong line of the engine's core, or a wrong
value in a sentence of the answers? Each part changes one thing at a time (a mutant) and
runs the tests; a mutant no test fails on survives, and names something no test checks.

- **The core** (number formatting and escaping, stamps, report.toml, paths): mutmut
  changes one operator, constant or argument at a time and runs the fast in-process
  tests that pyproject.toml's [tool.mutmut] names (a few minutes).
- **The templates**: in each exercise template, a mutant swaps two printed values
  (`\\VAR{...}`) of one paragraph (or list item), or prints a neighbour's value instead
  of one. The copy is built with make and this sheet's tests (tests/sheet) run, stopping
  at the first failure. A mutant that builds and passes them all survives: no test reads
  that value in its place. A mutant whose rendered text is the original's (two values
  that print alike) is not counted. At most --limit of them run, picked by a fixed seed
  in turn from each template, so a run takes minutes and two runs on the same templates
  try the same mutants.

Both parts work in a temporary copy of the project, so a run stopped half way leaves no
mutant in the project's own files. Each survivor is printed as `path:line: survived: what
was changed`, then each part's score (killed of all counted).
"""

import argparse
import ast
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from pipeline.paths import PROJECT, TOOL_FILES, Layout

TEMPLATE_LIMIT = 40  # 4 to 5 s each (a LaTeX pass, the sheet tests up to a failure): 3 minutes
STEP_TIMEOUT = 600  # seconds: a mutant whose build or tests take longer hangs them, and is killed
SEED = 20251205  # which template mutants a limited run picks; fixed, so runs compare
NOT_COPIED = shutil.ignore_patterns(*TOOL_FILES)
# Lines that start a paragraph of their own, though no blank line comes before them.
STARTS_A_PARAGRAPH = re.compile(r"\s*\\(item|task|section|plot|scan|valuetable)(?![A-Za-z])")
# mutmut's verdicts that mean a test failed (a test that hangs on a mutant fails it too).
KILLED = {"killed", "timeout"}


def say(message: str) -> None:
    print(f"[mutants] {message}", flush=True)


def environment() -> dict[str, str]:
    """This environment without what the calling make passes down (its job slots do not
    reach a make in the copy) nor what a calling pytest tells its own workers."""
    inherited = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    return {k: v for k, v in os.environ.items() if k not in inherited and not k.startswith("PYTEST_")}


@contextmanager
def project_copy(*, with_build: bool) -> Iterator[Layout]:
    """A temporary copy of the project, removed afterwards; its .venv is this one's (a link).
    `with_build` keeps report/ with its stamps, so a build there only redoes what changed."""
    root = PROJECT.root

    def left_out(folder: str, names: list[str]) -> set[str]:
        skipped = set(NOT_COPIED(folder, names))
        if Path(folder) == root and not with_build:
            skipped.add("report")
        # A temporary folder inside the project (TMPDIR=./tmp) would copy the copy into itself.
        return skipped | {name for name in names if Path(folder, name) == Path(temporary).resolve()}

    with tempfile.TemporaryDirectory(prefix="mutants-") as temporary:
        copy = Path(temporary) / "project"
        shutil.copytree(root, copy, ignore=left_out, symlinks=True)
        (copy / ".venv").symlink_to(root / ".venv")
        yield Layout(copy)


def python_of(copy: Layout) -> str:
    """The copy's Python: this .venv's, through the copy's link to it, so that it imports
    the copy's code (.venv finds the project relative to itself)."""
    return str(copy.root / ".venv" / "bin" / "python")


def run(layout: Layout, command: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """`command` in the copy, as a user's shell would run it there, capturing its output."""
    return subprocess.run(
        command,
        cwd=layout.root,
        env=environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


# The core: mutmut


@dataclass(frozen=True)
class Score:
    """How many of the counted mutants a test killed, and how many were not counted."""

    killed: int
    total: int
    alike: int = 0  # template mutants that print as the original does

    def __str__(self) -> str:
        share = f" ({100 * self.killed / self.total:.0f}%)" if self.total else ""
        uncounted = f"; {self.alike} more print as the original and are not counted" if self.alike else ""
        return f"{self.killed} of {self.total} mutants killed{share}{uncounted}"


def mutate_core() -> Score | None:
    """Run mutmut over the core in a copy; print each mutant no test killed. None if
    mutmut could not run (its log's end is printed)."""
    with project_copy(with_build=False) as copy:
        python = python_of(copy)
        say("core: mutmut over the modules pyproject.toml's [tool.mutmut] names (a few minutes)")
        done = run(copy, [python, "-m", "mutmut", "run"])
        if done.returncode != 0:
            say(f"core: mutmut stopped (exit {done.returncode}):")
            print((done.stdout + done.stderr)[-3000:], file=sys.stderr)
            return None
        listed = run(copy, [python, "-m", "mutmut", "results", "--all", "true"]).stdout
        verdicts = dict(re.findall(r"^\s*(\S+): (.+)$", listed, re.MULTILINE))
        survivors = [
            core_survivor(copy, name, verdict, run(copy, [python, "-m", "mutmut", "show", name]).stdout)
            for name, verdict in verdicts.items()
            if verdict not in KILLED
        ]
        for survivor in sorted(survivors, key=lambda said: (said.split(":")[0], int(said.split(":")[1]))):
            print(survivor, flush=True)
        return Score(sum(verdict in KILLED for verdict in verdicts.values()), len(verdicts))


def core_survivor(copy: Layout, name: str, verdict: str, diff: str) -> str:
    """`path:line: verdict: old -> new` for the mutant `name` (as mutmut names it:
    `pipeline.texify.x_format_number__mutmut_12`, `pipeline.config.xǁLinesǁof__mutmut_3`)
    from its diff, whose hunk numbers lines from the start of the function."""
    lines = diff.splitlines()
    module = name.rsplit(".", 1)[0].replace(".", "/") + ".py"
    shown = next((line[4:].strip() for line in lines if line.startswith("--- ")), module)
    old = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
    new = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
    within = 1  # the changed line, counted from the function's first
    hunk = next((index for index, line in enumerate(lines) if line.startswith("@@ -")), None)
    if hunk is not None:
        removed = next(
            (index for index, line in enumerate(lines) if index > hunk and line.startswith("-")), hunk
        )
        within = int(re.findall(r"\d+", lines[hunk])[0]) + removed - hunk - 1
    function = re.sub(r"__mutmut_\d+$", "", name.rsplit(".", 1)[-1]).removeprefix("x_").removeprefix("xǁ")
    line = line_of(copy.root / shown, function.split("ǁ"), within, old[0] if old else "")
    return f"{shown}:{line}: {verdict}: {' / '.join(old)} -> {' / '.join(new)}"


def line_of(path: Path, qualified: list[str], within: int, text: str) -> int:
    """The line in the module at `path` of the `within`-th line of the function
    `qualified` ([name] or [class, name]); of the lines in it that read `text`, the one
    nearest to it (mutmut numbers from a function's decorators or its def)."""
    source = path.read_text(encoding="utf-8")
    scope: list[ast.stmt] = ast.parse(source).body
    found: ast.FunctionDef | ast.ClassDef | None = None
    for part in qualified:
        found = next(
            (n for n in scope if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == part), None
        )
        if found is None:
            return within
        scope = found.body
    assert found is not None and found.end_lineno is not None
    first = min([found.lineno, *(decorator.lineno for decorator in found.decorator_list)])
    guess = first + within - 1
    lines = source.splitlines()
    reading = [n for n in range(first, found.end_lineno + 1) if lines[n - 1].strip() == text]
    return min(reading, key=lambda n: abs(n - guess)) if reading else guess


# The templates: swapped and neighbouring values


@dataclass(frozen=True)
class Value:
    """A printed value, `\\VAR{expression}`, at `start`..`end` of its template's text."""

    start: int
    end: int
    line: int
    expression: str

    @property
    def written(self) -> str:
        return f"\\VAR{{{self.expression}}}"


@dataclass(frozen=True)
class Mutant:
    """One template with some of its values printing other expressions."""

    template: str  # as the project writes it: templates/ex1.tex
    line: int
    edits: tuple[tuple[Value, str], ...]  # each value and the expression it prints instead
    change: str  # in words

    def apply(self, text: str) -> str:
        for value, expression in sorted(self.edits, key=lambda edit: -edit[0].start):
            text = text[: value.start] + f"\\VAR{{{expression}}}" + text[value.end :]
        return text


def printed_values(text: str) -> list[Value]:
    """Every `\\VAR{...}` of a template, in order (braces inside the expression balanced)."""
    values = []
    for opening in re.finditer(r"\\VAR\{", text):
        depth, end = 1, opening.end()
        while depth and end < len(text):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        if depth == 0:
            line = text.count("\n", 0, opening.start()) + 1
            values.append(Value(opening.start(), end, line, text[opening.end() : end - 1].strip()))
    return values


def paragraphs(text: str, values: list[Value]) -> list[list[Value]]:
    """The values grouped by the paragraph they print in: a paragraph ends at a blank line,
    and a list's item, a task's heading or a figure, table or scan starts one of its own."""
    paragraph_of_line = [0]
    for line in text.splitlines():
        paragraph_of_line.append(
            paragraph_of_line[-1] + bool(not line.strip() or STARTS_A_PARAGRAPH.match(line))
        )
    groups: dict[int, list[Value]] = {}
    for value in values:
        groups.setdefault(paragraph_of_line[value.line], []).append(value)
    return list(groups.values())


def template_mutants(template: str, text: str) -> list[Mutant]:
    """Every mutant of one template: each two values of a paragraph that print different
    expressions swapped, and each value printing its nearest other expression instead
    (the next one in the template, or for the last, the one before)."""
    values = printed_values(text)
    mutants = [
        Mutant(
            template,
            a.line,
            ((a, b.expression), (b, a.expression)),
            f"swapped {a.written} and {b.written} (line {b.line})",
        )
        for group in paragraphs(text, values)
        for a, b in combinations(group, 2)
        if a.expression != b.expression
    ]
    for index, value in enumerate(values):
        others = [*values[index + 1 :], *reversed(values[:index])]
        neighbour = next((other for other in others if other.expression != value.expression), None)
        if neighbour is not None:
            change = f"printed {neighbour.written} (line {neighbour.line}) in place of {value.written}"
            mutants.append(Mutant(template, value.line, ((value, neighbour.expression),), change))
    return mutants


def pick(mutants: list[Mutant], limit: int) -> list[Mutant]:
    """At most `limit` of the mutants, in the templates' order: drawn with a fixed seed,
    in turn from each template, so an exercise with few values gets its share."""
    draw = random.Random(SEED)
    by_template: dict[str, list[Mutant]] = {}
    for mutant in mutants:
        by_template.setdefault(mutant.template, []).append(mutant)
    queues = [draw.sample(group, len(group)) for _, group in sorted(by_template.items())]
    chosen: list[Mutant] = []
    while len(chosen) < min(limit, len(mutants)):
        chosen += [queue.pop() for queue in queues if queue][: limit - len(chosen)]
    return sorted(chosen, key=lambda mutant: (mutant.template, mutant.line, mutant.change))


def sheet_tests(copy: Layout) -> subprocess.CompletedProcess:
    """This sheet's tests in the copy, stopping at the first failure."""
    command = [python_of(copy), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "tests/sheet"]
    return run(copy, command, timeout=STEP_TIMEOUT)


def first_failure(said: str) -> str:
    """The first test pytest's summary names as failed (-ra lists them), to say what killed."""
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", said, re.MULTILINE)
    return found.group(1) if found else "the sheet's tests"


def mutate_templates(limit: int) -> Score | None:
    """Build and test each picked template mutant in a copy; print each survivor. None if
    the copy does not build, or its tests fail, without any mutant."""
    with project_copy(with_build=True) as copy:
        build = ["make", "--no-print-directory"]
        sources = {copy.shown(path): path.read_text(encoding="utf-8") for path in exercise_templates(copy)}
        candidates = [mutant for name, text in sources.items() for mutant in template_mutants(name, text)]
        chosen = pick(candidates, limit)
        say(f"templates: {len(chosen)} of {len(candidates)} mutants, each built and run against tests/sheet")
        built = run(copy, build)
        if built.returncode != 0:
            say("templates: the project does not build as it is; fix that first:")
            print(built.stdout[-2000:] + built.stderr[-2000:], file=sys.stderr)
            return None
        tested = sheet_tests(copy)
        if tested.returncode not in (0, 5):  # 5: tests/sheet holds no test
            say(f"templates: {first_failure(tested.stdout)} fails without any mutant; fix that first")
            return None
        rendered = {name: rendered_text(copy, name) for name in sources}
        verdicts = []
        for number, mutant in enumerate(chosen, start=1):
            verdicts.append(verdict := try_mutant(copy, mutant, sources, rendered, build))
            if verdict == "survived":
                print(f"{mutant.template}:{mutant.line}: survived: {mutant.change}", flush=True)
            else:
                say(f"templates {number}/{len(chosen)}: {verdict or 'prints as the original: not counted'}")
        counted = [verdict for verdict in verdicts if verdict is not None]
        return Score(sum(v != "survived" for v in counted), len(counted), len(verdicts) - len(counted))


def exercise_templates(layout: Layout) -> list[Path]:
    """templates/exN.tex: the answers, where the sheet's values print."""
    return [layout.templates_dir / f"{name}.tex" for name in layout.exercises()]


def rendered_text(copy: Layout, template: str) -> str:
    """The template as the last build rendered it (report/build/<name>.tex)."""
    return (copy.build / Path(template).name).read_text(encoding="utf-8")


def try_mutant(
    copy: Layout, mutant: Mutant, sources: dict[str, str], rendered: dict[str, str], build: list[str]
) -> str | None:
    """'survived', what killed the mutant, or None if it renders as the original does."""
    for name, text in sources.items():  # the last mutant's template back as it was
        path = copy.root / name
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    (copy.root / mutant.template).write_text(mutant.apply(sources[mutant.template]), encoding="utf-8")
    try:
        built = run(copy, build, timeout=STEP_TIMEOUT)
        if built.returncode != 0:
            return "killed by the build (it fails)"
        if rendered_text(copy, mutant.template) == rendered[mutant.template]:
            return None
        tested = sheet_tests(copy)
    except subprocess.TimeoutExpired as late:
        return f"killed: {' '.join(map(str, late.cmd))} ran longer than {STEP_TIMEOUT} s"
    return "survived" if tested.returncode in (0, 5) else f"killed by {first_failure(tested.stdout)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["core", "templates"], help="run one part")
    parser.add_argument("--limit", type=int, default=TEMPLATE_LIMIT, help="template mutants at most")
    options = parser.parse_args(argv)
    parts: dict[str, Callable[[], Score | None]] = {
        "core": mutate_core,
        "templates": lambda: mutate_templates(options.limit),
    }
    try:
        scores = {name: part() for name, part in parts.items() if options.only in (None, name)}
    except KeyboardInterrupt:  # Ctrl-C: the copies are gone with their mutants, no score
        say("stopped; the project's own files were never changed")
        return 130
    for name, score in scores.items():
        say(f"{name}: {score if score is not None else 'could not run'}")
    return 1 if None in scores.values() else 0


if __name__ == "__main__":
    sys.exit(main())
