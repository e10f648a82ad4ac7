"""The web playground: one static page at ``/`` that uses only the public HTTP API.

Plain HTML, CSS and JavaScript modules (``js/api.js``, ``lyrics.js``, ``player.js``,
``status.js``, ``history.js``, ``app.js``): no build step, nothing fetched from the internet.
``mount_playground(app)`` serves the page at ``/`` and its assets under ``/web/``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_DIR = Path(__file__).resolve().parent
INDEX = WEB_DIR / "index.html"
# The page is small and changes with each release: browsers revalidate instead of guessing.
NO_STALE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# Own scripts and styles only; tracks may live elsewhere (S3 links), hence media and connect.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' http: https: blob:; connect-src 'self' http: https:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


class _Assets(StaticFiles):
    """StaticFiles that never serves this package's Python files."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.endswith((".py", ".pyc")) or "__pycache__" in path:
            path = "__missing__"
        response = await super().get_response(path, scope)
        response.headers.update(NO_STALE)
        return response


def mount_playground(app: FastAPI) -> None:
    """Serve the playground page at ``/`` and its assets under ``/web/``."""

    @app.get("/", include_in_schema=False)
    async def playground() -> FileResponse:
        headers = {**NO_STALE, "Content-Security-Policy": PAGE_POLICY}
        return FileResponse(INDEX, media_type="text/html; charset=utf-8", headers=headers)

    app.mount("/web", _Assets(directory=WEB_DIR), name="web")
