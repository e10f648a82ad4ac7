"""A real headless Chromium for page tests: Debian's browser driven by Playwright's Python API.

Never downloads a browser: it uses the system one (``/usr/bin/chromium``, or the path in
``TUNESMITH_CHROMIUM``); ``scripts/install test`` installs Debian's ``chromium`` when it may.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_ENV = "CHROMIUM_PATH"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless on a machine without a sandbox, a GPU or a network beyond loopback.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"


def find_chromium() -> str | None:
    """The system Chromium's path, or None when there is none."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if find_chromium() is None:
        return ("no system Chromium: install Debian's chromium (scripts/install test does, as "
                f"root) or set {CHROMIUM_ENV}=/path/to/chromium")
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (Playwright ``Browser``); each context gets a fresh profile."""
    from playwright.sync_api import sync_playwright

    path = find_chromium()
    assert path is not None, missing_reason()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True,
                                             args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Save a PNG of `page` under test-output/ and return its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
