"""The cyclic garbage collector paused around work that allocates a great many objects
and frees them by reference counting (compiling a schema, rendering types, generating
mock rows): collections would find little and rescan the survivors again and again, a
quarter of such a run. They run again, and catch up, afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off until the block ends (left off if it was off already)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
