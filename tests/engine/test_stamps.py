"""pipeline/stamps.py on its own, in-process, on real files in a temporary folder: the
hashes that decide what reruns, the stamp files and the atomic write every build file
goes through. A wrong hash or a missed change means a stale PDF, so the expected hashes
are the published SHA-256 test vectors and hand-written names, never computed here.
"""

import errno
import os
import resource
import signal
import threading
from pathlib import Path

import pytest

from pipeline.paths import Layout
from pipeline.stamps import (
    MISSING,
    Stamp,
    file_digest,
    first_difference,
    forget,
    read_stamp,
    rehash,
    snapshot,
    stamp_path,
    write_atomically,
    write_stamp,
)

SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2's example
SHA256_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA256_DEF = "cb8379ac2098aa165029e3938a51da0bcecfc008fd6795f401178647f96c5b34"


def test_a_file_is_known_by_the_hash_of_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "abc.txt").write_bytes(b"abc")
    (tmp_path / "empty.txt").write_bytes(b"")
    assert file_digest(tmp_path / "abc.txt") == SHA256_ABC
    assert file_digest(tmp_path / "empty.txt") == SHA256_EMPTY


def test_a_folder_is_known_by_its_listing_without_compiled_modules(tmp_path: Path) -> None:
    folder = tmp_path / "figures_src"
    folder.mkdir()
    for name in ("b", "a.txt", ".hidden"):  # written out of order: the listing is sorted
        (folder / name).write_text("any content", encoding="utf-8")
    (folder / "__pycache__").mkdir()
    # sha256(b".hidden\na.txt\nb"): the names, one a line, hidden ones too
    assert file_digest(folder) == "folder 300dfc3246002d88a78e4d7b8b2b79a9193b54ce8b7806ad43c5c61651ab5e9a"
    (folder / "a.txt").write_text("other content", encoding="utf-8")  # contents do not count
    assert file_digest(folder) == "folder 300dfc3246002d88a78e4d7b8b2b79a9193b54ce8b7806ad43c5c61651ab5e9a"
    (tmp_path / "empty").mkdir()
    assert file_digest(tmp_path / "empty") == f"folder {SHA256_EMPTY}"


def test_a_missing_file_has_the_missing_hash(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_bytes(b"abc")
    assert MISSING is None
    assert file_digest(tmp_path / "nothing.txt") is None
    assert file_digest(tmp_path / "file.txt" / "below-a-file") is None


def test_write_atomically_writes_text_as_utf8_and_bytes_as_they_are(tmp_path: Path) -> None:
    text, data = tmp_path / "new" / "folder" / "text.txt", tmp_path / "data.bin"
    write_atomically(text, "Grüße\n")
    write_atomically(data, b"\x00\xff")
    assert text.read_bytes() == b"Gr\xc3\xbc\xc3\x9fe\n"
    assert data.read_bytes() == b"\x00\xff"
    write_atomically(data, b"abc")  # replaces
    assert data.read_bytes() == b"abc"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["data.bin", "folder", "new", "text.txt"]


def test_a_failed_replace_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside.txt").write_bytes(b"abc")  # a folder that is not empty cannot be replaced
    with pytest.raises(OSError) as raised:
        write_atomically(target, "text")
    # os.replace's own error names the half-written file, unique to this process and thread
    assert raised.value.filename == f"{target}.{os.getpid()}-{threading.get_ident()}.partial"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_write_that_fails_names_the_file_it_was_for(tmp_path: Path) -> None:
    """A write cut short by a full disk raises an OSError that names no file; the file
    size limit makes the same error (EFBIG) on any disk. The error names the file meant."""
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, limits[1]))
    try:
        with pytest.raises(OSError) as raised:
            write_atomically(target, b"x" * 100_000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert raised.value.errno == errno.EFBIG
    assert raised.value.strerror == os.strerror(errno.EFBIG)
    assert raised.value.filename == str(target)
    assert raised.value.__suppress_context__  # one error, not a chain of two
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_an_interrupted_write_leaves_no_partial_file_and_stops(tmp_path: Path) -> None:
    class Interrupted(BaseException):  # a Ctrl-C is no OSError: it is raised as it is
        pass

    class Text(str):
        def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
            raise Interrupted

    with pytest.raises(Interrupted):
        write_atomically(tmp_path / "x.txt", Text("abc"))
    assert list(tmp_path.iterdir()) == []


def project(tmp_path: Path) -> Layout:
    """A project folder with one input and one output file."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "ex1.tex").write_bytes(b"abc")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "out.pdf").write_bytes(b"")
    return Layout(tmp_path)


def test_snapshot_and_rehash_name_files_relative_to_the_project(tmp_path: Path) -> None:
    layout = project(tmp_path)
    outside = tmp_path.parent / "elsewhere.txt"
    hashes = snapshot(layout, [tmp_path / "templates" / "ex1.tex", tmp_path / "report" / "out.pdf", outside])
    assert hashes == {"templates/ex1.tex": SHA256_ABC, "report/out.pdf": SHA256_EMPTY, str(outside): None}
    (tmp_path / "report" / "out.pdf").write_bytes(b"def")
    assert rehash(layout, {"templates/ex1.tex": "old", "report/out.pdf": "old", "gone.txt": "old"}) == {
        "templates/ex1.tex": SHA256_ABC,
        "report/out.pdf": SHA256_DEF,
        "gone.txt": None,
    }


def test_a_stamp_is_current_until_an_input_a_setting_or_an_output_changes(tmp_path: Path) -> None:
    layout = project(tmp_path)
    stamp = Stamp(
        inputs={"templates/ex1.tex": SHA256_ABC, "templates/ex2.tex": None},
        outputs={"report/out.pdf": SHA256_EMPTY},
        settings={"date": "1700000000"},
    )
    assert stamp.changed(layout) is None
    assert stamp.changed(layout, settings={"date": "1700000000"}) is None
    assert stamp.changed(layout, settings={"date": "1800000000"}) == "date"
    assert stamp.changed(layout, settings={}) == "date"
    assert stamp.changed(layout, inputs={"templates/ex1.tex": SHA256_ABC, "templates/ex2.tex": None}) is None
    new_input = {"templates/ex1.tex": SHA256_ABC, "templates/ex2.tex": None, "templates/ex0.tex": "x"}
    assert stamp.changed(layout, inputs=new_input) == "templates/ex0.tex"
    assert stamp.changed(layout, inputs={}) == "templates/ex1.tex"  # no inputs given is not "as recorded"
    (tmp_path / "report" / "out.pdf").write_bytes(b"def")
    assert stamp.changed(layout) == "report/out.pdf"
    assert stamp.changed(layout, settings={"date": "1800000000"}) == "date"  # inputs, settings, outputs
    (tmp_path / "templates" / "ex2.tex").write_bytes(b"")  # a file that appears is a change too
    assert stamp.changed(layout, settings={"date": "1800000000"}) == "templates/ex2.tex"


def test_first_difference_is_the_first_name_in_order(tmp_path: Path) -> None:
    assert first_difference({}, {}) is None
    assert first_difference({"a": "1", "b": None}, {"a": "1", "b": None}) is None
    assert first_difference({"b": "1", "c": "1"}, {"b": "2", "c": "2"}) == "b"
    assert first_difference({"b": "1"}, {"a": "1", "b": "1"}) == "a"  # one only the current has
    assert first_difference({"z": None}, {}) == "z"  # a missing file, no longer even looked at
    assert first_difference({}, {"z": None}) == "z"
    assert first_difference({"REPORT_FORMAT": "absent"}, {}) == "REPORT_FORMAT"  # whatever the value
    assert first_difference({}, {"REPORT_FORMAT": "absent"}) == "REPORT_FORMAT"


def test_a_stamp_is_written_and_read_back(tmp_path: Path) -> None:
    layout = project(tmp_path)
    assert stamp_path(layout, "notebook-ex1") == tmp_path / "report" / "stamps" / "notebook-ex1.json"
    stamp = Stamp(inputs={"b": None, "a": "1"}, outputs={"o": "2"}, settings={"date": "3"})
    write_stamp(layout, "notebook-ex1", stamp)
    written = (tmp_path / "report" / "stamps" / "notebook-ex1.json").read_text(encoding="utf-8")
    assert written == (
        '{\n "inputs": {\n  "a": "1",\n  "b": null\n },\n "outputs": {\n  "o": "2"\n },\n'
        ' "settings": {\n  "date": "3"\n }\n}\n'
    )
    assert read_stamp(layout, "notebook-ex1") == stamp
    assert read_stamp(layout, "document") is None
    forget(layout, "notebook-ex1")
    assert not (tmp_path / "report" / "stamps" / "notebook-ex1.json").exists()
    forget(layout, "notebook-ex1")  # forgetting twice is fine


@pytest.mark.parametrize(
    "text",
    [
        "not json",  # a stamp cut short by a crash
        '{"inputs": {}, "outputs": {}}',  # an older stamp without settings
        '["inputs", "outputs", "settings"]',
        '{"inputs": {}, "outputs": {}, "settings": {}',
    ],
)
def test_an_unreadable_stamp_means_the_step_runs_again(tmp_path: Path, text: str) -> None:
    layout = project(tmp_path)
    (tmp_path / "report" / "stamps").mkdir()
    (tmp_path / "report" / "stamps" / "document.json").write_text(text, encoding="utf-8")
    assert read_stamp(layout, "document") is None


def test_a_stamp_that_is_a_folder_means_the_step_runs_again(tmp_path: Path) -> None:
    layout = project(tmp_path)
    (tmp_path / "report" / "stamps" / "document.json").mkdir(parents=True)
    assert read_stamp(layout, "document") is None
