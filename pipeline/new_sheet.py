"""What belongs to this sheet's answers, as opposed to the engine that builds any sheet.

The content of a sheet is its notebooks and their modules (figures_src/, but for the
package's __init__.py), its exercise templates (templates/ex<N>.tex) and the parts and
pictures they take in (templates/<folder>/, but for standalone/), its details
(report.toml) and the tests of its answers (tests/sheet/). Everything else is the engine.
"""

from pathlib import PurePath

from pipeline.paths import LOOKS_LIKE_A_COPY

ENGINE_TEMPLATE_FOLDERS = {"standalone"}


def is_content(relative: PurePath) -> bool:
    """Whether the file or folder at `relative` (from the project's root) is this sheet's."""
    parts = relative.parts
    if not parts:
        return False
    if parts[0] == "figures_src":
        return len(parts) > 1 and parts[1] != "__init__.py"
    if parts[0] == "templates" and len(parts) > 1:
        if len(parts) == 2 and relative.suffix:  # a template: an exercise's, or a copy of one
            return bool(LOOKS_LIKE_A_COPY.match(relative.name))
        return parts[1] not in ENGINE_TEMPLATE_FOLDERS  # a folder of parts or pictures
    return parts == ("report.toml",) or parts[:2] == ("tests", "sheet")
