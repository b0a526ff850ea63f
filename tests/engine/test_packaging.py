"""What the project declares it needs: every package the engine imports, by name in
pyproject.toml and pinned in the lock (requirements.txt); the tools apart."""

import ast
import re
import sys
import tomllib

from pipeline.paths import PROJECT

# Import names that differ from the package's name on PyPI.
PACKAGE_OF = {"markdown_it": "markdown-it-py", "PIL": "pillow"}


def pinned(path: str) -> dict[str, str]:
    lines = (PROJECT.root / path).read_text(encoding="utf-8").splitlines()
    pins = [re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line) for line in lines]
    return {normal(pin.group(1)): pin.group(2) for pin in pins if pin}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_by_the_engine() -> set[str]:
    """The top-level names of the packages build.py and pipeline/ import, but the standard
    library's and the project's own."""
    names = set()
    for module in [PROJECT.root / "build.py", *PROJECT.pipeline_dir.glob("*.py")]:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"pipeline", "build"}


def test_every_package_the_engine_imports_is_declared_and_locked() -> None:
    project = tomllib.loads((PROJECT.root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {normal(re.split(r"[<>=!~ \[]", requirement)[0]) for requirement in project["dependencies"]}
    lock = pinned("requirements.txt")
    imported = {normal(PACKAGE_OF.get(name, name)) for name in imported_by_the_engine()}
    assert imported, "no third-party import found"
    assert imported <= declared, f"imported, not in pyproject.toml's dependencies: {imported - declared}"
    assert declared <= lock.keys(), f"declared, not pinned in requirements.txt: {declared - lock.keys()}"


def test_the_tools_are_apart_from_the_build_and_pinned() -> None:
    project = tomllib.loads((PROJECT.root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    tools = {normal(name) for name in project["optional-dependencies"]["dev"]}
    lock, dev = pinned("requirements.txt"), pinned("requirements-dev.txt")
    assert {"pytest", "pytest-xdist", "mypy", "ruff"} <= tools
    assert not tools & lock.keys(), f"tools in the build's lock: {tools & lock.keys()}"
    assert tools <= dev.keys(), f"tools not pinned in requirements-dev.txt: {tools - dev.keys()}"
    assert not lock.keys() & dev.keys(), "a package pinned twice"
