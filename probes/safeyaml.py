"""YAML as the exporter reads it: libyaml's speed, safe types, and no silent surprises.

Every YAML file the exporter reads goes through ``load``: the config, the web config,
attestation files and the documents ``file`` probes parse. It

- parses with libyaml (PyYAML's ``CSafeLoader``) and builds plain strings, lists and mappings
  itself, straight from libyaml's events (``_Stream``), for a fraction of the time and memory
  of PyYAML's pure-Python loader and of libyaml's own node graph (bench/yaml_loader.py,
  bench/memory.py; docs/performance.md); merge keys and tagged collections (``!!set``) go
  through the node graph (``load_composed``);
- refuses, before the document is handed out: aliases that expand past ``MAX_NODES`` values
  ("billion laughs"), an alias inside its own anchor, nesting deeper than ``MAX_DEPTH``, and
  duplicate keys, which YAML forbids and PyYAML would silently resolve by keeping the last
  (``expect: closed`` then ``expect: open`` must not read as ``open``);
- constructs only YAML's standard types (the rest through PyYAML's SafeConstructor), and turns
  a value its tag cannot hold (``!!bool maybe``, ``!!timestamp x``) into a located error
  instead of a traceback.

Every problem is a ``DocumentError`` that says where (line, column) and what.
"""

from __future__ import annotations

import gc
import inspect
import sys
from collections.abc import Callable
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

if not yaml.__with_libyaml__:  # pragma: no cover - PyPI's wheels and Debian's package have it
    raise ImportError(
        "PyYAML was built without libyaml: install a PyYAML wheel or Debian's python3-yaml"
    )

MAX_NODES = 1_000_000  # values after expanding aliases; a 10,000-item config has about 130,000
MAX_DEPTH = 100  # nesting levels; the shipped config needs 8 (libyaml itself stops at 1,000)
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


class DocumentError(ValueError):
    """Raised when a YAML document cannot be read; ``line`` and ``column`` count from 1."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None):
        self.problem = problem
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {problem}" if line else problem)


class _Loader(yaml.CSafeLoader):
    """CSafeLoader whose scalar constructors fail with located YAML errors (see _located)."""


def _located(construct: Callable[[Any, ScalarNode], Any]) -> Callable[[Any, ScalarNode], Any]:
    """``construct`` raising a located YAML error for a value its tag cannot hold.

    PyYAML's scalar constructors raise whatever their parsing trips on: KeyError for ``!!bool
    maybe``, AttributeError for ``!!timestamp x``, IndexError for ``!!int ""``.
    """

    def located(loader: Any, node: ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001 - any of them means this value, this tag
            # A ValueError says what is wrong (month must be in 1..12); the others only where.
            why = f": {exc}" if isinstance(exc, (ValueError, OverflowError)) and str(exc) else ""
            raise ConstructorError(
                None,
                None,
                f"cannot read {_quote(node.value)} as {_tag(node)}{why}",
                node.start_mark,
            ) from None

    return located


for _tag_name, _construct in SafeConstructor.yaml_constructors.items():
    # Collections' constructors are generators that check their shape with ConstructorError.
    if _tag_name is not None and not inspect.isgeneratorfunction(_construct):
        _Loader.add_constructor(_tag_name, _located(_construct))


def load(text: str) -> Any:
    """The one document in ``text``; raises DocumentError saying where and what is wrong."""
    # The cyclic garbage collector walks every live container each time enough have been made:
    # at 10,000 items that is most of the time spent loading (CSafeLoader alone: 0.94 s with
    # it, 0.3 s without). A loaded document has no cycles (both ways refuse them), so there is
    # nothing for it to collect.
    enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            return _Stream(text).document()
        except _Composed:
            return load_composed(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot be read"
        if exc.context and problem.startswith("but "):  # "expected a single document ..."
            problem = f"{exc.context}, {problem}"
        if problem == "found undefined alias" and mark:  # libyaml leaves out which one
            problem += " " + text[mark.index :].split(maxsplit=1)[0].rstrip(",]}")
        where = (mark.line + 1, mark.column + 1) if mark else (None, None)
        if isinstance(exc, _Duplicate):  # its own words: a duplicate is not a syntax error
            raise DocumentError(problem, *where) from None
        raise DocumentError(f"invalid YAML: {problem}", *where) from None
    except yaml.reader.ReaderError as exc:
        line, column = _position(text, exc.position)
        raise DocumentError(
            f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}",
            line,
            column,
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every error libyaml raises is one above
        raise DocumentError(f"invalid YAML: {exc}") from None
    except UnicodeEncodeError:
        raise DocumentError("invalid YAML: the text holds unpaired surrogates") from None
    finally:
        if enabled:
            gc.enable()


def load_composed(text: str) -> Any:
    """The document through libyaml's node graph, checked whole, then built: how ``load``
    reads what its stream does not (merge keys, tagged collections). Raises PyYAML's errors."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        check_graph(root, loader)
        return _Builder(loader).build(root)
    finally:
        loader.dispose()


class _Composed(Exception):
    """Raised by ``_Stream`` for what only the node graph builds as PyYAML does."""


class _Stream:
    """The document built straight from libyaml's events, checked as it is built.

    libyaml's composed graph costs about 400 bytes a value in nodes and marks: 50 MB at 10,000
    items, most of the exporter's peak memory. Built from the events, only the document is held
    (bench/memory.py). The checks are ``check_graph``'s, counted instead of walked: an anchor
    records how many values and how many levels it stands for, so an alias adds its count
    without being expanded, and an alias inside its own anchor is seen at once. Merge keys and
    collections with a tag of their own (``!!set``, ``!!omap``, ``!!pairs``, unknown ones) end
    the stream with ``_Composed``: ``load`` then reads the document through the graph.
    """

    def __init__(self, text: str):
        # Any: PyYAML's stubs type every event as ``Event | None`` and leave ``resolve`` untyped.
        self.loader: Any = _Loader(text)
        # anchor -> (its value, values it stands for, levels of collections in it)
        self.anchors: dict[str, tuple[Any, int, int]] = {}
        self.marks: dict[str, Any] = {}  # anchor -> where it was given
        self.open: set[str] = set()  # anchors of collections not yet ended
        self.count = 0  # values so far, aliases expanded
        self.root_mark: Any = None

    def document(self) -> Any:
        loader = self.loader
        try:
            loader.get_event()  # stream start
            if loader.check_event(yaml.StreamEndEvent):
                return None
            loader.get_event()  # document start
            self.root_mark = loader.peek_event().start_mark
            root, _ = self.node(1)
            loader.get_event()  # document end
            if not loader.check_event(yaml.StreamEndEvent):
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream",
                    self.root_mark,
                    "but found another document",
                    loader.get_event().start_mark,
                )
            return root
        finally:
            loader.dispose()

    def _counted(self, values: int) -> None:
        self.count += values
        if self.count - 1 > MAX_NODES:  # the root is not one of check_graph's values
            raise ConstructorError(
                None,
                None,
                f"anchors and aliases expand to more than {MAX_NODES:,} values: refusing to expand",
                self.root_mark,
            )

    def node(self, level: int) -> tuple[Any, int]:
        """The next value and how many levels of collections it holds."""
        event = self.loader.get_event()
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, level)
        self._counted(1)
        start = self.count
        if event.anchor is not None:
            if event.anchor in self.marks:
                raise yaml.composer.ComposerError(
                    "found duplicate anchor; first occurrence",
                    self.marks[event.anchor],
                    "second occurrence",
                    event.start_mark,
                )
            self.marks[event.anchor] = event.start_mark
        if isinstance(event, yaml.ScalarEvent):
            value, height = self._scalar(event), 0
        else:
            if level > MAX_DEPTH:
                raise ConstructorError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
            tag = event.tag
            standard = _SEQ if isinstance(event, yaml.SequenceStartEvent) else _MAP
            if tag is not None and tag != "!" and tag != standard:
                raise _Composed
            if event.anchor is not None:
                self.open.add(event.anchor)
            if standard == _SEQ:
                value, height = self._sequence(level)
            else:
                value, height = self._mapping(event, level)
            self.open.discard(event.anchor)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, self.count - start + 1, height)
        return value, height

    def _alias(self, event: Any, level: int) -> tuple[Any, int]:
        if event.anchor in self.open:
            raise ConstructorError(
                None, None, "an alias refers to its own anchor", self.marks[event.anchor]
            )
        if event.anchor not in self.anchors:
            raise yaml.composer.ComposerError(None, None, "found undefined alias", event.start_mark)
        value, count, height = self.anchors[event.anchor]
        if height and level + height - 1 > MAX_DEPTH:
            raise ConstructorError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        self._counted(count)
        return value, height

    def _scalar(self, event: Any) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        if tag == _MERGE:
            raise _Composed
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        constructors = self.loader.yaml_constructors
        return constructors.get(tag, constructors[None])(self.loader, node)

    def _sequence(self, level: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        height = 0
        while not self.loader.check_event(yaml.SequenceEndEvent):
            value, below = self.node(level + 1)
            items.append(value)
            height = max(height, below)
        self.loader.get_event()
        return items, height + 1

    def _mapping(self, event: Any, level: int) -> tuple[dict[Any, Any], int]:
        mapping: dict[Any, Any] = {}
        first: dict[Any, Any] = {}  # key -> where it was first given
        height = 0
        while not self.loader.check_event(yaml.MappingEndEvent):
            mark = self.loader.peek_event().start_mark
            key, key_height = self.node(level + 1)
            try:
                earlier = first.setdefault(key, mark)
            except TypeError:  # a list or a mapping as a key
                raise ConstructorError(
                    "while constructing a mapping", event.start_mark, "found unhashable key", mark
                ) from None
            if earlier is not mark:
                raise _Duplicate(
                    None,
                    None,
                    f"duplicate key {_quote(key)} (first at line {earlier.line + 1})",
                    mark,
                )
            value, value_height = self.node(level + 1)
            mapping[sys.intern(key) if type(key) is str else key] = value
            height = max(height, key_height, value_height)
        self.loader.get_event()
        return mapping, height + 1


class _Duplicate(ConstructorError):
    """A key given twice in one mapping (its own message: it is not a syntax error)."""


def check_graph(root: Node, loader: yaml.CSafeLoader) -> None:
    """Refuse what would hurt whoever walks the document, before constructing any of it.

    The composed graph is as small as the text: an alias is one more reference to its anchor's
    node. The walk follows every reference, as constructing and then walking the document would,
    and stops at ``MAX_NODES`` values or ``MAX_DEPTH`` levels. A billion-laughs document (a few
    dozen aliases standing for 10^9 strings) is refused after a million steps at most; an alias
    inside its own anchor (a cycle) after ``MAX_DEPTH``. Each mapping's keys are checked once.
    """
    budget = MAX_NODES
    keys_checked: set[int] = set()
    # Each entry: a node, its level, and the chain of its ancestors (node, parent chain).
    stack: list[tuple[Node, int, _Chain]] = [(root, 1, None)]
    while stack:
        node, level, ancestors = stack.pop()
        if level > MAX_DEPTH:
            raise ConstructorError(None, None, _too_deep(node, ancestors), node.start_mark)
        if isinstance(node, MappingNode):
            if id(node) not in keys_checked:
                keys_checked.add(id(node))
                _refuse_duplicate_keys(node, loader)
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            children = node.value
        else:
            continue
        budget -= len(children)
        if budget < 0:
            raise ConstructorError(
                None,
                None,
                f"anchors and aliases expand to more than {MAX_NODES:,} values: refusing to expand",
                root.start_mark,
            )
        chain = (node, ancestors)
        stack.extend([(c, level + 1, chain) for c in children if not isinstance(c, ScalarNode)])


_Chain = tuple[Node, "_Chain"] | None


def _too_deep(node: Node, ancestors: _Chain) -> str:
    while ancestors is not None:
        if ancestors[0] is node:
            return "an alias refers to its own anchor"
        ancestors = ancestors[1]
    return f"nested deeper than {MAX_DEPTH} levels"


def _refuse_duplicate_keys(node: MappingNode, loader: yaml.CSafeLoader) -> None:
    first: dict[Any, Node] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, ScalarNode) and key_node.tag == _STR:
            key: Any = key_node.value
        elif key_node.tag == _MERGE:
            continue  # ``<<: *defaults``: merged keys may be overridden, that is its purpose
        else:
            # As Python will hold it: ``1`` and ``0x1``, or ``true`` and ``1``, are one key.
            key = loader.construct_object(key_node, deep=True)
        try:
            earlier = first.setdefault(key, key_node)
        except TypeError:
            continue  # a list or mapping as a key: construction refuses it, with its place
        if earlier is not key_node:
            raise _Duplicate(
                None,
                None,
                f"duplicate key {_quote(key)} (first at line {earlier.start_mark.line + 1})",
                key_node.start_mark,
            )


class _Builder:
    """The document of a checked node graph, built from fresh objects.

    Plain strings, lists and mappings (nearly all of a config) are built here, faster than
    by PyYAML's constructor; anything else (numbers, dates, ``!!set``, merge keys,
    unknown tags) is PyYAML's construction, copied. An alias gives the object its anchor gave.

    Fresh objects matter for memory: the node graph's strings were made between its nodes and
    marks, and a document holding them would keep most of the graph's memory pages resident
    once it is freed (docs/performance.md). Copies made while
    the graph still lives go to fresh pages, and the graph's pages are returned whole. Keys are
    interned: a config repeats the same few keys thousands of times.
    """

    def __init__(self, loader: yaml.CSafeLoader):
        self.loader = loader
        self.built: dict[int, Any] = {}  # node -> what was built for it
        self.copies: dict[int, Any] = {}  # object PyYAML constructed -> its copy

    def build(self, node: Node) -> Any:
        done = self.built.get(id(node), _NOTHING)
        if done is not _NOTHING:
            return done
        if isinstance(node, ScalarNode) and node.tag == _STR:
            return node.value.encode().decode()  # a copy, not the graph's string
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            items: list[Any] = []
            self.built[id(node)] = items
            items.extend([self.build(child) for child in node.value])
            return items
        if (
            isinstance(node, MappingNode)
            and node.tag == _MAP
            and not any(key.tag == _MERGE for key, _ in node.value)
        ):
            mapping: dict[Any, Any] = {}
            self.built[id(node)] = mapping
            for key_node, value_node in node.value:
                key, value = self.build(key_node), self.build(value_node)
                try:
                    mapping[sys.intern(key) if type(key) is str else key] = value
                except TypeError:  # a list or a mapping as a key
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        "found unhashable key",
                        key_node.start_mark,
                    ) from None
            return mapping
        value = self.copy(self.loader.construct_object(node, deep=True))
        self.built[id(node)] = value
        return value

    def copy(self, value: Any) -> Any:
        """A constructed value rebuilt from fresh objects (aliases still shared)."""
        if isinstance(value, str):
            return value.encode().decode()
        if not isinstance(value, (dict, list)):
            return value
        done = self.copies.get(id(value), _NOTHING)
        if done is not _NOTHING:
            return done
        copy: Any
        if isinstance(value, list):
            copy = [self.copy(v) for v in value]
        else:
            copy = {self.copy(k): self.copy(v) for k, v in value.items()}
        self.copies[id(value)] = copy
        return copy


_NOTHING = object()


def _tag(node: Node) -> str:
    return node.tag.replace("tag:yaml.org,2002:", "!!")


def _quote(key: Any) -> str:
    text = str(key)
    if len(text) > 40:
        text = text[:37] + "..."
    return '"' + text.replace('"', '\\"') + '"' if isinstance(key, str) else text


def _position(text: str, offset: int) -> tuple[int, int]:
    """Line and column (from 1) of byte ``offset`` in ``text``'s UTF-8 (libyaml's reader errors)."""
    index = len(text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore"))
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1
