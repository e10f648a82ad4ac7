"""`tunesmith router`: a local proxy that pays x402 servers from the local wallet."""

from __future__ import annotations

from tunesmith.router.app import Forwarder, RouterJob, build_router_app

__all__ = ["Forwarder", "RouterJob", "build_router_app"]
