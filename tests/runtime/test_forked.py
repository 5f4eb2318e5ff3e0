"""forked_map: the same results as a plain map, in order, whichever process computed them."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from nself.runtime.forked import fork_available, forked_map

needs_fork = pytest.mark.skipif(not fork_available(), reason="needs os.fork and more than one core")


def test_results_in_order() -> None:
    items = list(range(40))
    assert forked_map(lambda n: n * n, items) == [n * n for n in items]


@needs_fork
def test_children_take_part() -> None:
    def pid_after_a_while(_: int) -> int:
        time.sleep(0.02)  # long enough that the child takes items too
        return os.getpid()

    pids = forked_map(pid_after_a_while, list(range(10)), workers=2)
    assert os.getpid() in pids
    assert len(set(pids)) == 2


def test_an_exception_is_raised_here() -> None:
    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError(f"item {n} failed in {os.getpid()}")
        return n

    with pytest.raises(ValueError, match=f"item 3 failed in {os.getpid()}"):
        forked_map(fail_on_three, list(range(8)), workers=2)


def test_results_that_cannot_be_pickled_are_computed_here() -> None:
    def make_function(n: int) -> Callable[[], int]:
        return lambda: n  # a closure does not pickle

    functions = forked_map(make_function, list(range(6)), workers=2)
    assert [f() for f in functions] == list(range(6))


def test_one_item_or_one_worker_runs_inline() -> None:
    assert forked_map(lambda _: os.getpid(), [1]) == [os.getpid()]
    assert forked_map(lambda _: os.getpid(), [1, 2, 3], workers=1) == [os.getpid()] * 3


def test_no_fork_while_another_thread_runs() -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert not fork_available()
        assert forked_map(lambda _: os.getpid(), [1, 2, 3], workers=2) == [os.getpid()] * 3
    finally:
        release.set()
        worker.join()
