"""Ordering: a topological sort of the operations over their Deps."""

from __future__ import annotations

import heapq

from nself.ir.diff.deps import DepKey
from nself.ir.diff.operations import Operation


def order_operations(ops: list[Operation]) -> list[Operation]:
    """Sort topologically over the operations' Deps (see the module docstring); free
    choices go by phase, then by the order given. A cycle (which sound input should not
    produce) is broken at the operation that comes first by phase among those of a cycle
    that nothing outside it still waits on (see _cycle_breaker)."""
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
        if not ready:  # a cycle: take the earliest by phase of those it holds up
            i = _cycle_breaker(ops, edges, done)
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


def _cycle_breaker(ops: list[Operation], edges: list[set[int]], done: list[bool]) -> int:
    """The operation to run next when every remaining one waits on another: the earliest by
    phase among the strongly connected components of the remaining operations that no
    other remaining operation leads into (any other choice would run an operation before
    one it waits on outside the cycle, such as a DROP before what still uses it)."""
    remaining = [i for i in range(len(ops)) if not done[i]]
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    component: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    counter = 0
    count = 0
    for root in remaining:
        if root in index:
            continue
        # Tarjan's algorithm, iteratively
        work: list[tuple[int, list[int]]] = [(root, [j for j in edges[root] if not done[j]])]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            if successors:
                nxt = successors.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, [j for j in edges[nxt] if not done[j]]))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = count
                    if member == node:
                        break
                count += 1
    entered = {component[j] for i in remaining for j in edges[i] if not done[j] and component[j] != component[i]}
    sources = [i for i in remaining if component[i] not in entered]
    _, chosen = min((ops[i].phase, i) for i in (sources or remaining))
    return chosen
