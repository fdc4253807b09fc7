"""[clean] Boilerplate rules as data: ``boilerplate.yaml`` → ``Rules``; errors name file:line.

A rules file has three top-level keys, all optional::

    learned: {min_pages: 3}          # learned site boilerplate: drop after N distinct pages
    global:  {<kind>: [regex, ...]}  # rules for every site
    sites:   {<host>: {<kind>: [regex, ...]}}   # extra rules for one host and its subdomains

The kinds are listed in ``KINDS``. Patterns are Python regular expressions, matched
case-insensitively with ``re.search`` against one stripped line (or, for ``dom_drop``, against
an element's class, id, role and aria-label). Files given to ``load_rules`` are merged on top of
the packaged default: lists are appended, scalars replaced, so a user file only adds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Compiled patterns of each kind, for one scope (global or one host)."""

    drop: tuple[re.Pattern[str], ...] = ()
    cut_after: tuple[re.Pattern[str], ...] = ()
    promo_heading: tuple[re.Pattern[str], ...] = ()
    credits: tuple[re.Pattern[str], ...] = ()
    attribution: tuple[re.Pattern[str], ...] = ()
    end_markers: tuple[re.Pattern[str], ...] = ()
    dom_drop: tuple[re.Pattern[str], ...] = ()

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


@functools.lru_cache(maxsize=256)
def combined(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """One alternation of ``patterns``: one regex search per line instead of one per rule.

    None when there are no patterns. Patterns that cannot share an alternation (global inline
    flags, a named group used twice) fall back to a pattern per rule, so this never fails.
    """
    if not patterns:
        return None
    if len(patterns) == 1:
        return patterns[0]
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)
    except re.error:
        return _AnyOf(patterns)  # type: ignore[return-value]


class _AnyOf:
    """Duck-typed stand-in for a combined pattern: the first rule that matches."""

    def __init__(self, patterns: tuple[re.Pattern[str], ...]) -> None:
        self.patterns = patterns

    def search(self, text: str) -> re.Match[str] | None:
        for pattern in self.patterns:
            if match := pattern.search(text):
                return match
        return None


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
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise RulesError(file, line, f"not valid YAML: {exc.problem}") from exc
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
            if not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", host):
                raise RulesError(file, _line(key_node), f"sites: {host!r} is not a host name")
            sites[host.removeprefix("www.")] = _ruleset(node, file)
    return Rules(global_rules, sites, min_pages, (file,))


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
    value = yaml.safe_load(yaml.serialize(value_node))
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise RulesError(file, _line(value_node), "learned.min_pages must be an integer >= 2")
    return value


def _ruleset(node: yaml.Node, file: str) -> RuleSet:
    entries = _mapping(node, file, "a rule set")
    _only_keys(entries, KINDS, file)
    compiled: dict[str, Any] = {}
    for kind, (_, value_node) in entries.items():
        compiled[kind] = tuple(_patterns(value_node, file, kind))
    return replace(RuleSet(), **compiled)


def _patterns(node: yaml.Node, file: str, kind: str) -> Iterable[re.Pattern[str]]:
    if not isinstance(node, yaml.SequenceNode):
        raise RulesError(file, _line(node), f"{kind} must be a list of patterns")
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or item.tag != "tag:yaml.org,2002:str":
            raise RulesError(file, _line(item), f"{kind}: each pattern must be a string")
        yield _compile(item, file, kind)


def _compile(node: yaml.ScalarNode, file: str, kind: str) -> re.Pattern[str]:
    try:
        pattern = re.compile(str(node.value), re.IGNORECASE)
    except re.error as exc:
        raise RulesError(file, _line(node), f"{kind}: bad pattern {node.value!r}: {exc}") from exc
    if kind == "attribution" and "source" not in pattern.groupindex:
        raise RulesError(file, _line(node), "attribution patterns need a (?P<source>...) group")
    return pattern
