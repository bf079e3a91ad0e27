"""YAML that cannot blow up: safe types only, and anchors/aliases capped before construction.

A billion-laughs document needs only a few dozen aliases: each level lists the previous one ten
times, so nine levels stand for 10^9 strings. Constructing it is cheap (the lists are shared),
but anything that then walks it (``${VAR}`` expansion, ``str()``) never finishes. The composed
node graph is therefore measured as if every alias were copied, and refused past a limit.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

# yaml.safe_dump writes a repeated mapping as an alias: generated configs use many of them.
# What protects memory is MAX_NODES; this only stops absurd documents early.
MAX_ALIASES = 100_000
MAX_NODES = 1_000_000  # nodes after expanding aliases; the shipped config has about 10,000
MAX_DEPTH = 100  # nesting levels; the shipped config needs 8


class SafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses alias bombs: anchors are fine, exponential expansion is not."""

    max_aliases = MAX_ALIASES
    max_nodes = MAX_NODES

    max_depth = MAX_DEPTH

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases = getattr(self, "_aliases", 0) + 1
            if self._aliases > self.max_aliases:
                raise ComposerError(
                    None,
                    None,
                    f"more than {self.max_aliases} aliases: refusing to expand",
                    self.peek_event().start_mark,
                )
        # PyYAML composes recursively: deep nesting would end in RecursionError.
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > self.max_depth:
                raise ComposerError(
                    None,
                    None,
                    f"nested deeper than {self.max_depth} levels",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        # Values that look like timestamps or tagged numbers but are not (2026-13-45,
        # !!int abc) raise ValueError from the constructors: make them located YAML errors.
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise ConstructorError(
                None, None, f"cannot read {node.value!r}: {exc}", node.start_mark
            ) from None

    def compose_document(self):
        node = super().compose_document()
        if node is not None and expanded_size(node, self.max_nodes) > self.max_nodes:
            raise ComposerError(
                None,
                None,
                f"anchors and aliases expand to more than "
                f"{self.max_nodes:,} values: refusing to expand",
                node.start_mark,
            )
        return node


def expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes in the document with every alias counted as a copy (stops counting past ``limit``)."""
    sizes: dict[int, int] = {}
    # Nodes whose children are being counted: in a depth-first walk, meeting one of them again
    # means an alias inside its own anchor (a cycle, which would otherwise never end).
    open_nodes: set[int] = set()
    # Iterative post-order walk: deep nesting must not hit Python's recursion limit.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = (
            [c for pair in node.value for c in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(limit + 1, 1 + sum(sizes.get(id(c), 0) for c in children))
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise ComposerError(
                    None, None, "an alias refers to its own anchor", child.start_mark
                )
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def load(text: str) -> Any:
    """The document in ``text``; raises yaml.YAMLError (including for alias bombs)."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a SafeLoader
