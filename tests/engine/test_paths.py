"""pipeline/paths.py on its own, in-process, on real folders in a temporary directory:
which files are sources (a notebook that is not found never runs; a copy taken for one
runs twice), where each output goes, and how paths are written in messages and stamps.
"""

from pathlib import Path

import pytest

from pipeline.paths import ROOT, Layout, ensure_this_checkout, exercise_number, project_of


@pytest.mark.parametrize(
    ("name", "number"),
    [("figures_src/ex1.py", 1), ("templates/ex3.tex", 3), ("ex12.py", 12), ("ex10.tex", 10)],
)
def test_an_exercise_is_numbered_by_its_file_name(name: str, number: int) -> None:
    assert exercise_number(Path(name)) == number


@pytest.mark.parametrize("name", ["ex0.py", "ex01.tex", "ex1.txt", "ex1_old.py", "notes.tex", "Ex1.py"])
def test_other_names_have_no_exercise_number(name: str) -> None:
    with pytest.raises(ValueError) as raised:
        exercise_number(Path("templates") / name)
    assert str(raised.value) == f"{name} is not a notebook or exercise name"


def test_the_layout_of_a_project(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    assert {
        "notebooks_dir": layout.notebooks_dir,
        "pipeline_dir": layout.pipeline_dir,
        "templates_dir": layout.templates_dir,
        "handmade_figures": layout.handmade_figures,
        "standalone_dir": layout.standalone_dir,
        "config": layout.config,
        "debian_packages": layout.debian_packages,
        "report": layout.report,
        "results": layout.results,
        "figures": layout.figures,
        "code": layout.code,
        "code_build": layout.code_build,
        "build": layout.build,
        "printed_values": layout.printed_values,
        "stamps": layout.stamps,
        "made": layout.made,
        "pdf": layout.pdf,
        "tex_ready": layout.tex_ready,
        "lock": layout.lock,
        "results_of": layout.results_of("ex2"),
        "code_pdf_of": layout.code_pdf_of("ex2"),
        "page_map_of": layout.page_map_of("ex2"),
    } == {
        "notebooks_dir": tmp_path / "figures_src",
        "pipeline_dir": tmp_path / "pipeline",
        "templates_dir": tmp_path / "templates",
        "handmade_figures": tmp_path / "templates" / "figures",
        "standalone_dir": tmp_path / "templates" / "standalone",
        "config": tmp_path / "report.toml",
        "debian_packages": tmp_path / "debian-packages.txt",
        "report": tmp_path / "report",
        "results": tmp_path / "report" / "results",
        "figures": tmp_path / "report" / "figures",
        "code": tmp_path / "report" / "code",
        "code_build": tmp_path / "report" / "code" / "build",
        "build": tmp_path / "report" / "build",
        "printed_values": tmp_path / "report" / "build" / "printed-values.json",
        "stamps": tmp_path / "report" / "stamps",
        "made": tmp_path / "report" / "stamps" / "made.json",
        "pdf": tmp_path / "report" / "submission.pdf",
        "tex_ready": tmp_path / "report" / ".tex-ready",
        "lock": tmp_path / "report" / ".lock",
        "results_of": tmp_path / "report" / "results" / "ex2.json",
        "code_pdf_of": tmp_path / "report" / "code" / "ex2-code.pdf",
        "page_map_of": tmp_path / "report" / "code" / "ex2.json",
    }


NOTEBOOK_FOLDER = [
    "ex1.py",
    "ex2.py",
    "ex10.py",  # after ex2: in the order of N, not of the name
    "ex2 copy.py",
    "ex2_old.py",
    "Ex4.py",
    "ex0.py",
    "moe_layer.py",  # a module
    ".#ex1.py",  # an editor's lock
]
TEMPLATE_FOLDER = [
    "submission.tex",
    "preamble.tex",
    "code.tex",
    "extra.tex",  # starts with "ex", but no digit: a template of its own
    "ex1.tex",
    "ex2.tex",
    "ex10.tex",
    "ex1-draft.tex",
    "ex2 copy.tex",
    "Ex4.tex",
    ".#ex1.tex",
    "_part.tex",
    "ex1.tex~",
]


@pytest.fixture
def sources(tmp_path: Path) -> Layout:
    for folder, names in (("figures_src", NOTEBOOK_FOLDER), ("templates", TEMPLATE_FOLDER)):
        (tmp_path / folder).mkdir()
        for name in names:
            (tmp_path / folder / name).write_text("", encoding="utf-8")
    return Layout(tmp_path)


def test_notebooks_are_ex_n_in_the_order_of_n(sources: Layout) -> None:
    assert [p.name for p in sources.notebooks()] == ["ex1.py", "ex2.py", "ex10.py"]
    assert all(p.parent == sources.notebooks_dir for p in sources.notebooks())


def test_exercises_are_ex_n_in_the_order_of_n(sources: Layout) -> None:
    assert sources.exercises() == ["ex1", "ex2", "ex10"]


def test_templates_are_clean_names_without_copies_of_exercises(sources: Layout) -> None:
    assert [p.name for p in sources.templates()] == [
        "code.tex",
        "ex1.tex",
        "ex10.tex",
        "ex2.tex",
        "extra.tex",
        "preamble.tex",
        "submission.tex",
    ]
    assert all(p.parent == sources.templates_dir for p in sources.templates())


def test_strays_are_what_looks_like_a_copy_of_a_notebook_or_exercise(sources: Layout) -> None:
    assert [sources.shown(p) for p in sources.strays()] == [
        "figures_src/Ex4.py",
        "figures_src/ex0.py",
        "figures_src/ex2 copy.py",
        "figures_src/ex2_old.py",
        "templates/Ex4.tex",
        "templates/ex1-draft.tex",
        "templates/ex2 copy.tex",
    ]


def test_an_empty_project_has_no_sources(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    assert (layout.notebooks(), layout.templates(), layout.exercises(), layout.strays()) == ([], [], [], [])


@pytest.mark.parametrize(
    ("output", "said"),
    [
        ("report/figures/ex1-gram.pdf", "saves ex1-gram too: give each notebook's figures names of its own"),
        (
            "report/figures/ex1-gram.png",
            "writes the file report/figures/ex1-gram.png too: give each notebook's files names of their own",
        ),
        (
            "report/figures/sub/x.pdf",
            "writes the file report/figures/sub/x.pdf too: give each notebook's files names of their own",
        ),
        (
            "figures_src/run-log.txt",
            "writes the file figures_src/run-log.txt too: give each notebook's files names of their own",
        ),
    ],
)
def test_what_two_notebooks_writing_one_file_are_told(tmp_path: Path, output: str, said: str) -> None:
    assert Layout(tmp_path).written_too(output) == said


def test_paths_are_shown_relative_to_the_project_with_slashes(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "project")
    assert layout.shown(tmp_path / "project" / "templates" / "ex1.tex") == "templates/ex1.tex"
    assert layout.shown(Path("templates") / "ex1.tex") == "templates/ex1.tex"
    assert layout.shown(tmp_path / "elsewhere" / "x.tex") == f"{tmp_path}/elsewhere/x.tex"
    assert layout.shown(tmp_path / "project-copy" / "x.tex") == f"{tmp_path}/project-copy/x.tex"


def checkout(folder: Path) -> Path:
    """A folder that looks like a checkout of the project: it has pipeline/paths.py."""
    (folder / "pipeline").mkdir(parents=True)
    (folder / "pipeline" / "paths.py").write_text("", encoding="utf-8")
    (folder / "figures_src").mkdir()
    return folder


def test_the_checkout_of_a_folder_is_the_nearest_with_pipeline_paths(tmp_path: Path) -> None:
    other = checkout(tmp_path / "other")
    (other / "figures_src" / "deep").mkdir()
    assert project_of(other / "figures_src" / "deep") == other
    assert project_of(other) == other
    assert project_of(tmp_path) is None
    (tmp_path / "fake" / "pipeline" / "paths.py").mkdir(parents=True)  # a folder, not the module
    assert project_of(tmp_path / "fake") is None
    assert project_of(ROOT / "figures_src") == ROOT


def test_a_notebook_of_another_checkout_is_refused(tmp_path: Path) -> None:
    other = checkout(tmp_path / "other")
    ensure_this_checkout(str(ROOT / "figures_src" / "ex1.py"), ROOT / "figures_src")
    ensure_this_checkout(None, tmp_path)  # a folder of no checkout: nothing to say
    for script, cwd, place in [
        (str(other / "figures_src" / "ex1.py"), ROOT, other / "figures_src"),
        (None, other / "figures_src", other / "figures_src"),
        (str(ROOT / "figures_src" / "ex1.py"), other, other),
    ]:
        with pytest.raises(ImportError) as raised:
            ensure_this_checkout(script, cwd)
        assert str(raised.value) == (
            f"{place} belongs to the checkout {other}, but this Python imports the code of {ROOT}: "
            f"run it with {other}/.venv/bin/python (make in {other} sets it up)"
        )
