"""Golden files: output text compared byte for byte with a file kept in the repository,
so a change of output is a visible diff in review. NSELF_UPDATE_GOLDEN=1 rewrites the
files instead of comparing:

    NSELF_UPDATE_GOLDEN=1 pytest tests/backends
"""

from __future__ import annotations

import os
from pathlib import Path


def assert_golden(path: Path, text: str) -> None:
    """Compare `text` with the golden file `path` (or rewrite it, see above)."""
    if os.environ.get("NSELF_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    folder = path.parent
    assert path.exists(), f"{path} is missing: run NSELF_UPDATE_GOLDEN=1 pytest {folder}"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path} differs from the output: review, then NSELF_UPDATE_GOLDEN=1 pytest {folder}"
    )
