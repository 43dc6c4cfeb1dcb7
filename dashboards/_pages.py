"""The dashboard's pages, put together from one frame.

Every page extends ``frame.html`` (head, top bar, sign-in form), the duty pages beside the
desk through ``duty.html`` (heading, intro, site picker), and fills in only what is its own;
:data:`PAGES` declares what the frame needs of each. The API renders them once
when it starts and serves the result as static HTML (no inline script or style: the CSP
stays strict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Final, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .const import WEB_DIR


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its template in :data:`WEB_DIR`, its ``title`` and module ``script``, the
    ``body_class`` its styles key on, and ``nav``: its entry in the duty pages' menu
    (``"desk"`` for the desk, whose own views are routes of one page)."""

    file: str
    title: str
    script: str
    body_class: str
    nav: str | None = None
    # How urgently a screen reader speaks the page's announcements.
    announce: Literal["assertive", "polite"] = "assertive"


PAGES: Final = (
    Page("index.html", "safehood duty desk", "app.js", "officer", nav="desk"),
    Page("family.html", "safehood family view", "family.js", "family"),
    Page("wellbeing.html", "safehood wellbeing digest", "wellbeing.js", "wellbeing",
         nav="wellbeing", announce="polite"),
    Page("building.html", "safehood building plan", "building.js", "duty-page building-page",
         nav="building"),
    Page("metrics.html", "safehood response times", "metrics.js", "duty-page metrics-page",
         nav="metrics"),
)


@cache
def render_pages() -> Mapping[str, str]:
    """Each page of :data:`PAGES` in full, by file name (put together once a process)."""
    templates = Environment(loader=FileSystemLoader(WEB_DIR), autoescape=True,
                            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                            keep_trailing_newline=True)
    return MappingProxyType(
        {page.file: templates.get_template(page.file).render(page=page) for page in PAGES})
