"""Write nself/ir/_records.py: the methods of the IR's records (nself.ir.record), compiled
with that module instead of at each import. Run after changing a record's fields in
nself/ir/model.py or nself/ir/diff/operations.py (tests/ir/test_record.py says when).

    python scripts/write_ir_records.py"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nself.ir.record import write_cache  # noqa: E402

if __name__ == "__main__":
    (REPO / "nself" / "ir" / "_records.py").write_text(write_cache(), encoding="utf-8")
