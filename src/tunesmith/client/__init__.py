"""The tunesmith SDK: ``Client`` and ``AsyncClient`` for any contract-compatible server."""

from tunesmith.client.async_client import AsyncClient
from tunesmith.client.errors import (
    APIConnectionError, APIStatusError, APITimeoutError, BadRequestError, ConflictError,
    GatewayTimeoutError, GenerationCanceledError, GenerationFailedError, GoneError,
    InternalServerError, NotFoundError, PaymentRequiredError, PermissionDeniedError,
    RateLimitError, ServiceUnavailableError, SpendCapExceeded, TunesmithError,
)
from tunesmith.client.payment import WalletPayer, pay_with
from tunesmith.client.sync_client import Client
from tunesmith.client.types import Generation, Job, TrackInfo

__all__ = [
    "APIConnectionError", "APIStatusError", "APITimeoutError", "AsyncClient", "BadRequestError",
    "Client", "ConflictError", "GatewayTimeoutError", "Generation", "GenerationCanceledError",
    "GenerationFailedError", "GoneError", "InternalServerError", "Job", "NotFoundError",
    "PaymentRequiredError", "PermissionDeniedError", "RateLimitError", "ServiceUnavailableError",
    "SpendCapExceeded", "TrackInfo", "TunesmithError", "WalletPayer", "pay_with",
]
