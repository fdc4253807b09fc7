"""Config bytes → a YAML tree, with bounds: size, nesting depth and alias expansion.

``yaml.safe_load`` builds no objects but it trusts the document's shape: a 1 KB "billion
laughs" of nested aliases composes in microseconds into a tree whose walk (interpolation,
validation) then took 104 s and 2.2 GB, and 2,000 nested brackets overflow Python's stack in
the recursive composer. So the document's shape is measured first, on libyaml's C event
stream (one linear pass: each anchor's subtree size is kept, so an alias counts in full
without being expanded), and only a document within the bounds is built, by libyaml too.
Either refusal comes in milliseconds with the line where it happened. The pure-Python
composer that counted while it composed is kept for a PyYAML without libyaml; it is ~5x
slower (bench/config_load.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, SequenceNode

# A source is ~12 values and ~100 bytes of YAML: 30,000 sources (3x issue 14's 10,000) are
# ~3 MB and ~360k values. Past 10 MB it is not a config. With libyaml 10,000 sources (110k
# values) parse in ~1.3 s on a busy 2-core machine (bench/config_load.py), the pure path ~6.5 s.
MAX_BYTES = 10_000_000
MAX_DEPTH = 64  # the deepest key path of the schema is 4; 64 leaves room for any YAML style
MAX_NODES = 400_000  # values after alias expansion: 30,000 sources at ~12 values each fit

_FAST = bool(getattr(yaml, "__with_libyaml__", False))


@dataclass(frozen=True)
class YamlProblem(Exception):
    """Why the bytes are not a YAML tree we accept, and where (1-based line, when known)."""

    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line and self.column else ""
        if self.line and not self.column:
            where = f"line {self.line}: "
        return where + self.message


def load(data: bytes) -> Any:
    """Parse config bytes (UTF-8 YAML); YamlProblem for anything we refuse, never another error."""
    if len(data) > MAX_BYTES:
        raise YamlProblem(f"larger than {MAX_BYTES} bytes; not a config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise YamlProblem(f"not UTF-8 (byte 0x{byte} at offset {exc.start})", line) from None
    try:
        return _load_fast(text) if _FAST else _load_composing(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML ({exc.problem or exc.context})"
        if mark is None:
            raise YamlProblem(message) from None
        raise YamlProblem(message, mark.line + 1, mark.column + 1) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (e.g. a control code)
        line = _line_at(data, text, exc.position)
        message = f"invalid YAML (character #x{exc.character:04x} is not allowed)"
        raise YamlProblem(message, line) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:  # int("9" * 5000), 2001-13-45
        raise YamlProblem(f"invalid YAML value ({str(exc)[:120]})") from None


def _line_at(data: bytes, text: str, position: int) -> int:
    """The 1-based line of a ReaderError: libyaml's offset is in UTF-8 bytes, PyYAML's in
    characters."""
    if _FAST:
        return data.count(b"\n", 0, position) + 1
    return text.count("\n", 0, position) + 1


def _load_fast(text: str) -> Any:
    """Measure the shape on the C event stream, then let libyaml build what passed."""
    try:
        measure(yaml.parse(text, Loader=yaml.CSafeLoader))
    except yaml.MarkedYAMLError as exc:
        # libyaml refuses 1,000 levels itself, found by its look-ahead before we see level 65;
        # the pure parser on the text up to there names level 65 as the composer always did
        if exc.problem != "exceeded maximum nesting depth" or exc.problem_mark is None:
            raise
        measure(yaml.parse(text[: exc.problem_mark.index], Loader=yaml.SafeLoader))
        raise
    return yaml.load(text, Loader=yaml.CSafeLoader)


def _load_composing(text: str) -> Any:
    """Without libyaml: the pure-Python composer, counting as it composes."""
    loader = _BoundedLoader(text)  # the reader checks every character here already
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def measure(events: Iterable[yaml.Event]) -> int:
    """The first document's size with aliases expanded (what ``_BoundedLoader`` counts), or the
    ComposerError it raises, at the same mark: nesting past MAX_DEPTH, more than MAX_NODES
    values, an alias to a node still open (recursive), an undefined or a repeated anchor.

    One pass with a stack of open collections; a closed anchor's size is remembered, so an
    alias costs one addition however much it expands to.
    """
    shape = _Shape()
    documents = 0
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:  # the loader refuses a second document; nothing to measure
                break
        elif isinstance(event, yaml.CollectionEndEvent):
            shape.close()
        elif isinstance(event, yaml.NodeEvent):
            shape.open(event)
    return shape.total


class _Shape:
    """The open collections of one document (start mark, anchor, size so far) and the sizes
    of its closed anchors."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}  # anchor → its node's size; absent while it is open
        self.seen: dict[str, Any] = {}  # anchor → the mark where it was defined
        self.stack: list[tuple[Any, str | None, int]] = []
        self.total = 0

    def open(self, event: yaml.NodeEvent) -> None:
        mark: Any = event.start_mark
        if len(self.stack) + 1 > MAX_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        anchor = event.anchor
        if isinstance(event, yaml.AliasEvent):
            self._add(self._alias_size(anchor, mark))
            return
        if anchor is not None:
            if anchor in self.seen:
                first = f"found duplicate anchor {anchor!r}; first occurrence"
                raise ComposerError(first, self.seen[anchor], "second occurrence", mark)
            self.seen[anchor] = mark
        if isinstance(event, yaml.CollectionStartEvent):
            self.stack.append((mark, anchor, 1))
            return
        if anchor is not None:
            self.sizes[anchor] = 1
        self._add(1)

    def close(self) -> None:
        mark, anchor, size = self.stack.pop()
        if size > MAX_NODES:
            message = f"expands to over {MAX_NODES} values (aliases count in full)"
            raise ComposerError(None, None, message, mark)
        if anchor is not None:
            self.sizes[anchor] = size
        self._add(size)

    def _alias_size(self, anchor: str | None, mark: Any) -> int:
        if anchor not in self.seen:
            raise ComposerError(None, None, f"found undefined alias {anchor!r}", mark)
        size = self.sizes.get(anchor or "")
        if size is None:
            raise ComposerError(None, None, "an alias refers to a node that contains it", mark)
        return size

    def _add(self, size: int) -> None:
        if self.stack:
            mark, anchor, sofar = self.stack[-1]
            self.stack[-1] = (mark, anchor, sofar + size)
        else:
            self.total = size


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses depth past MAX_DEPTH, expansion past MAX_NODES, and
    aliases to a node that contains them (a recursive tree)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) → its size with aliases expanded
        self.root_size = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        mark = self.peek_event().start_mark
        is_alias = self.check_event(yaml.AliasEvent)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is None:
            return None
        if is_alias:
            if id(node) not in self._sizes:
                raise ComposerError(None, None, "an alias refers to a node that contains it", mark)
            return node
        size = 1 + sum(self._sizes[id(child)] for child in _children(node))
        if size > MAX_NODES:
            raise ComposerError(
                None, None, f"expands to over {MAX_NODES} values (aliases count in full)", mark
            )
        self._sizes[id(node)] = size
        if parent is None:
            self.root_size = size
        return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
