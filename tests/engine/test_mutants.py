"""`make mutants` (pipeline/mutants.py): which template mutants it makes, how it names a
survivor, and, on the fixture's sheet with a sheet test planted that reads one sentence
only, that it reports a mutant of another sentence as surviving and kills the ones of the
sentence read, without touching the project's own templates.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from workspace import Workspace, checksum

from pipeline.mutants import (
    Mutant,
    Score,
    Value,
    core_survivor,
    paragraphs,
    pick,
    printed_values,
    template_mutants,
)
from pipeline.paths import Layout

TEMPLATE = r"""\task{a}{Sizes}
With $n=\VAR{ex1.n}$ tokens of width \VAR{ex1.width}, the cache holds
\VAR{ex1.n} times \VAR{ex1.width|num(2)} numbers.

\#{ a comment }
The ratio is \VAR{ {'a': ex1.ratio}['a'] }.
\begin{itemize}
  \item \VAR{ex1.first} and
    \VAR{ex1.second},
  \item \VAR{ex1.third}.
\end{itemize}
"""


def test_printed_values_are_found_with_their_lines() -> None:
    values = printed_values(TEMPLATE + r"\VAR{ex1.unclosed" + "\n")
    assert [(value.line, value.expression) for value in values] == [
        (2, "ex1.n"),
        (2, "ex1.width"),
        (3, "ex1.n"),
        (3, "ex1.width|num(2)"),
        (6, "{'a': ex1.ratio}['a']"),  # braces inside an expression are its own
        (8, "ex1.first"),
        (9, "ex1.second"),
        (10, "ex1.third"),
    ]
    assert TEMPLATE[values[0].start : values[0].end] == r"\VAR{ex1.n}"
    assert values[0].written == r"\VAR{ex1.n}"


def test_values_are_grouped_by_paragraph() -> None:
    grouped = paragraphs(TEMPLATE, printed_values(TEMPLATE))
    assert [[value.line for value in group] for group in grouped] == [[2, 2, 3, 3], [6], [8, 9], [10]]


def test_each_swap_within_a_paragraph_and_each_neighbour() -> None:
    mutants = template_mutants("templates/ex1.tex", TEMPLATE)
    assert [(mutant.line, mutant.change) for mutant in mutants] == [
        (2, r"swapped \VAR{ex1.n} and \VAR{ex1.width} (line 2)"),
        (2, r"swapped \VAR{ex1.n} and \VAR{ex1.width|num(2)} (line 3)"),
        (2, r"swapped \VAR{ex1.width} and \VAR{ex1.n} (line 3)"),
        (2, r"swapped \VAR{ex1.width} and \VAR{ex1.width|num(2)} (line 3)"),
        (3, r"swapped \VAR{ex1.n} and \VAR{ex1.width|num(2)} (line 3)"),
        (8, r"swapped \VAR{ex1.first} and \VAR{ex1.second} (line 9)"),  # not third: another item
        (2, r"printed \VAR{ex1.width} (line 2) in place of \VAR{ex1.n}"),
        (2, r"printed \VAR{ex1.n} (line 3) in place of \VAR{ex1.width}"),
        (3, r"printed \VAR{ex1.width|num(2)} (line 3) in place of \VAR{ex1.n}"),
        (3, r"printed \VAR{{'a': ex1.ratio}['a']} (line 6) in place of \VAR{ex1.width|num(2)}"),
        (6, r"printed \VAR{ex1.first} (line 8) in place of \VAR{{'a': ex1.ratio}['a']}"),
        (8, r"printed \VAR{ex1.second} (line 9) in place of \VAR{ex1.first}"),
        (9, r"printed \VAR{ex1.third} (line 10) in place of \VAR{ex1.second}"),
        (10, r"printed \VAR{ex1.second} (line 9) in place of \VAR{ex1.third}"),  # the last: the one before
    ]
    assert {mutant.template for mutant in mutants} == {"templates/ex1.tex"}


def test_a_mutant_rewrites_only_its_values() -> None:
    swap = template_mutants("templates/ex1.tex", TEMPLATE)[1]
    assert swap.apply(TEMPLATE) == TEMPLATE.replace(
        r"$n=\VAR{ex1.n}$", r"$n=\VAR{ex1.width|num(2)}$"
    ).replace(r"\VAR{ex1.n} times \VAR{ex1.width|num(2)}", r"\VAR{ex1.n} times \VAR{ex1.n}")


def test_a_limited_run_picks_the_same_mutants_every_time() -> None:
    value = Value(0, 1, 1, "x")
    mutants = [Mutant(f"templates/ex{n % 3 + 1}.tex", n, ((value, "y"),), f"change {n}") for n in range(50)]
    picked = pick(mutants, 10)
    assert len(picked) == 10 and set(picked) <= set(mutants)
    assert [pick(mutants, 10) for _ in range(3)] == [picked] * 3  # a fixed seed, not the clock's
    assert picked == sorted(picked, key=lambda mutant: (mutant.template, mutant.line))
    assert pick(mutants[:5], 10) == sorted(mutants[:5], key=lambda mutant: (mutant.template, mutant.line))
    templates = [mutant.template for mutant in picked]
    assert sorted(templates.count(name) for name in set(templates)) == [3, 3, 4]  # in turn
    few = [Mutant("templates/ex9.tex", n, ((value, "y"),), f"change {n}") for n in (1, 2)]
    assert set(few) <= set(pick(mutants + few, 10))  # an exercise with few values gets them tried


def test_a_score_says_what_was_counted() -> None:
    assert str(Score(12, 40)) == "12 of 40 mutants killed (30%)"
    assert (
        str(Score(3, 4, 2)) == "3 of 4 mutants killed (75%); 2 more print as the original and are not counted"
    )
    assert str(Score(0, 0)) == "0 of 0 mutants killed"


MODULE = '''"""A module."""


def rounded(value: float) -> float:
    if value == 0:
        return value
    return round(value, 3)


class Table:
    def of(self, key: str | None = None) -> str:
        return key or ""


def twice(flag: bool) -> str | None:
    pending = None
    if flag:
        pending = None
    return pending
'''


def test_a_core_survivor_is_named_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "numbers.py").write_text(MODULE, encoding="utf-8")
    diff = (
        "# pipeline.numbers.x_rounded__mutmut_2: survived\n--- pipeline/numbers.py\n+++ pipeline/numbers.py\n"
        "@@ -1,4 +1,4 @@\n def rounded(value: float) -> float:\n-    if value == 0:\n+    if value == 1:\n"
        "         return value\n"
    )
    said = core_survivor(Layout(tmp_path), "pipeline.numbers.x_rounded__mutmut_2", "survived", diff)
    assert said == "pipeline/numbers.py:5: survived: if value == 0: -> if value == 1:"
    diff = '--- pipeline/numbers.py\n-        return key or ""\n+        return key or "XXXX"\n'
    said = core_survivor(Layout(tmp_path), "pipeline.numbers.xǁTableǁof__mutmut_1", "no tests", diff)
    assert said == 'pipeline/numbers.py:12: no tests: return key or "" -> return key or "XXXX"'
    diff = (
        "--- pipeline/numbers.py\n+++ pipeline/numbers.py\n@@ -3,3 +3,3 @@\n     if flag:\n"
        '-        pending = None\n+        pending = ""\n     return pending\n'
    )
    said = core_survivor(Layout(tmp_path), "pipeline.numbers.x_twice__mutmut_4", "survived", diff)
    assert said == 'pipeline/numbers.py:18: survived: pending = None -> pending = ""'  # not line 16


PLANTED = '''"""Reads one sentence of the fixture's 1(b) and nothing else."""


def test_the_largest_sample(pdf_text: str) -> None:
    assert "Of n = 32 samples the largest is 1 " in pdf_text
'''


def test_a_mutant_no_sheet_test_reads_survives_and_is_reported(workspace: Workspace) -> None:
    workspace.write("tests/sheet/test_planted.py", PLANTED)
    before = {path.name: checksum(path) for path in workspace.layout.templates_dir.glob("*.tex")}
    done = workspace.run([".venv/bin/python", "-m", "pipeline.mutants", "--only", "templates"])
    assert done.returncode == 0, done.stdout + done.stderr
    survivors = re.findall(r"^(templates/\S+:\d+): survived: (.*)$", done.stdout, re.MULTILINE)
    unread = [
        # 1(a)'s formula printing 1(b)'s count builds, and no test reads 1(a)
        ("templates/ex1.tex:5", r"printed \VAR{ex1.n_samples} (line 8) in place of \VAR{ex1.derivative}"),
        ("templates/ex2.tex:17", r"swapped \VAR{ex2.mean} and \VAR{ex2.ratio} (line 19)"),  # nor 2(c)
    ]
    assert set(unread) <= set(survivors), done.stdout
    assert not [where for where, _ in survivors if where == "templates/ex1.tex:8"]  # the sentence read
    assert "killed by tests/sheet/test_planted.py::test_the_largest_sample" in done.stdout
    score = re.search(r"^\[mutants\] templates: (\d+) of (\d+) mutants killed", done.stdout, re.MULTILINE)
    assert score, done.stdout
    assert int(score.group(2)) - int(score.group(1)) == len(survivors)
    assert {path.name: checksum(path) for path in workspace.layout.templates_dir.glob("*.tex")} == before


def test_ctrl_c_stops_make_mutants_with_one_line_and_leaves_no_copy(workspace: Workspace) -> None:
    """Ctrl-C reaches the whole run (its own process group, as a terminal sends it) once a
    mutant is being tested: one line, exit 130, no traceback, no temporary copy left."""
    workspace.write("tests/sheet/test_planted.py", PLANTED)
    temporary = workspace.root / "tmp"
    temporary.mkdir()
    with (workspace.root / "mutants.out").open("w") as out:
        run = subprocess.Popen(
            [".venv/bin/python", "-m", "pipeline.mutants", "--only", "templates", "--limit", "3"],
            cwd=workspace.root, env={**os.environ, "TMPDIR": str(temporary)}, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal leaves it
        )  # fmt: skip
    said = workspace.root / "mutants.out"
    deadline = time.monotonic() + 120
    while "templates: 3 of" not in said.read_text(encoding="utf-8") and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # building or testing the first mutant
    os.killpg(run.pid, signal.SIGINT)
    assert run.wait(timeout=60) == 130, said.read_text(encoding="utf-8")
    text = said.read_text(encoding="utf-8")
    assert text.rstrip().endswith("[mutants] stopped; the project's own files were never changed"), text
    assert "Traceback" not in text
    assert not list(temporary.iterdir())
