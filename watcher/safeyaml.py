"""Config bytes → a YAML tree, with bounds: size, nesting depth and alias expansion.

``yaml.safe_load`` builds no objects but it trusts the document's shape: a 1 KB "billion
laughs" of nested aliases composes in microseconds into a tree whose walk (interpolation,
validation) then took 104 s and 2.2 GB, and 2,000 nested brackets overflow Python's stack in
the recursive composer. The loader here counts while it composes, so either fails in
milliseconds with the line where it happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_BYTES = 1_000_000  # a config with thousands of sources is ~1 MB; past it, not a config
MAX_DEPTH = 64  # the deepest key path of the schema is 4; 64 leaves room for any YAML style
MAX_NODES = 50_000  # values after alias expansion; 1,000 sources take ~12k, and 50k load in ~2 s


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
    loader = None
    try:
        loader = _BoundedLoader(text)  # the reader checks every character here already
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML ({exc.problem or exc.context})"
        if mark is None:
            raise YamlProblem(message) from None
        raise YamlProblem(message, mark.line + 1, mark.column + 1) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (e.g. a control code)
        line = text.count("\n", 0, exc.position) + 1
        message = f"invalid YAML (character #x{exc.character:04x} is not allowed)"
        raise YamlProblem(message, line) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:  # int("9" * 5000), 2001-13-45
        raise YamlProblem(f"invalid YAML value ({str(exc)[:120]})") from None
    finally:
        if loader is not None:
            loader.dispose()


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses depth past MAX_DEPTH, expansion past MAX_NODES, and
    aliases to a node that contains them (a recursive tree)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) → its size with aliases expanded

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
        return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
