"""Aggregator pages built around real article bodies, to test that the furniture stays out.

News aggregators wrap a story they did not write in their own furniture: relative and absolute
timestamps, share bars and "copy link" buttons, widget errors, republication credits, cards
of other stories. ``wrap`` builds such a page around a body from a dev set, varying what a
rule could overfit to: where each piece of furniture sits (above the headline, in the meta row,
between paragraphs, after the body, in a sidebar), how it is worded (numbers, units, phrasing,
case) and which element carries it (span, div, p, li, button, time, small, a). It returns the
page with the body and every noise string it inserted, so a test can score body F1 and the
share of noise that leaked into the extracted text.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
OUTLETS = (
    "nytimes.com",
    "The Conversation",
    "Reuters",
    "ProPublica",
    "the Guardian",
    "KFF Health News",
)
CLASSES = ("meta", "toolbar", "c-row", "widget", "byline-row", "util", "x1", "card", "strip", "box")
TAGS = ("span", "div", "p", "li", "button", "time", "small", "a")
BODY_CLASSES = ("story-body", "article__content", "entry-content", "post", "c-article-body", "txt")


@dataclass(frozen=True, slots=True)
class Wrapped:
    """An aggregator page around a body: the HTML, what must come out, and what must not."""

    html: str
    title: str
    body: str
    noise: tuple[str, ...]
    original_source: str | None
    original_url: str | None


def relative_time(rng: random.Random) -> str:
    n = rng.randint(2, 59)
    hour, minute = rng.randint(1, 12), rng.randint(0, 59)
    ampm = rng.choice(("am", "pm", "AM", "PM", "a.m.", "p.m."))
    return rng.choice(
        (
            f"{n} minutes ago",
            f"{n} mins ago",
            f"{n}m ago",
            f"{rng.randint(2, 23)} hours ago",
            f"{rng.randint(2, 23)}h ago",
            f"{rng.randint(2, 23)} hrs ago",
            "an hour ago",
            "1 hour ago",
            f"{rng.randint(2, 6)} days ago",
            "Just now",
            f"Yesterday at {hour}:{minute:02d} {ampm}",
            f"Today at {hour}:{minute:02d} {ampm}",
            f"Updated {rng.randint(2, 23)} hours ago",
            f"Posted {n} minutes ago",
        )
    )


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


def absolute_time(rng: random.Random) -> str:
    month = rng.choice(MONTHS)
    day, year = rng.randint(1, 28), rng.randint(2019, 2026)
    hour, minute = rng.randint(1, 12), rng.randint(0, 59)
    return rng.choice(
        (
            f"{month} {day}, {year}",
            f"{month[:3]} {day}, {year}, {hour}:{minute:02d} PM",
            f"{day} {month} {year} at {hour + 6}:{minute:02d}",
            f"{year}-{MONTHS.index(month) + 1:02d}-{day:02d} {hour}:{minute:02d}",
            f"Published {month} {day}, {year}",
            f"Mon, {day:02d} {month[:3]} {year} {hour + 6}:{minute:02d}:00 GMT",
            f"Updated: {month[:3]} {day}, {year} {hour}:{minute:02d} a.m. ET",
        )
    )


def share_bar(rng: random.Random) -> str:
    nets = ["Facebook", "Twitter", "LinkedIn", "Email", "WhatsApp", "Reddit", "X", "Copy link"]
    rng.shuffle(nets)
    return rng.choice(
        (
            "Copy link",
            "Copy link to this story",
            "Link copied!",
            "Link copied to clipboard",
            " ".join(nets[: rng.randint(2, 5)]),
            " | ".join(nets[: rng.randint(2, 4)]),
            f"Share on {nets[0] if nets[0] != 'Copy link' else 'Facebook'}",
            "Share this article",
            "Share this story",
            "Share",
        )
    )


def widget_error(rng: random.Random) -> str:
    return rng.choice(
        (
            "An error has occurred, please try again",
            "An error occurred. Please try again later.",
            "Something went wrong. Please try again.",
            "Oops! Something went wrong.",
            "There was an error loading this content.",
            "We were unable to load this content.",
            "This video could not be loaded.",
            "Please try again later.",
        )
    )


def republication(rng: random.Random, outlet: str) -> str:
    return rng.choice(
        (
            f"Originally published by {outlet}. Republished with permission.",
            f"Originally published on {outlet}.",
            f"This article originally appeared in {outlet}.",
            f"This story was first published by {outlet}.",
            f"Republished with permission from {outlet}.",
            f"This article is republished from {outlet} under a Creative Commons license."
            " Read the original article.",
        )
    )


def _element(rng: random.Random, text: str) -> str:
    tag = rng.choice(TAGS)
    attrs = f' class="{rng.choice(CLASSES)}"' if rng.random() < 0.7 else ""
    if tag == "a":
        attrs += ' href="#"'
    return f"<{tag}{attrs}>{text}</{tag}>"


def _block(rng: random.Random, texts: list[str]) -> str:
    tag = rng.choice(("div", "section", "aside", "ul", "footer", "nav"))
    inner = "".join(
        f"<li>{t}</li>" if tag == "ul" else f"<div>{_element(rng, t)}</div>" for t in texts
    )
    return f'<{tag} class="{rng.choice(CLASSES)}-{rng.randint(1, 9)}">{inner}</{tag}>'


def wrap(title: str, paragraphs: list[str], rng: random.Random) -> Wrapped:
    """An aggregator page carrying ``paragraphs`` under ``title``, with furniture around them."""
    noise: list[str] = []

    def some(make: object, count: int) -> list[str]:
        made = [make(rng) for _ in range(count)]  # type: ignore[operator]
        noise.extend(made)
        return made

    outlet = rng.choice(OUTLETS)
    header = _block(rng, some(relative_time, 1) + some(share_bar, 1))
    meta_row = _block(rng, some(rng.choice((relative_time, absolute_time)), 1) + some(share_bar, 1))
    body = [f"<p>{p}</p>" for p in paragraphs]
    if len(body) > 2:  # a widget error or a copy-link button inside the body
        inserted = some(rng.choice((widget_error, share_bar)), 1)
        body.insert(rng.randint(1, len(body) - 1), f"<div>{_element(rng, inserted[0])}</div>")
    credit = republication(rng, outlet)
    original_url = None
    if rng.random() < 0.5:
        original_url = (
            f"https://{outlet.lower().replace(' ', '')}.example/story/{rng.randint(1, 999)}"
        )
        linked = credit.replace(outlet, f'<a href="{original_url}">{outlet}</a>', 1)
    else:
        linked = credit
    noise.append(credit)
    footer = _block(rng, some(share_bar, 1) + some(widget_error, 1))
    cards = "".join(
        f"<div class='card'><span>{o}</span><span>{t}</span><a href='/s/{n}'>{h}</a></div>"
        for n, (o, t, h) in enumerate(
            (rng.choice(OUTLETS), relative_time(rng), f"Other headline number {k} about markets")
            for k in range(rng.randint(2, 4))
        )
    )
    sidebar = _block(rng, some(relative_time, 1) + some(absolute_time, 1))
    order = [header, f"<h1>{title}</h1>", meta_row]
    opening = f'<div class="{rng.choice(BODY_CLASSES)}">{"".join(body)}'
    story = (
        f"{opening}<p>{linked}</p></div>"
        if rng.random() < 0.5
        else f"{opening}</div><p><em>{linked}</em></p>"
    )
    order += [story, footer]
    html = (
        f"<html><head><title>{title} | Aggregator</title>"
        f'<meta property="og:title" content="{title}"></head><body>'
        f"<main><article>{''.join(order)}</article></main>"
        f"<aside>{sidebar}</aside><section class='more'>{cards}</section></body></html>"
    )
    return Wrapped(html, title, "\n\n".join(paragraphs), tuple(noise), outlet, original_url)


def _norm(text: str) -> str:
    return " " + " ".join(_TOKEN.findall(text.lower())) + " "


def leaked(wrapped: Wrapped, text: str) -> list[str]:
    """The noise strings found in ``text`` (those the body itself also contains do not count)."""
    out, body = _norm(text), _norm(wrapped.body)
    return [n for n in wrapped.noise if _norm(n) in out and _norm(n) not in body]


def shingle_f1(predicted: str, truth: str, size: int = 4) -> float:
    """The news dev set's score: word 4-gram shingles with counts, F1 of one page."""

    def grams(text: str) -> Counter[tuple[str, ...]]:
        words = _TOKEN.findall(text)
        return Counter(tuple(words[i : i + size]) for i in range(max(len(words) - size + 1, 1)))

    pred, true = grams(predicted), grams(truth)
    matched = sum((pred & true).values())
    if not matched:
        return 0.0
    precision, recall = matched / sum(pred.values()), matched / sum(true.values())
    return 2 * precision * recall / (precision + recall)
