"""tunesmith: a self-hostable music generation API and its client."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "__version__"]


def __getattr__(name: str) -> Any:
    # The SDK is imported on first use so the server and workers never pay for it.
    if name in ("Client", "AsyncClient"):
        from tunesmith import client

        return getattr(client, name)
    raise AttributeError(name)
