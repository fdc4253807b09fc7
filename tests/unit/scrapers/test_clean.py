"""clean_text on text written for these tests: structural signals, generic phrasings, metadata."""

from __future__ import annotations

import pytest

from scrapers import clean_text
from scrapers.clean import clean
from scrapers.clean.steps import Line, is_timestamp

BODY = [
    "The city council approved a new budget on Tuesday after a debate that lasted most of the"
    " night, with members split over how much to spend on road repairs and bus services.",
    "The mayor said the plan would keep property taxes flat for a third year while adding"
    " money for the fire service, which had warned that two stations might have to close.",
    "Opponents said the budget relied on optimistic forecasts of sales tax revenue and would"
    " leave the city short if the local economy slowed down during the next twelve months.",
]
OTHER_STORY = (
    "Police in a neighbouring county said on Monday that they had arrested two men in"
    " connection with a series of burglaries at farm shops, and appealed for witnesses."
)


def _text(*lines: str) -> str:
    return "\n".join(lines)


@pytest.mark.parametrize(
    "heading",
    [
        "Related Articles",
        "Recommended for you",
        "More stories",
        "More from The Daily Example",
        "Top stories on Newsly right now",
        "You may also like",
        "Most read",
        "Comments",
        "12 Comments",
        "Join the conversation",
        "Trending now",
        "Latest news",
        "Other articles",
    ],
)
def test_clean_text_cuts_at_headings_of_other_stories(heading: str) -> None:
    """A "related stories"-style heading below the body cuts it and the rest, paragraphs too."""
    text = _text(*BODY, heading, "Farm shop burglaries: two arrested", OTHER_STORY)
    assert clean_text(text) == "\n\n".join(BODY)


@pytest.mark.parametrize(
    "line",
    [
        "Continue reading with a free account",
        "Keep reading: subscribe for full access",
        "Subscribe to continue reading.",
        "Sign up to read this article",
        "Already a subscriber? Sign in",
        "Create a free account to unlock this story",
        "Follow The Daily Example on Google News to get our latest stories in your feed.",
        "Follow us on Twitter",
        "Get all your news in one place.",
        "Download the app",
        "Advertisement",
        "Story continues below advertisement",
        "(Image credit: Jane Doe / Getty Images)",
        "Photo: John Smith/Reuters",
        "Image: Shutterstock",
        "SEE MORE: Another story about something else entirely",
        "Read more: Council budget row deepens",
        "Copyright 2025",
        "4 min read",
    ],
)
def test_clean_text_drops_boilerplate_lines(line: str) -> None:
    """Promo, paywall, follow, credit and label-link lines go wherever they are."""
    text = _text(BODY[0], line, BODY[1], BODY[2])
    assert clean_text(text) == "\n\n".join(BODY)


@pytest.mark.parametrize(
    "line",
    [
        "35 minutes ago",
        "an hour ago",
        "Updated 2 hours ago",
        "Nov 5, 2024, 3:45 PM ET",
        "2024-06-11",
        "5:45 AM PST 11/19/2019 by Patrick Shanley",
        "sexta-feira, 22 de outubro de 2010 às 20:13",
    ],
)
def test_timestamp_lines_are_recognised(line: str) -> None:
    """Date and time lines in the usual spellings are timestamps."""
    assert is_timestamp(Line(0, line))


@pytest.mark.parametrize(
    "line",
    [
        "The vote at 10:30 in 2019 was long and hard for all of the people who sat through it",
        "Two hours ago the council had not yet voted on the budget, officials said.",
        "What Happened",
    ],
)
def test_sentences_with_times_are_not_timestamps(line: str) -> None:
    """A sentence that mentions a time is body, not a timestamp."""
    assert not is_timestamp(Line(0, line))


def test_clean_text_keeps_section_headings_and_lists() -> None:
    """Short subheadings and bullet lists inside the body survive cleaning."""
    text = _text(BODY[0], "Why this matters", BODY[1], "- First point", "- Second point", BODY[2])
    out = clean_text(text)
    assert "Why this matters" in out.split("\n\n")
    assert "- First point\n- Second point" in out


def test_related_block_with_whole_paragraphs_of_other_stories_is_cut() -> None:
    """Cards of other stories (outlet, "35 minutes ago", headline, paragraph) go with no heading."""
    text = _text(
        *BODY,
        "Tom's Guide",
        "35 minutes ago",
        "- Tom's Guide",
        "New study reveals how many people use AI for companionship",
        OTHER_STORY,
        "Business Insider",
        "an hour ago",
        "Meta considers using rival AI models",
        OTHER_STORY,
    )
    assert clean_text(text) == "\n\n".join(BODY)


def test_subscription_wall_aggregator_text_is_reduced_to_the_story() -> None:
    """Aggregator promos above the headline, the caption, the wall and the outlet cards go."""
    text = _text(
        "Unlock every story from 200+ publishers.",
        "One subscription. Every newsroom.",
        "Start your trial",
        "The Guardian",
        "Science",
        "Glacier retreat doubles in a decade, survey finds",
        "Ice fields at the foot of the mountain.",
        *BODY,
        "Continue reading with a free account",
        "Already have an account? Log in",
        "Recommended for you",
        "Reuters",
        "12 minutes ago",
        OTHER_STORY,
    )
    out = clean_text(text)
    assert out == "\n\n".join(["Glacier retreat doubles in a decade, survey finds", *BODY])


def test_attribution_becomes_original_source_not_body() -> None:
    """ "This article originally appeared in X" is metadata; what follows it is not the story."""
    text = _text(*BODY, "This article originally appeared in The New York Times.", "Comments")
    result = clean(text)
    assert result.text == "\n\n".join(BODY)
    assert result.original_source == "The New York Times"


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("This story was originally published by ProPublica.", "ProPublica"),
        ("Originally published on Live Science.", "Live Science"),
        ("The article first appeared in The Conversation", "The Conversation"),
    ],
)
def test_attribution_phrasings(line: str, source: str) -> None:
    """Several phrasings of a syndication note all yield the source name."""
    assert clean(_text(*BODY, line)).original_source == source


def test_teaser_repeating_the_lede_is_dropped() -> None:
    """A listing teaser ending in an ellipsis that opens the first paragraph goes."""
    teaser = BODY[0][:90].rsplit(" ", 1)[0] + "…"
    assert clean_text(_text(teaser, *BODY)) == "\n\n".join(BODY)


def test_known_title_is_removed_from_the_body() -> None:
    """With the title known (extraction), its line is metadata, not body."""
    title = "Council passes budget after all-night debate"
    result = clean(_text("By Jane Doe", title, *BODY), title=title)
    assert result.text == "\n\n".join(BODY)


def test_lede_above_the_title_stays() -> None:
    """A long lede printed above the headline is body, so only the headline goes."""
    title = "Council passes budget after all-night debate"
    result = clean(_text(BODY[0], title, BODY[1], BODY[2]), title=title)
    assert result.text == "\n\n".join(BODY)


def test_clean_text_of_empty_or_blank_text_is_empty() -> None:
    """Nothing in, nothing out, without errors."""
    assert clean_text("") == ""
    assert clean_text("\n \n\t\n") == ""


def test_dropped_lines_carry_their_reason() -> None:
    """clean() says which step dropped which line, so callers can log decisions."""
    result = clean(_text(*BODY, "Related Articles", OTHER_STORY))
    reasons = {line.text: why for line, why in result.dropped}
    assert reasons == {"Related Articles": "section", OTHER_STORY: "after:section"}
