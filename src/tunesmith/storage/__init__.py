"""Where finished tracks live and how links to them are signed."""

from tunesmith.storage.local import InvalidLink, LocalStore, Store

__all__ = ["InvalidLink", "LocalStore", "Store"]
