"""Boilerplate rules as data: the packaged file loads, user files merge, errors name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrapers.clean import clean_text
from scrapers.clean.rules import RulesError, load_rules, parse_rules

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "tests" / "data" / "rules"


def test_load_rules_without_arguments_gives_the_packaged_default() -> None:
    """load_rules() works with no path and carries global rules of every kind that matters."""
    rules = load_rules()
    assert rules.global_rules.drop
    assert rules.global_rules.cut_after
    assert rules.global_rules.attribution
    assert rules.min_pages == 3


def test_packaged_rules_are_the_repository_config_file() -> None:
    """The copy shipped inside scrapers/clean/ is byte-identical to config/boilerplate.yaml."""
    packaged = REPO / "scrapers" / "clean" / "boilerplate.yaml"
    assert packaged.read_bytes() == (REPO / "config" / "boilerplate.yaml").read_bytes()


@pytest.mark.parametrize(
    ("name", "line", "fragment"),
    [
        ("bad_yaml.yaml", 5, "not valid YAML"),
        ("unknown_key.yaml", 4, "unknown key 'drop_lines'"),
        ("bad_pattern.yaml", 6, "bad pattern"),
        ("not_a_list.yaml", 2, "credits must be a list"),
        ("attribution_without_group.yaml", 3, "(?P<source>"),
        ("bad_min_pages.yaml", 2, "min_pages"),
        ("bad_host.yaml", 2, "not a host name"),
        ("duplicate_key.yaml", 3, "duplicate key 'drop'"),
    ],
    ids=lambda v: str(v),
)
def test_load_rules_reports_file_and_line(name: str, line: int, fragment: str) -> None:
    """A broken rules file raises RulesError whose message starts with file:line."""
    path = RULES / name
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert fragment in str(caught.value)


def test_load_rules_reports_a_missing_file() -> None:
    """A path that does not exist is a RulesError naming it, not an OSError."""
    missing = RULES / "nope.yaml"
    with pytest.raises(RulesError, match=r"nope\.yaml:0: cannot read"):
        load_rules(missing)


def test_user_rules_merge_on_top_of_the_default() -> None:
    """A user file adds rules and replaces min_pages; the default rules still apply."""
    rules = load_rules(RULES / "user_rules.yaml")
    assert rules.min_pages == 5
    text = (
        "Brought to you by Acme\n\nFollow us on Twitter for more.\n\nA real paragraph stays here."
    )
    assert clean_text(text, rules=rules) == "A real paragraph stays here."


def test_site_rules_apply_to_the_host_and_its_subdomains_only() -> None:
    """A per-host rule fires for www.example.com and news.example.com, not for other hosts."""
    rules = load_rules(RULES / "user_rules.yaml")
    body = " ".join(["The council met on Tuesday and agreed the budget."] * 8)
    text = f"{body}\n\nThe Morning Briefing\n\nOther story text."
    for url in ("https://www.example.com/a", "https://news.example.com/b"):
        assert clean_text(text, url, rules=rules) == body
    assert "Other story text." in clean_text(text, "https://example.org/a", rules=rules)


def test_load_rules_can_skip_the_default() -> None:
    """include_default=False gives only the user's rules, for users replacing the defaults."""
    rules = load_rules(RULES / "user_rules.yaml", include_default=False)
    assert len(rules.global_rules.drop) == 1
    assert rules.global_rules.cut_after == ()


def test_empty_rules_text_is_no_rules() -> None:
    """An empty file is valid and changes nothing."""
    rules = parse_rules("", "empty.yaml")
    assert rules.global_rules.drop == ()
    assert rules.sources == ("empty.yaml",)
