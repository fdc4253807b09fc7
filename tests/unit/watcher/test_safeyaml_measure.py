"""The C-event pre-pass counts what the pure-Python composer counted and refuses what it refused.

``safeyaml.measure`` replaced counting while composing (~10 s for 10,000 sources) with one pass
over libyaml's events; random small documents full of anchors and aliases, under small limits
so that both the node and the depth bounds are reached, must get the same size or the same
error at the same place from both.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher import safeyaml

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="needs libyaml")


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A flow-style YAML document whose nodes may carry anchors and may be aliases of any
    anchor drawn so far (closed, still open or not yet defined), repeated anchors included."""
    anchors: list[str] = []  # every anchor drawn so far
    closed: list[str] = []  # those whose node is complete: what an alias mostly names

    def node(depth: int) -> str:
        kind = draw(st.sampled_from(["scalar", "alias", "seq", "map"] if depth < 6 else ["scalar"]))
        if kind == "alias":
            pool = closed * 8 + [*anchors, "nope"]
            return "*" + draw(st.sampled_from(pool))
        prefix = ""
        if draw(st.booleans()):
            name = draw(st.sampled_from(["a", *[f"n{len(anchors)}"] * 9]))
            anchors.append(name)
            prefix = f"&{name} "
        if kind == "scalar":
            text = prefix + draw(st.sampled_from(["x", "1", "'q'", "2001-01-01"]))
        else:
            items = [node(depth + 1) for _ in range(draw(st.integers(0, 3)))]
            if kind == "seq":
                text = prefix + "[" + ", ".join(items) + "]"
            else:
                text = prefix + "{" + ", ".join(f"k{i}: {v}" for i, v in enumerate(items)) + "}"
        if prefix:
            closed.append(prefix[1:-1])
        return text

    return "top: " + node(0) + "\n"


def _outcome(run: object) -> tuple[str, object]:
    try:
        return ("ok", run())  # type: ignore[operator]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        return ("error", (exc.problem, exc.context, mark and (mark.line, mark.column)))


def _composer_size(text: str) -> int:
    loader = safeyaml._BoundedLoader(text)
    try:
        loader.get_single_node()
        return loader.root_size
    finally:
        loader.dispose()


@settings(max_examples=300, deadline=None)
@given(text=documents(), max_nodes=st.integers(3, 60), max_depth=st.integers(2, 8))
def test_measure_agrees_with_the_composer(text: str, max_nodes: int, max_depth: int) -> None:
    """Same size, or the same refusal (message and line/column), as the old composer."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(safeyaml, "MAX_NODES", max_nodes)
        patch.setattr(safeyaml, "MAX_DEPTH", max_depth)
        fast = _outcome(lambda: safeyaml.measure(yaml.parse(text, Loader=yaml.CSafeLoader)))
        slow = _outcome(lambda: _composer_size(text))
    assert fast == slow, text


@settings(max_examples=100, deadline=None)
@given(text=documents())
def test_load_accepts_and_refuses_as_the_composing_loader(text: str) -> None:
    """The whole fast load gives the same tree, or refuses, where the pure path did."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(safeyaml, "MAX_NODES", 40)
        fast = _outcome(lambda: safeyaml._load_fast(text))
        slow = _outcome(lambda: safeyaml._load_composing(text))
    assert fast[0] == slow[0], text
    if fast[0] == "ok":
        assert fast == slow
