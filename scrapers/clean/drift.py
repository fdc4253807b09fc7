"""[clean] Drift alarm: notice when a site's layout change breaks extraction (pure).

Per source, keep two moving averages of the extracted length and of the share the cleaning
pass removed: a slow one (the site's normal) and a fast one (the last few pages). When the
fast figure falls far below the slow one, or cleaning suddenly removes most of each page, the
site probably changed its layout and a rule needs fixing before stories are missed. The state
is a small frozen value; the service stores it per source and shows ``alarm()`` in
``watcher status`` and ``/metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass

SLOW = 0.05  # weight of a new page in the baseline: about the last 20-40 pages
FAST = 0.3  # weight of a new page in the recent figure: about the last 3-5 pages
MIN_PAGES = 10  # no alarm before the baseline means something
SHRINK_RATIO = 0.4  # recent length under 40% of normal: the body is being missed
REMOVED_SHARE = 0.6  # cleaning removes over 60% of each page ...
REMOVED_JUMP = 0.3  # ... and 30 points more than it used to: a rule now eats the article


@dataclass(frozen=True, slots=True)
class PageFigures:
    """What one extraction measured: characters extracted, and characters cleaning kept."""

    extracted_chars: int
    kept_chars: int

    @property
    def removed_share(self) -> float:
        if self.extracted_chars <= 0:
            return 0.0
        return max(0.0, 1.0 - self.kept_chars / self.extracted_chars)


@dataclass(frozen=True, slots=True)
class Drift:
    """Rolling figures of one source."""

    pages: int = 0
    normal_chars: float = 0.0
    recent_chars: float = 0.0
    normal_removed: float = 0.0
    recent_removed: float = 0.0

    def updated(self, page: PageFigures) -> Drift:
        """These figures with one more page counted."""
        if self.pages == 0:
            chars, removed = float(page.kept_chars), page.removed_share
            return Drift(1, chars, chars, removed, removed)
        return Drift(
            pages=self.pages + 1,
            normal_chars=_mix(self.normal_chars, page.kept_chars, SLOW),
            recent_chars=_mix(self.recent_chars, page.kept_chars, FAST),
            normal_removed=_mix(self.normal_removed, page.removed_share, SLOW),
            recent_removed=_mix(self.recent_removed, page.removed_share, FAST),
        )

    def alarm(self) -> str | None:
        """``"text_shrank"`` or ``"mostly_removed"`` when the source looks broken, else None."""
        if self.pages < MIN_PAGES:
            return None
        if self.recent_chars < SHRINK_RATIO * self.normal_chars:
            return "text_shrank"
        jumped = self.recent_removed - self.normal_removed >= REMOVED_JUMP
        if self.recent_removed >= REMOVED_SHARE and jumped:
            return "mostly_removed"
        return None


def _mix(old: float, new: float, weight: float) -> float:
    return (1 - weight) * old + weight * new
