"""The playground's files as the server ships them (no browser needed)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.server import running_server
from tunesmith.web import WEB_DIR


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path_factory.mktemp("web") / "data")
    with running_server(settings, workers=False) as url, httpx.Client(base_url=url) as client:
        yield client


def test_page_is_served_at_root_with_a_strict_policy(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    assert '<script type="module" src="web/js/app.js">' in page.text


def test_assets_are_served_and_python_files_are_not(client: httpx.Client) -> None:
    script = client.get("/web/js/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/web/css/playground.css").headers["content-type"].startswith("text/css")
    hidden = client.get("/web/__init__.py")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"


def test_the_page_does_not_shadow_the_api(client: httpx.Client) -> None:
    assert client.get("/v1/models").json()["object"] == "list"
    assert client.get("/healthz").status_code == 200
    assert client.get("/docs").status_code == 200


def test_every_file_the_page_names_is_shipped() -> None:
    html = (WEB_DIR / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="(web/[^"]+)"', html):
        assert (WEB_DIR / ref.removeprefix("web/")).is_file(), ref
    for module in (WEB_DIR / "js").glob("*.js"):
        for imported in re.findall(r'from "\./([^"]+)"', module.read_text()):
            assert (WEB_DIR / "js" / imported).is_file(), f"{module.name} imports {imported}"


def test_nothing_is_fetched_from_the_internet() -> None:
    for path in WEB_DIR.rglob("*"):
        if path.suffix in {".html", ".css", ".js"}:
            assert not re.search(r"https?://(?!127\.0\.0\.1)", path.read_text()), path.name


def test_the_tag_list_matches_the_lyrics_parser() -> None:
    from tunesmith.engines.composer.writing.lyrics import SECTION_TAGS

    script = (WEB_DIR / "js" / "lyrics.js").read_text()
    listed = re.search(r"SECTION_TAGS = \[(.*?)\];", script, re.S)
    assert listed is not None
    assert sorted(re.findall(r'"([^"]+)"', listed.group(1))) == sorted(SECTION_TAGS.values())


def test_a_missing_asset_answers_the_error_envelope(client: httpx.Client) -> None:
    response = client.get("/web/js/nope.js")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
