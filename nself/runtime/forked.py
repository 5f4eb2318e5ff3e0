"""CPU-bound work spread over the machine's cores by forking: the children inherit what
the parent has built (a compiled Catalog) without pickling it, and only results travel back.

Used by one-shot commands (a single `nself types` run renders six languages side by side).
Not for processes that run threads (a fork copies only the calling thread, and any lock
another thread holds stays locked in the child), so callers opt in explicitly."""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

from nself.runtime.host import current_host

Item = TypeVar("Item")
Result = TypeVar("Result")

_NOT_DONE = object()


def fork_available() -> bool:
    """True where forking is safe and worth it: Linux (macOS system frameworks are not
    fork-safe), more than one core, and no other thread running in this process."""
    return current_host().fork_safe and (os.cpu_count() or 1) > 1 and threading.active_count() == 1


def forked_map(
    function: Callable[[Item], Result], items: Sequence[Item], workers: int | None = None
) -> list[Result]:
    """[function(item) for item in items], computed by this process and up to `workers - 1`
    forked children (default: one per core). Items are handed out one at a time from a
    shared pipe, so a slow item does not hold back the others. An item whose call fails in
    a child (or whose result cannot be pickled) is computed again here, so its exception is
    raised by this process as if the work had never been split."""
    count = min(workers or os.cpu_count() or 1, len(items))
    if count < 2 or len(items) > 255 or not fork_available():
        return [function(item) for item in items]

    queue_read, queue_write = os.pipe()
    os.write(queue_write, bytes(range(len(items))))  # one byte per item, < 64 KiB: never blocks
    os.close(queue_write)

    def take() -> int | None:
        index = os.read(queue_read, 1)  # a one-byte read from a pipe is atomic: no item twice
        return index[0] if index else None

    children: list[tuple[int, int]] = []  # (pid, read end of its result pipe)
    for _ in range(count - 1):
        result_read, result_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, send {index: result} back, leave without cleanup
            os.close(result_read)
            status = 0
            try:
                done: dict[int, object] = {}
                while (index := take()) is not None:
                    try:
                        done[index] = function(items[index])
                    except BaseException:
                        done[index] = _FAILED
                payload = pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(result_write, "wb") as pipe:
                    pipe.write(payload)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        os.close(result_write)
        children.append((pid, result_read))

    results: list[object] = [_NOT_DONE] * len(items)
    try:
        while (index := take()) is not None:
            results[index] = function(items[index])
    finally:
        for pid, result_read in children:
            with os.fdopen(result_read, "rb") as results_pipe:
                payload = results_pipe.read()  # read before waiting: the child blocks on a full pipe
            os.waitpid(pid, 0)
            if payload:
                for index, value in pickle.loads(payload).items():
                    if not isinstance(value, _Failed):
                        results[index] = value
        os.close(queue_read)
    # Items a child failed on (or never sent, if it died) are done here.
    return [function(items[i]) if r is _NOT_DONE else cast(Result, r) for i, r in enumerate(results)]


class _Failed:
    """Marks an item whose call raised in a child (an instance survives pickling, `is` would not)."""


_FAILED = _Failed()
