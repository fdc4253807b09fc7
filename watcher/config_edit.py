"""Adding sources to a config file's text while keeping every comment and layout choice in it.

Loading and dumping the YAML again would drop the comments a user wrote (and reorder, requote
and expand ``${VAR}`` everywhere), so the new list items are inserted as text: after the line
where the ``sources:`` block list ends, at the indentation of its first ``-``. The result is
loaded again as a config before anyone writes it (``watcher.cli``), so a file this cannot
edit safely is refused rather than damaged. Pure: text in, text out.
"""

from __future__ import annotations

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from watcher.errors import ConfigError, Problem

__all__ = ["insert_sources", "sources_indent"]


def insert_sources(text: str, items: str, *, comment: str = "") -> str:
    """``text`` with the YAML list ``items`` (unindented ``- name: ...`` lines) added at the
    end of its ``sources:`` list, after a ``# comment`` line when given.

    ConfigError when ``sources`` is not a block list (``sources: [...]``): paste instead.
    """
    node = _sources(text)
    indent = sources_indent(text)
    cut = text.find("\n", _end(node))
    head, tail = (text, "") if cut < 0 else (text[:cut], text[cut:])
    lines = ([f"# {comment}"] if comment else []) + items.rstrip("\n").splitlines()
    block = "".join(f"\n{' ' * indent}{line}" for line in lines)
    return head + block + (tail or "\n")


def sources_indent(text: str) -> int:
    """The column of the ``-`` of the first item of ``sources`` (0 or 2 in practice)."""
    first = _sources(text).value[0]
    line = text.splitlines()[first.start_mark.line]
    return len(line) - len(line.lstrip(" "))


def _sources(text: str) -> SequenceNode:
    """The ``sources`` node of a config that has already loaded (so: bounded, a mapping)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    for key, value in root.value if isinstance(root, MappingNode) else []:
        is_sources = isinstance(key, ScalarNode) and key.value == "sources"
        if is_sources and isinstance(value, SequenceNode) and not value.flow_style and value.value:
            return value
    raise ConfigError(
        [Problem("sources", "not a block list of '- name: ...' items: paste the --print output")]
    )


def _end(node: Node) -> int:
    """Where the last value of a block collection ends: its deepest last scalar or flow
    collection (a block's own end mark lies past the comments that follow it)."""
    end = 0
    while isinstance(node, SequenceNode | MappingNode) and not node.flow_style and node.value:
        last = node.value[-1]
        if isinstance(node, MappingNode):
            end = max(end, last[0].end_mark.index)  # an alias value's marks are its anchor's
            last = last[1]
        node = last
    return max(end, node.end_mark.index)
