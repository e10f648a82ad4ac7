"""The playground page in a real headless Chromium, against a real server on loopback.

Screenshots go to test-output/ (gitignored); ``playground-track.png`` shows a finished track.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.support.browser import chromium, missing_reason, screenshot
from tests.support.paid import paid_settings
from tests.support.server import running_server

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

if missing_reason() is None:
    from playwright.sync_api import expect
    expect.set_options(timeout=30_000)

COMPOSER = "tunesmith/composer-1"
STAGED = "test/staged"
JAZZ = "jazz trio, upright bass, brushed snare, bebop swing"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the built-in composer (default) and the fast test engine."""
    settings = make_settings(tmp_path_factory.mktemp("web") / "data", default_model=COMPOSER)
    with running_server(settings) as url:
        yield url


def open_page(browser: Any, url: str, viewport: dict[str, int] = DESKTOP,
              enforce_policy: bool = False) -> Any:
    """A fresh profile on the playground; page errors fail the test when the page closes."""
    # The page's CSP forbids eval, which Playwright's wait_for_function needs; one test
    # below runs with the policy enforced.
    context = browser.new_context(viewport=viewport, bypass_csp=not enforce_policy)
    page = context.new_page()
    page.errors, page.console = [], []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: page.console.append(message.text))
    page.requests = []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.requests.append(f"{r.method} {r.url}"))
    page.goto(url + "/")
    page.wait_for_selector("form[data-ready=true]")
    return page


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    page = open_page(browser, site)
    yield page
    errors = page.errors
    page.context.close()
    assert errors == []


def audio_state(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(
        "() => { const a = document.querySelector('#player audio');"
        " return {duration: a.duration, time: a.currentTime, paused: a.paused,"
        " src: a.currentSrc, ready: a.readyState}; }")
    return state


def painted_pixels(page: Any) -> int:
    count: int = page.evaluate(
        "() => { const c = document.querySelector('canvas.waveform');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }")
    return count


def test_make_a_track_see_progress_play_it_and_find_it_after_reload(page: Any) -> None:
    page.get_by_role("button", name=JAZZ).click()  # a prompt tip
    expect(page.locator("#prompt")).to_have_value(JAZZ)
    expect(page.locator("#prompt")).to_be_focused()
    page.get_by_label("Instrumental").check()
    expect(page.locator("#lyrics")).to_be_disabled()
    page.locator("#duration").focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#duration-out")).to_have_text("6 s")
    page.get_by_label("Seed").fill("7")

    page.get_by_role("button", name="Make track").click()
    expect(page.locator("#progress-panel")).to_be_visible()
    expect(page.locator("#progress-panel")).to_have_attribute("data-state", "completed",
                                                              timeout=60_000)
    stages = page.locator("#stage-log li").all_inner_texts()
    assert stages[0] == "Submitting" and stages[-1] == "Completed"
    assert len(stages) >= 3, stages  # and the job's own stages in between
    expect(page.locator("#announcer")).to_contain_text("Done")
    expect(page.locator("#progress")).to_have_attribute("value", "100")

    card = page.locator("#player article.track")
    expect(card.locator(".track-title")).to_have_text(JAZZ)
    page.wait_for_function("document.querySelector('#player audio').readyState >= 1")
    assert audio_state(page)["duration"] == pytest.approx(6.0, abs=0.1)
    expect(card.locator("canvas.waveform")).to_have_attribute("data-state", "drawn")
    assert painted_pixels(page) > 1000
    for label in ("Style", "Tempo", "Key", "Seed"):
        expect(card.locator("dl.plan dt", has_text=label)).to_have_count(1)
    expect(card.locator("dl.plan")).to_contain_text("jazz")
    assert card.locator(".sections button").count() >= 1
    download = card.get_by_role("link", name="Download MP3")
    assert download.get_attribute("href") == audio_state(page)["src"]
    assert download.get_attribute("download").endswith(".mp3")

    card.locator("canvas.waveform").focus()
    page.keyboard.press("Space")  # the waveform is a keyboard slider: space plays
    page.wait_for_function("(() => { const a = document.querySelector('#player audio');"
                           " return !a.paused && a.currentTime > 0.8; })()")
    screenshot(page, "playground-track")
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('#player audio').paused")

    track_id = card.get_attribute("data-track-id")
    item = page.locator(f"#history li[data-track-id='{track_id}']")
    expect(item).to_have_attribute("aria-current", "true")
    # An entry whose link has expired is dropped when the page loads.
    page.evaluate("""() => {
        const key = 'tunesmith.history.v1';
        const entries = JSON.parse(localStorage.getItem(key));
        const old = structuredClone(entries[0]);
        old.track.id = 'gen_expired'; old.track.expires_at = Math.floor(Date.now() / 1000) - 5;
        localStorage.setItem(key, JSON.stringify([...entries, old]));
    }""")
    page.reload()
    page.wait_for_selector("form[data-ready=true]")
    expect(page.locator(f"#history li[data-track-id='{track_id}']")).to_be_visible()
    expect(page.locator("#history li[data-track-id='gen_expired']")).to_have_count(0)
    stored = json.loads(page.evaluate("localStorage.getItem('tunesmith.history.v1')"))
    assert [e["track"]["id"] for e in stored] == [track_id]
    page.locator(f"#history li[data-track-id='{track_id}'] .history-open").click()
    expect(page.locator(f"#player article[data-track-id='{track_id}']")).to_be_visible()
    page.wait_for_function("document.querySelector('#player audio').readyState >= 1")
    assert audio_state(page)["duration"] == pytest.approx(6.0, abs=0.1)


def test_progress_is_live_and_a_job_can_be_canceled(page: Any) -> None:
    page.get_by_label("Model").select_option(STAGED)
    page.get_by_label("Prompt").fill("slow test: stages=40 sleep=0.25")
    page.get_by_role("button", name="Make track").click()
    expect(page.locator("#progress-text")).to_contain_text("Stage2")
    assert float(page.locator("#progress").get_attribute("value") or 0) > 0
    expect(page.locator("#announcer")).to_contain_text("Stage")
    expect(page.locator("#make-button")).to_be_disabled()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#progress-panel")).to_have_attribute("data-state", "canceled")
    expect(page.locator("#announcer")).to_contain_text("Canceled")
    expect(page.locator("#make-button")).to_be_enabled()
    expect(page.locator("#cancel-button")).to_be_hidden()
    expect(page.locator("#player article")).to_have_count(0)
    # Progress came from the event stream, not from polling.
    assert any(r.startswith("GET ") and r.endswith("/events") for r in page.requests)
    assert [r for r in page.requests if r.startswith("DELETE ")]
    assert not [r for r in page.requests
                if r.startswith("GET ") and "/v1/audio/generations/" in r and "/events" not in r]


def test_api_errors_are_shown_with_the_field_to_fix(page: Any) -> None:
    page.get_by_label("Prompt").fill("x" * 2001)
    expect(page.locator("#prompt-count")).to_have_text("2001 / 2000")
    page.get_by_role("button", name="Make track").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The request needs a change")
    expect(alert).to_contain_text("prompt is 2001 characters; the limit is 2000")
    expect(alert).to_contain_text("HTTP 400")
    expect(page.locator("#prompt")).to_have_attribute("aria-invalid", "true")
    alert.scroll_into_view_if_needed()
    screenshot(page, "playground-error", full_page=False)
    alert.get_by_role("button", name="Go to the prompt field").click()
    expect(page.locator("#prompt")).to_be_focused()

    # A job that fails on the server shows its error too, and clears the old one.
    page.get_by_label("Model").select_option(STAGED)
    page.get_by_label("Prompt").fill("stages=1 fail")
    page.get_by_role("button", name="Make track").click()
    expect(page.locator("#progress-panel")).to_have_attribute("data-state", "failed")
    expect(alert).to_contain_text("The server could not make the track")
    expect(page.locator("#prompt")).not_to_have_attribute("aria-invalid", "true")
    assert "/etc/passwd" not in alert.inner_text()


def test_lyrics_editor_knows_the_section_tags(page: Any) -> None:
    page.get_by_label("Model").select_option(STAGED)
    lyrics = page.get_by_role("combobox", name="Lyrics")
    expect(lyrics).to_be_enabled()
    page.get_by_role("button", name="Insert Verse tag").click()
    expect(lyrics).to_be_focused()
    page.keyboard.type("Sunshine in the morning (morning)\n[Pre")
    suggestions = page.get_by_role("listbox", name="Section tags")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option")).to_have_text(["[Pre Chorus]"])
    page.keyboard.press("Enter")
    page.keyboard.type("Every step I'm taking\n[Ch")
    expect(lyrics).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(suggestions).to_be_hidden()
    page.keyboard.type("orus]\nLeads me on my way\n[Verz]\n")
    assert lyrics.input_value() == ("[Verse]\nSunshine in the morning (morning)\n[Pre Chorus]\n"
                                    "Every step I'm taking\n[Chorus]\nLeads me on my way\n"
                                    "[Verz]\n")
    paint = page.locator("#lyrics-paint")
    expect(paint.locator("mark.tag:not(.unknown)")).to_have_text(
        ["[Verse]", "[Pre Chorus]", "[Chorus]"])
    expect(paint.locator("mark.tag.unknown")).to_have_text(["[Verz]"])
    expect(paint.locator(".backing")).to_have_text(["(morning)"])
    expect(page.locator("#lyrics-summary")).to_contain_text("Unknown tag: [Verz]")

    # The track's sung lyrics (the test engine sings what it is given) are painted alike.
    page.get_by_label("Prompt").fill("stages=1")
    page.locator("#duration").focus()
    page.keyboard.press("Home")
    page.get_by_role("button", name="Make track").click()
    sung = page.locator("#player .sung-lyrics")
    expect(sung.locator("mark.tag:not(.unknown)")).to_have_text(["[Verse]", "[Pre Chorus]",
                                                                 "[Chorus]"])
    expect(sung).to_contain_text("Leads me on my way")

    toolbar = page.get_by_role("toolbar", name="Insert a section tag")
    toolbar.get_by_role("button").first.focus()
    page.keyboard.press("ArrowRight")
    expect(toolbar.get_by_role("button", name="Insert Verse tag")).to_be_focused()

    page.get_by_label("Instrumental").check()  # lyrics with instrumental is a 400: prevented
    expect(lyrics).to_be_disabled()
    expect(toolbar.get_by_role("button").first).to_be_disabled()
    expect(page.locator("#lyrics-help")).to_contain_text("instrumental")


def test_phone_sized_screen_and_labels(browser: Any, site: str) -> None:
    page = open_page(browser, site, viewport=PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    unlabeled = page.evaluate("""() =>
        [...document.querySelectorAll('input, select, textarea, button')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby') && !e.textContent.trim())
        .map(e => e.id || e.outerHTML)""")
    assert unlabeled == []
    page.get_by_label("Model").select_option(STAGED)
    page.get_by_label("Prompt").fill("a phone-sized test tune, stages=2")
    page.locator("#duration").focus()
    page.keyboard.press("Home")
    page.get_by_role("button", name="Make track").click()
    expect(page.locator("#player canvas.waveform")).to_have_attribute("data-state", "drawn")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, "playground-phone")
    assert page.errors == []
    page.context.close()


def test_the_page_works_under_its_content_security_policy(browser: Any, site: str) -> None:
    page = open_page(browser, site, enforce_policy=True)
    expect(page.get_by_role("button", name="Insert Verse tag")).to_have_count(1)
    expect(page.get_by_label("Model")).to_have_value(COMPOSER)
    violations = [text for text in page.console if "Content Security Policy" in text]
    assert violations == [] and page.errors == []
    page.context.close()


@pytest.fixture(scope="module")
def paid_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = paid_settings(tmp_path_factory.mktemp("paid") / "data")
    with running_server(settings, workers=False) as url:
        yield url


def test_a_402_shows_the_price_and_how_to_pay(browser: Any, paid_site: str) -> None:
    page = open_page(browser, paid_site)
    expect(page.get_by_label("Model").locator(f"option[value='{STAGED}']")).to_contain_text("$0.02")
    page.get_by_label("Model").select_option(STAGED)
    page.get_by_label("Prompt").fill("chill lo-fi hip hop, late night study vibes")
    page.get_by_role("button", name="Make track").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Payment required")
    expect(alert).to_contain_text("costs $0.02 per track")
    expect(alert).to_contain_text("tunesmith wallet create")
    expect(alert).to_contain_text(f"--server {paid_site}")
    expect(alert).to_contain_text("tunesmith router")
    expect(alert).to_contain_text("127.0.0.1:8402")
    expect(page.locator("#progress-panel")).to_be_hidden()
    alert.scroll_into_view_if_needed()
    screenshot(page, "playground-payment-required", full_page=False)
    assert page.errors == []
    page.context.close()
