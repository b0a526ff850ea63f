"""One shape for every step of the build (latexrun's Task is the model).

A step names the files it reads (its inputs, as far as they are known before it runs),
the settings it depends on, and, once it ran, the files it wrote and those it found it
read. Whether it must run, and what its stamp (report/stamps/<name>.json) records after
it ran, is decided here and only here, the same way for every step:

  1. `why()`: the step is current while every file its stamp lists (inputs and outputs)
     and every setting still has the recorded content; otherwise it says what changed.
  2. `with step.running() as ran:`: the inputs are hashed before the step reads them (a
     save during the run is then a change, seen by the next build), the step runs and
     says in `ran` what it wrote and read (recorded as the build's own, pipeline/made.py),
     and when it ends well the stamp records all of it (a step that fails leaves no stamp,
     so it runs again).

The preamble format needs no stamp: its file name is its source's hash (pipeline/preamble.py).
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import made
from pipeline.paths import PROJECT, Layout
from pipeline.stamps import Stamp, read_stamp, snapshot, write_stamp

Digests = dict[str, str | None]  # a project-relative name -> its content hash (None: no such file)
# Steps side by side stamp one at a time: of two notebooks finishing together, the second
# sees the first's stamp (pipeline/notebook.py's figures, saved by one notebook only).
_stamping = threading.Lock()

# A file's modification time comes from the kernel's coarse clock, which may lag the one
# time.time_ns() reads by a tick: a save this early before a step counts as during it
# (one extra run) rather than a save during it as before it (a stale PDF).
MTIME_LAG_NS = 20_000_000
# The digest of a file saved while the step ran: it matches no content, so the next build runs the step.
SAVED_DURING = "saved while the step ran"


@dataclass
class Ran:
    """What one run of a step did: the files it wrote, and the files it read as it found
    them (hashed when first read). `read` replaces the inputs known before (a notebook
    finds its own, and last time's may no longer be read); `found` adds to them (a file
    a template takes in)."""

    outputs: list[Path] = field(default_factory=list)
    read: Digests | None = None
    found: Digests = field(default_factory=dict)


@dataclass
class Step:
    """A step of the build: `name` is its stamp's; `inputs` the files it reads, as far as
    they are known before it runs; with `inputs_found`, the files it read last time, and
    only its stamp says whether one changed (it finds its own, so a list given now could
    miss a file it reads)."""

    name: str
    inputs: list[Path]
    settings: dict[str, str] = field(default_factory=dict)
    inputs_found: bool = False
    layout: Layout = PROJECT
    _before: Digests | None = None

    def why(self) -> str | None:
        """What changed since the step last ran (`not built yet` before it ever did), or None."""
        stamp = read_stamp(self.layout, self.name)
        if stamp is None:
            return "not built yet"
        # What running now would read (a step that finds its inputs: its stamp rehashes them).
        self._before = None if self.inputs_found else snapshot(self.layout, self.inputs)
        changed = stamp.changed(self.layout, self._before, self.settings)
        return f"{changed} changed" if changed else None

    @contextlib.contextmanager
    def running(self, check: Callable[[Ran], None] = lambda ran: None) -> Iterator[Ran]:
        """Run the step (the body of the `with`) and stamp what it read and wrote; `check`
        may still refuse the result (an error instead of a stamp) while no other step stamps."""
        # Hashed before the step reads them: by why(), if it just asked, else now.
        before = self._before if self._before is not None else snapshot(self.layout, self.inputs)
        started = time.time_ns() - MTIME_LAG_NS
        ran = Ran()
        try:
            yield ran
        finally:  # what it wrote is the build's, even if it then failed (pipeline/made.py)
            made.record(ran.outputs)
        read = before if ran.read is None else ran.read
        found = {name: self._unless_saved_since(name, digest, started) for name, digest in ran.found.items()}
        inputs = {**found, **{name: before.get(name, digest) for name, digest in read.items()}}
        with _stamping:
            check(ran)
            stamp = Stamp(inputs=inputs, outputs=snapshot(self.layout, ran.outputs), settings=self.settings)
            write_stamp(self.layout, self.name, stamp)
        self._before = None  # a next run hashes its inputs anew

    def _unless_saved_since(self, name: str, digest: str | None, started: int) -> str | None:
        """A found file's digest, or SAVED_DURING (a change for the next build) if it was saved
        after the step started: it is hashed only after the step read it, so the content
        hashed may be newer than the content read (an `\\input` part saved mid-compile)."""
        try:
            saved = (self.layout.root / name).stat().st_mtime_ns
        except OSError:
            return digest
        return SAVED_DURING if saved >= started else digest
