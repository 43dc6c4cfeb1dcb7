"""Fixtures of the browser tests: Debian's chromium driven by Playwright, one browser per
session, a fresh context (viewport, locale, storage) per page, screenshots kept as test
artifacts under ``test-artifacts/dashboards/``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboards"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's chromium (never a downloaded one), headless."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium "
                    "fonts-wqy-microhei (the test command installs them)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class OpenPage:
    """A page in a context of its own, with the JavaScript errors it raised."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot as a test artifact."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Callable[..., OpenPage]]:
    """``open_page(viewport=DESKTOP, locale="en-US")``: a fresh browser context and page.
    Fails the test if a page raised an uncaught JavaScript error or broke its Content
    Security Policy (the browser then reports the blocked load or script on the console)."""
    opened: list[tuple[Any, OpenPage]] = []

    def open_(viewport: dict[str, int] | None = None, locale: str = "en-US") -> OpenPage:
        context = chromium.new_context(viewport=viewport or DESKTOP, locale=locale,
                                       reduced_motion="reduce")
        context.set_default_timeout(15_000)
        page = context.new_page()
        result = OpenPage(page)
        page.on("pageerror", lambda exc: result.errors.append(str(exc)))
        page.on("console", lambda message: result.errors.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None)
        opened.append((context, result))
        return result

    yield open_
    errors = [e for _, p in opened for e in p.errors]
    for context, _ in opened:
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"
