"""The traversal graph of a dataset: in which order to visit collections to find a person.

The idea is Fides' DSR graph (``src/fides/api/graph/traversal.py``): an artificial root holds
the identities; collections with a matching ``identity`` field are searched first; each
``references`` edge carries the values found in one collection to the query of the next
(``customers.id`` → ``orders.customer_id`` → ``order_lines.order_id``). Here the graph is
small, plain data, computed once per request from the identity types it carries:

- a directed edge (``direction: from|to``) makes its target wait until its source is done,
  so the target's query gets every value; an undirected edge carries values from whichever
  end is visited first, as in Fides;
- ``after`` on a collection adds a wait of its own;
- collections are visited one at a time, the next being the first (by name) whose waits are
  over, so the order is the same on every run.

A collection no identity or reference reaches is an error when the dataset is loaded, as in
Fides (``UnreachableNodesError``); so is a set of collections that wait on each other — for
every combination of identity types, so no request can meet one later.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from personvern.connectors.datasets import CollectionSpec


class TraversalError(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Reference:
    """A ``references`` entry as declared on ``collection.field``."""

    collection: str
    field: str
    target: str
    target_field: str
    direction: str | None  # "from", "to" or None (either way)
    where: str = ""  # file:line, for messages


@dataclass(frozen=True)
class Edge:
    """Values of ``src.src_field`` find rows of ``dst`` by ``dst_field``."""

    src: str
    src_field: str
    dst: str
    dst_field: str
    directed: bool = True

    def from_end(self, collection: str) -> Edge:
        """This edge read from ``collection``'s end (for undirected edges)."""
        if collection == self.src:
            return self
        return Edge(self.dst, self.dst_field, self.src, self.src_field, self.directed)


@dataclass(frozen=True)
class Input:
    """How a collection is queried: by an identity, or by values found upstream."""

    field: str
    identity: str | None = None
    source: str | None = None  # collection the values come from
    source_field: str | None = None


@dataclass(frozen=True)
class Step:
    collection: str
    inputs: tuple[Input, ...]
    outputs: tuple[str, ...] = ()  # fields whose values later steps need


@dataclass(frozen=True)
class TraversalPlan:
    steps: tuple[Step, ...]
    unreached: tuple[str, ...] = ()


@dataclass(frozen=True)
class TraversalGraph:
    collections: tuple[str, ...]
    identities: Mapping[str, tuple[tuple[str, str], ...]]  # collection → (field, identity)
    edges: tuple[Edge, ...]
    after: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    erase_after: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def identity_types(self) -> frozenset[str]:
        return frozenset(ident for pairs in self.identities.values() for _, ident in pairs)

    def plan(self, identity_types: Iterable[str]) -> TraversalPlan:
        """The steps for a request carrying these identity types; raises on a deadlock."""
        wanted = set(identity_types)
        seeds = {
            c: tuple(Input(f, identity=i) for f, i in pairs if i in wanted)
            for c, pairs in self.identities.items()
        }
        seeds = {c: s for c, s in seeds.items() if s}
        reachable = self._reachable(seeds)
        done: list[str] = []
        steps: list[Step] = []
        remaining = set(reachable)
        while remaining:
            ready = [c for c in sorted(remaining) if self._ready(c, done, reachable, seeds)]
            if not ready:
                raise TraversalError([self._deadlock(remaining, reachable)])
            chosen = ready[0]
            inputs = list(seeds.get(chosen, ()))
            for edge in self.edges:
                if chosen not in (edge.src, edge.dst):
                    continue
                if edge.directed and edge.dst != chosen:
                    continue
                source = edge.from_end(edge.dst if edge.src == chosen else edge.src)
                if source.dst == chosen and source.src in done:
                    inputs.append(Input(source.dst_field, None, source.src, source.src_field))
            steps.append(Step(chosen, tuple(dict.fromkeys(inputs))))
            done.append(chosen)
            remaining.discard(chosen)
        needed: dict[str, list[str]] = {}
        for step in steps:
            for inp in step.inputs:
                if inp.source is not None and inp.source_field is not None:
                    needed.setdefault(inp.source, []).append(inp.source_field)
        final = tuple(
            Step(s.collection, s.inputs, tuple(dict.fromkeys(needed.get(s.collection, []))))
            for s in steps
        )
        unreached = tuple(sorted(set(self.collections) - reachable))
        return TraversalPlan(final, unreached)

    def _reachable(self, seeds: Mapping[str, object]) -> set[str]:
        seen = set(seeds)
        queue = deque(sorted(seeds))
        while queue:
            here = queue.popleft()
            for edge in self.edges:
                nxt: str | None = None
                if edge.src == here:
                    nxt = edge.dst
                elif not edge.directed and edge.dst == here:
                    nxt = edge.src
                if nxt is not None and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    def _ready(
        self, c: str, done: list[str], reachable: set[str], seeds: Mapping[str, object]
    ) -> bool:
        waits = [e.src for e in self.edges if e.directed and e.dst == c and e.src in reachable]
        waits += [a for a in self.after.get(c, ()) if a in reachable]
        if any(w not in done for w in waits):
            return False
        if c in seeds:
            return True
        return any(
            (e.dst == c and e.src in done) or (not e.directed and e.src == c and e.dst in done)
            for e in self.edges
        )

    def _deadlock(self, remaining: set[str], reachable: set[str]) -> str:
        waits = []
        for c in sorted(remaining):
            on = sorted(
                {e.src for e in self.edges if e.directed and e.dst == c and e.src in remaining}
                | {a for a in self.after.get(c, ()) if a in remaining}
            )
            waits.append(f"{c} waits for {', '.join(on) or 'a value from them'}")
        return (
            f"collections {', '.join(sorted(remaining))} wait on each other ({'; '.join(waits)}); "
            "give one of them a direction the other way, or an identity field of its own"
        )


def build_graph(
    collections: Mapping[str, CollectionSpec], references: Sequence[Reference]
) -> TraversalGraph:
    """The graph of a dataset's collections, or a :class:`TraversalError` naming each flaw."""
    problems: list[str] = []
    active = {name for name, c in collections.items() if not c.skip}
    identities = {
        name: tuple((f.name, f.identity) for f in c.fields if f.identity)
        for name, c in collections.items()
        if name in active
    }
    edges: dict[tuple[str, str, str, str], Edge] = {}
    undirected: dict[frozenset[tuple[str, str]], Edge] = {}
    for ref in references:
        problem = _check_reference(ref, collections)
        if problem:
            problems.append(problem)
            continue
        if ref.collection not in active or ref.target not in active:
            continue
        here, there = (ref.collection, ref.field), (ref.target, ref.target_field)
        if ref.direction is None:
            undirected.setdefault(frozenset({here, there}), Edge(*there, *here, directed=False))
        else:
            src, dst = (there, here) if ref.direction == "from" else (here, there)
            edges[(*src, *dst)] = Edge(*src, *dst)
    directed_pairs = {
        frozenset({(e.src, e.src_field), (e.dst, e.dst_field)}) for e in edges.values()
    }
    all_edges = tuple(edges.values()) + tuple(
        e for pair, e in undirected.items() if pair not in directed_pairs
    )
    after: dict[str, tuple[str, ...]] = {}
    erase_after: dict[str, tuple[str, ...]] = {}
    for name, c in collections.items():
        for attr, out in (("after", after), ("erase_after", erase_after)):
            names: tuple[str, ...] = getattr(c, attr)
            for other in names:
                if other not in collections:
                    problems.append(
                        f"{name}: {attr} names {other!r}, which is not a collection here"
                    )
            out[name] = tuple(n for n in names if n in active)
    if problems:
        raise TraversalError(problems)
    graph = TraversalGraph(
        collections=tuple(sorted(active)),
        identities=identities,
        edges=tuple(sorted(all_edges, key=lambda e: (e.src, e.src_field, e.dst, e.dst_field))),
        after=after,
        erase_after=erase_after,
    )
    _check_graph(graph, problems)
    if problems:
        raise TraversalError(problems)
    return graph


def _check_reference(ref: Reference, collections: Mapping[str, CollectionSpec]) -> str | None:
    where = f"{ref.where}: " if ref.where else ""
    label = f"{ref.collection}.{ref.field}"
    if ref.target not in collections:
        return (
            f"{where}{label} refers to {ref.target}.{ref.target_field}, but there is no collection "
            f"{ref.target!r}{_hint(ref.target, list(collections))}; write field: collection.field"
        )
    target = collections[ref.target]
    if target.field(ref.target_field) is None:
        names = [f.name for f in target.fields]
        return (
            f"{where}{label} refers to {ref.target}.{ref.target_field}, but {ref.target} has "
            f"no field {ref.target_field!r}{_hint(ref.target_field, names)}"
        )
    if ref.target == ref.collection:
        return f"{where}{label} refers to its own collection; references join two collections"
    if "." in ref.field or "." in ref.target_field:
        return f"{where}{label}: references must join columns, not fields inside a nested object"
    return None


def _check_graph(graph: TraversalGraph, problems: list[str]) -> None:
    types = sorted(graph.identity_types)
    if not types:
        problems.append(
            "no field has fides_meta.identity, so no one can be found; mark the e-mail (or phone) "
            "field with identity: email"
        )
        return
    unreached = graph.plan(types).unreached if _plans(graph, [types], problems) else ()
    for name in unreached:
        problems.append(
            f"collection {name} cannot be reached from any identity: give one of its fields "
            "fides_meta.identity, or a reference to or from a collection that can be reached "
            "(or set fides_meta.skip_processing: true on it)"
        )
    # Every combination of identity types a request may carry must have an order too.
    subsets = [list(s) for n in range(1, min(len(types), 6) + 1) for s in combinations(types, n)]
    _plans(graph, subsets, problems)


def _plans(graph: TraversalGraph, subsets: list[list[str]], problems: list[str]) -> bool:
    ok = True
    for subset in subsets:
        try:
            graph.plan(subset)
        except TraversalError as exc:
            ok = False
            for p in exc.problems:
                message = f"{p} (with identity {', '.join(subset)})"
                if not any(m.startswith(p) for m in problems):
                    problems.append(message)
    return ok


def _hint(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
