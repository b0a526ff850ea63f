"""Content hashes that decide whether a step of the build must run again.

Each step (running a notebook, typesetting its code, compiling the document) records,
when it succeeds, the SHA-256 of every file it read, taken *before* it read them, and of
every file it wrote: report/stamps/<step>.json. The step is current while each of those
files still has the recorded hash. Timestamps play no part, so a file saved while the
step ran, a file unzipped or copied with an old date, and an edit that was reverted are
all judged by what they contain, as Bazel and latexmk's database judge them.

Hashes taken before a step reads its inputs can only err on the safe side: an input
saved during the step was read in its new state or not at all, and either way its
recorded hash is the old one, so the next build runs the step again.
"""

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.paths import Layout

MISSING = None  # the hash of a file that does not exist (creating it is a change too)


def file_digest(path: Path) -> str | None:
    """SHA-256 of the file's bytes, or of a folder's listing (the names in it, hidden ones
    too, as os.listdir gives them; compiled-module folders aside), or MISSING."""
    try:
        if path.is_dir():
            names = sorted(name for name in os.listdir(path) if name != "__pycache__")
            return "folder " + hashlib.sha256("\n".join(names).encode()).hexdigest()
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return MISSING


def write_atomically(path: Path, data: str | bytes) -> None:
    """Replace `path` in one rename, so no reader and no crash ever sees half a file.

    The half-written file's name is unique to the process and thread, because steps that
    run side by side (the code pages of each notebook) may write the same file. A write
    that fails (a full disk) leaves no half-written file, and its error names `path`."""
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        partial.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(partial, path)
    except BaseException as problem:
        partial.unlink(missing_ok=True)
        if isinstance(problem, OSError) and not problem.filename:  # a failed write names no file
            raise OSError(problem.errno, problem.strerror, str(path)) from None
        raise


@dataclass
class Stamp:
    """What one step read and wrote, path (relative to the project) -> content hash, and
    the settings it ran with (the PDF's date, say)."""

    inputs: dict[str, str | None] = field(default_factory=dict)
    outputs: dict[str, str | None] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    def changed(
        self,
        layout: Layout,
        inputs: dict[str, str | None] | None = None,
        settings: dict[str, str] | None = None,
    ) -> str | None:
        """What is no longer as the step saw or left it (a file's name, or a setting's),
        or None if the step is current. `inputs`, if given, are the hashes of the files
        the step would read now: a file added to them (a new figure, say) is a change too."""
        return (
            first_difference(self.inputs, inputs if inputs is not None else rehash(layout, self.inputs))
            or first_difference(self.settings, settings if settings is not None else self.settings)
            or first_difference(self.outputs, rehash(layout, self.outputs))
        )


ABSENT = object()  # the value of a name a record lacks: unequal to any value, "absent" too


def first_difference(recorded: dict, current: dict) -> str | None:
    """The first name whose value is not the same in both (or that only one has)."""
    return next((name for name in sorted(recorded.keys() | current.keys())
                 if recorded.get(name, ABSENT) != current.get(name, ABSENT)), None)  # fmt: skip


def snapshot(layout: Layout, paths: list[Path]) -> dict[str, str | None]:
    """The hashes of `paths` now, by their project-relative names."""
    return {layout.shown(path): file_digest(path) for path in paths}


def rehash(layout: Layout, recorded: dict[str, str | None]) -> dict[str, str | None]:
    """The hashes now of the files named in `recorded`."""
    return {name: file_digest(layout.root / name) for name in recorded}


def stamp_path(layout: Layout, step: str) -> Path:
    return layout.stamps / f"{step}.json"


def read_stamp(layout: Layout, step: str) -> Stamp | None:
    """The step's last stamp, or None if it never succeeded (or the stamp is unreadable)."""
    try:
        data = json.loads(stamp_path(layout, step).read_text(encoding="utf-8"))
        return Stamp(inputs=data["inputs"], outputs=data["outputs"], settings=data["settings"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_stamp(layout: Layout, step: str, stamp: Stamp) -> None:
    record = {"inputs": stamp.inputs, "outputs": stamp.outputs, "settings": stamp.settings}
    write_atomically(stamp_path(layout, step), json.dumps(record, indent=1, sort_keys=True) + "\n")


def forget(layout: Layout, step: str) -> None:
    """Drop the step's stamp: it runs again next time."""
    stamp_path(layout, step).unlink(missing_ok=True)
