r"""[clean] Boilerplate rules as data: ``boilerplate.yaml`` → ``Rules``; errors name file:line.

A rules file has three top-level keys, all optional::

    learned: {min_pages: 3}          # learned site boilerplate: drop after N distinct pages
    global:  {<kind>: [regex, ...]}  # rules for every site
    sites:   {<host>: {<kind>: [regex, ...]}}   # extra rules for one host and its subdomains

The kinds are listed in ``KINDS``. Patterns are searched case-insensitively in one stripped
line (or, for ``dom_drop``, in an element's class, id, role and aria-label). They run on text
that strangers write, so they are compiled with RE2, which matches in time linear in the text
whatever the pattern: a Python ``re`` pattern could backtrack for minutes on one crafted line.
The syntax is Python's minus what needs backtracking (backreferences, lookarounds, atomic
groups, possessive quantifiers, ``(?x)``): a rule RE2 cannot compile is a RulesError naming its
file and line. ``\w``, ``\d`` and ``\s`` keep Python's Unicode meaning (``to_re2`` rewrites
them), ``\Z`` and ``\uXXXX`` are accepted; ``\b`` is a boundary of ASCII word characters.
Files given to ``load_rules`` are merged on top of the packaged default: lists are appended,
scalars replaced, so a user file only adds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import re2
import yaml

# What each kind of rule does to a line that matches it.
KINDS: Mapping[str, str] = {
    "drop": "the line is boilerplate (promo, paywall, share/follow prompts): drop it",
    "cut_after": "a section heading after which the rest is not the article: cut it and the rest",
    "promo_heading": "heads an inline promo block: it and the headline lines under it go",
    "credits": "an image credit or caption line: drop it",
    "attribution": "names the original source (group 'source'): becomes metadata, not body",
    "end_markers": "a line that closes the article (copyright): drop it and the rest",
    "dom_drop": "class/id/role/aria-label of HTML blocks removed before extraction",
}
DEFAULT_MIN_PAGES = 3  # a paragraph on 3 distinct pages of a host is its template (see learned.py)
PACKAGED_DEFAULT = "boilerplate.yaml"  # shipped in scrapers/clean/, identical to config/'s


class RulesError(Exception):
    """A rules file could not be used; the message reads ``file:line: what is wrong``."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


class RuleMatch(Protocol):
    """What a match of a rule offers (RE2's match objects, like ``re.Match``)."""

    def group(self, name: str | int = 0, /) -> str: ...


class Program(Protocol):
    """A compiled RE2 pattern: the part of its ``re``-like interface the rules use."""

    @property
    def pattern(self) -> str: ...

    @property
    def groupindex(self) -> Mapping[str, int]: ...

    def search(self, text: str) -> RuleMatch | None: ...


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """One compiled rule: the pattern as written and its RE2 program (of ``to_re2(pattern)``)."""

    pattern: str
    program: Program

    def search(self, text: str) -> RuleMatch | None:
        return self.program.search(text)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Compiled patterns of each kind, for one scope (global or one host)."""

    drop: tuple[Rule, ...] = ()
    cut_after: tuple[Rule, ...] = ()
    promo_heading: tuple[Rule, ...] = ()
    credits: tuple[Rule, ...] = ()
    attribution: tuple[Rule, ...] = ()
    end_markers: tuple[Rule, ...] = ()
    dom_drop: tuple[Rule, ...] = ()

    def merged(self, other: RuleSet) -> RuleSet:
        """Both sets of patterns, ``other``'s after ours."""
        return RuleSet(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class Rules:
    """Every rule in force: global ones, per-host ones and the learned-boilerplate threshold."""

    global_rules: RuleSet = RuleSet()
    sites: Mapping[str, RuleSet] = field(default_factory=dict)
    min_pages: int = DEFAULT_MIN_PAGES
    sources: tuple[str, ...] = ()

    def for_host(self, host: str | None) -> RuleSet:
        """Global rules plus those of ``host`` and of every parent domain listed in ``sites``."""
        ruleset = self.global_rules
        if not host:
            return ruleset
        host = host.lower().removeprefix("www.")
        for site, site_rules in self.sites.items():
            if host == site or host.endswith("." + site):
                ruleset = ruleset.merged(site_rules)
        return ruleset

    def merged(self, other: Rules) -> Rules:
        """``other`` on top of these rules: lists appended, ``min_pages`` replaced."""
        sites = dict(self.sites)
        for host, ruleset in other.sites.items():
            sites[host] = sites[host].merged(ruleset) if host in sites else ruleset
        return Rules(
            global_rules=self.global_rules.merged(other.global_rules),
            sites=sites,
            min_pages=other.min_pages,
            sources=self.sources + other.sources,
        )


class Matcher:
    """All rules of one kind as one RE2 program: one linear scan per line, not one per rule.

    ``matches`` runs the combined program without capture groups (RE2's fastest mode);
    ``first`` runs it too and only on a hit asks the rules in order for the match, so the
    groups come from the first rule that matches, as before rules were combined.
    """

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self._rules = rules
        source = "|".join(f"(?:{rule.program.pattern})" for rule in rules)
        try:
            self._any: Program | None = re2.compile(source, _options(capture=False))
        except re2.error:  # past RE2's memory budget: fall back to one scan per rule
            self._any = None
        # The C++ program under the wrapper. The wrapper's ``search`` is a generator that maps
        # byte offsets back to characters, most of a short line's cost; a yes/no question
        # needs no offsets, so ``matches`` asks the program itself when it can reach it.
        self._program = getattr(self._any, "_regexp", None)

    def matches(self, text: str) -> bool:
        if self._program is not None:
            encoded = text.encode("utf-8")  # as the wrapper does (and raises)
            spans = self._program.Match(_UNANCHORED, encoded, 0, len(encoded))
            return bool(spans[0] != _NO_SPAN)
        if self._any is not None:
            return self._any.search(text) is not None
        return any(rule.search(text) is not None for rule in self._rules)

    def first(self, text: str) -> RuleMatch | None:
        if self._any is not None and self._any.search(text) is None:
            return None
        for rule in self._rules:
            if (match := rule.search(text)) is not None:
                return match
        return None


_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED  # what ``search`` passes to the program
_NO_SPAN = (-1, -1)  # the program's span of "no match"


@functools.lru_cache(maxsize=256)
def combined(rules: tuple[Rule, ...]) -> Matcher | None:
    """The Matcher of ``rules``, built once per tuple of rules; None when there are none."""
    return Matcher(rules) if rules else None


# Python's meaning of the class escapes in str patterns, as RE2 classes: \w is a letter, a
# digit of any script or "_" (checked against every code point of Python's Unicode database),
# \d a decimal digit, \s what str.isspace() accepts. RE2's own \w, \d and \s are ASCII only.
_CLASS_BODY = {"w": r"\p{L}\p{N}_", "d": r"\p{Nd}", "s": r"\t-\r\x1c-\x20\x85\p{Z}"}
_NEGATED = {"W": "w", "D": "d", "S": "s"}


def to_re2(pattern: str) -> str:
    r"""A rule's pattern in RE2 syntax with Python's meaning of ``\w \d \s`` (and negations).

    Also accepts ``\Z`` (RE2 spells it ``\z``) and ``\uXXXX``/``\UXXXXXXXX``. Raises ValueError
    for ``\W`` or ``\S`` inside ``[...]``, which RE2 cannot express there as Python means them.
    """
    out: list[str] = []
    i = 0
    class_end = -1  # index of the "]" closing the class we are in; -1 outside classes
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape, i = _escape(pattern, i + 1, in_class=i < class_end)
            out.append(escape)
            continue
        if char == "[" and i > class_end:
            class_end = _class_end(pattern, i)
        out.append(char)
        i += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """Index of the "]" that closes the class opened at ``start`` (len(pattern) if none).

    As in Python, a "]" right after "[" or "[^" is a literal member, not the end.
    """
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return min(i, len(pattern))


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """The RE2 spelling of the escape whose letter is at ``i``, and the index after it."""
    letter = pattern[i]
    if letter in _CLASS_BODY:
        body = _CLASS_BODY[letter]
        return (body if in_class else f"[{body}]"), i + 1
    if letter in _NEGATED:
        if in_class:
            if letter == "D":
                return r"\P{Nd}", i + 1
            raise ValueError(f"\\{letter} inside [...]: RE2 cannot negate it there as Python does")
        return f"[^{_CLASS_BODY[_NEGATED[letter]]}]", i + 1
    if letter == "Z":
        return r"\z", i + 1
    width = {"u": 4, "U": 8}.get(letter)
    digits = pattern[i + 1 : i + 1 + width] if width else ""
    if width and len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
        return f"\\x{{{digits}}}", i + 1 + width
    return "\\" + letter, i + 1


def _options(*, capture: bool) -> Any:
    """RE2 options of every rule: case-insensitive, quiet (errors are raised, not logged)."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.never_capture = not capture
    return options


def load_rules(*paths: Path, include_default: bool = True) -> Rules:
    """The packaged default rules with each of ``paths`` merged on top, in order.

    Raises RulesError naming file and line for unreadable YAML, unknown keys, values of the
    wrong type and patterns that do not compile.
    """
    rules = _load_default() if include_default else Rules()
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RulesError(str(path), 0, f"cannot read: {exc.strerror or exc}") from exc
        rules = rules.merged(parse_rules(text, str(path), base_min_pages=rules.min_pages))
    return rules


def parse_rules(text: str, file: str, *, base_min_pages: int = DEFAULT_MIN_PAGES) -> Rules:
    """Rules from the YAML ``text`` of ``file`` (named in errors only)."""
    root = _compose(text, file)
    if root is None:
        return Rules(min_pages=base_min_pages, sources=(file,))
    top = _mapping(root, file, "the rules file")
    _only_keys(top, {"learned", "global", "sites"}, file)
    min_pages = base_min_pages
    if "learned" in top:
        min_pages = _learned(top["learned"][1], file, base_min_pages)
    global_rules = _ruleset(top["global"][1], file) if "global" in top else RuleSet()
    sites: dict[str, RuleSet] = {}
    if "sites" in top:
        for host, (key_node, node) in _mapping(top["sites"][1], file, "sites").items():
            if not _is_host_name(host):
                raise RulesError(file, _line(key_node), f"sites: {host!r} is not a host name")
            sites[host.removeprefix("www.")] = _ruleset(node, file)
    return Rules(global_rules, sites, min_pages, (file,))


def _compose(text: str, file: str) -> yaml.Node | None:
    """The YAML node tree of ``text``; every way YAML can fail becomes a RulesError at a line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise RulesError(file, line, f"not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (NUL, U+FFFE, ...)
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise RulesError(
            file, line, f"not valid YAML: unacceptable character #x{exc.character:04x}"
        ) from exc
    except yaml.YAMLError as exc:
        raise RulesError(file, 0, f"not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise RulesError(file, 0, "not valid YAML: nested too deeply") from exc


def _is_host_name(host: str) -> bool:
    """``[a-z0-9.-]+\\.[a-z]{2,}``, checked without a pattern that backtracks over the dots."""
    labels, dot, suffix = host.rpartition(".")
    return bool(
        dot
        and re.fullmatch(r"[a-z0-9.-]+", labels)
        and len(suffix) >= 2
        and re.fullmatch(r"[a-z]+", suffix)
    )


def _load_default() -> Rules:
    """The rules shipped with the package (a copy of the repository's config/boilerplate.yaml)."""
    resource = resources.files("scrapers.clean").joinpath(PACKAGED_DEFAULT)
    return parse_rules(resource.read_text(encoding="utf-8"), str(resource))


_Entries = dict[str, tuple[yaml.Node, yaml.Node]]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _mapping(node: yaml.Node, file: str, what: str) -> _Entries:
    """A YAML mapping as {key: (key node, value node)}, refusing duplicate keys."""
    if not isinstance(node, yaml.MappingNode):
        raise RulesError(file, _line(node), f"{what} must be a mapping")
    entries: _Entries = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in entries:
            raise RulesError(file, _line(key_node), f"duplicate key {key!r}")
        entries[key] = (key_node, value_node)
    return entries


def _only_keys(entries: _Entries, allowed: Iterable[str], file: str) -> None:
    allowed = set(allowed)
    for key, (key_node, _) in entries.items():
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise RulesError(file, _line(key_node), f"unknown key {key!r} (known: {known})")


def _learned(node: yaml.Node, file: str, default: int) -> int:
    entries = _mapping(node, file, "learned")
    _only_keys(entries, {"min_pages"}, file)
    if "min_pages" not in entries:
        return default
    value_node = entries["min_pages"][1]
    value = _integer(value_node)
    if value is None or value < 2:
        raise RulesError(file, _line(value_node), "learned.min_pages must be an integer >= 2")
    return value


def _integer(node: yaml.Node) -> int | None:
    """A YAML integer scalar's value (``3``, ``0x10``, ``1_000``); None for anything else."""
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
        return None
    try:
        return int(yaml.constructor.SafeConstructor().construct_yaml_int(node))
    except (ValueError, yaml.YAMLError):  # an explicit !!int tag on text that is not a number
        return None


def _ruleset(node: yaml.Node, file: str) -> RuleSet:
    entries = _mapping(node, file, "a rule set")
    _only_keys(entries, KINDS, file)
    compiled: dict[str, Any] = {}
    for kind, (_, value_node) in entries.items():
        compiled[kind] = tuple(_patterns(value_node, file, kind))
    return replace(RuleSet(), **compiled)


def _patterns(node: yaml.Node, file: str, kind: str) -> Iterable[Rule]:
    if not isinstance(node, yaml.SequenceNode):
        raise RulesError(file, _line(node), f"{kind} must be a list of patterns")
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or item.tag != "tag:yaml.org,2002:str":
            raise RulesError(file, _line(item), f"{kind}: each pattern must be a string")
        yield _compile(item, file, kind)


def _compile(node: yaml.ScalarNode, file: str, kind: str) -> Rule:
    """The rule in ``node``; only ``attribution`` rules keep capture groups (RE2 is faster
    without), and theirs must include ``source``."""
    pattern = str(node.value)
    try:
        program: Program = re2.compile(to_re2(pattern), _options(capture=kind == "attribution"))
    except (re2.error, ValueError) as exc:
        raise RulesError(
            file, _line(node), f"{kind}: bad pattern {pattern!r}: {_reason(exc)}"
        ) from exc
    if kind == "attribution" and "source" not in program.groupindex:
        raise RulesError(file, _line(node), "attribution patterns need a (?P<source>...) group")
    return Rule(pattern, program)


def _reason(exc: Exception) -> str:
    """RE2's complaint as text (its errors carry the message as bytes)."""
    detail = exc.args[0] if exc.args else exc
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
