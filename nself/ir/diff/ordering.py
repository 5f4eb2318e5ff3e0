"""Ordering: a topological sort of the operations over their Deps."""

from __future__ import annotations

import heapq

from nself.ir.diff.deps import DepKey
from nself.ir.diff.operations import Operation


def order_operations(ops: list[Operation]) -> list[Operation]:
    """Sort topologically over the operations' Deps (see the module docstring); free
    choices go by phase, then by the order given. A cycle (which sound input should not
    produce) is broken at the operation that comes first by phase."""
    n = len(ops)
    adders: dict[DepKey, list[int]] = {}
    removers: dict[DepKey, list[int]] = {}
    for i, op in enumerate(ops):
        for k in op.deps.adds:
            adders.setdefault(k, []).append(i)
        for k in op.deps.removes:
            removers.setdefault(k, []).append(i)
    edges: list[set[int]] = [set() for _ in range(n)]
    for i, op in enumerate(ops):
        for k in op.deps.before:  # i uses k in the old state: before whatever removes it
            for j in removers.get(k, ()):
                if j != i:
                    edges[i].add(j)
        for k in op.deps.after:  # i uses k in the new state: after whatever adds it
            for j in adders.get(k, ()):
                if j != i:
                    edges[j].add(i)
        for k in op.deps.removes - op.deps.adds:  # a pure drop before a pure create
            for j in adders.get(k, ()):
                if j != i and k not in ops[j].deps.removes:
                    edges[i].add(j)
    indegree = [0] * n
    for targets in edges:
        for j in targets:
            indegree[j] += 1
    ready = [(ops[i].phase, i) for i in range(n) if indegree[i] == 0]
    heapq.heapify(ready)
    done = [False] * n
    out: list[Operation] = []
    while len(out) < n:
        if not ready:  # a cycle: take the earliest remaining by phase
            _, i = min((ops[i].phase, i) for i in range(n) if not done[i])
            indegree[i] = 0
            heapq.heappush(ready, (ops[i].phase, i))
        _, i = heapq.heappop(ready)
        if done[i]:
            continue
        done[i] = True
        out.append(ops[i])
        for j in edges[i]:
            if done[j]:
                continue
            indegree[j] -= 1
            if indegree[j] == 0:
                heapq.heappush(ready, (ops[j].phase, j))
    return out
