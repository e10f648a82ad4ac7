"""x402 payments: challenges, header codecs, verification, reservations, settlement, wallet."""

from __future__ import annotations

from .codec import (
    decode_json_header,
    decode_payment_payload,
    decode_payment_required,
    decode_settle_response,
    encode_json_header,
)
from .errors import HeaderDecodeError, PaymentError
from .facilitator import Facilitator, FacilitatorUnavailable, HttpFacilitator
from .gate import PaymentGate, facilitator_from_settings, find_payment_header
from .ledger import LedgerFacilitator
from .models import (
    Authorization,
    ExactPayload,
    PaymentPayload,
    PaymentPayloadV1,
    PaymentRequired,
    PaymentRequiredV1,
    PaymentRequirements,
    PaymentRequirementsV1,
    ResourceInfo,
    SettleResponse,
    SupportedResponse,
    VerifyResponse,
)
from .networks import NETWORKS, Network, atomic_to_usd, get_network, usd_to_atomic
from .requirements import PriceList, build_payment_required, build_requirements
from .reservations import PaymentRecords, Reservation, ReservationStateError, create_tables
from .spend import SpendCapExceeded, SpendPolicy
from .wallet import (
    NoSupportedRequirement,
    SignedPayment,
    Wallet,
    WalletError,
    create_payment,
    sign_payment,
)

__all__ = [
    "NETWORKS",
    "Authorization",
    "ExactPayload",
    "Facilitator",
    "FacilitatorUnavailable",
    "HeaderDecodeError",
    "HttpFacilitator",
    "LedgerFacilitator",
    "Network",
    "NoSupportedRequirement",
    "PaymentError",
    "PaymentGate",
    "PaymentPayload",
    "PaymentPayloadV1",
    "PaymentRecords",
    "PaymentRequired",
    "PaymentRequiredV1",
    "PaymentRequirements",
    "PaymentRequirementsV1",
    "PriceList",
    "Reservation",
    "ReservationStateError",
    "ResourceInfo",
    "SettleResponse",
    "SignedPayment",
    "SpendCapExceeded",
    "SpendPolicy",
    "SupportedResponse",
    "VerifyResponse",
    "Wallet",
    "WalletError",
    "atomic_to_usd",
    "build_payment_required",
    "build_requirements",
    "create_payment",
    "create_tables",
    "decode_json_header",
    "decode_payment_payload",
    "decode_payment_required",
    "decode_settle_response",
    "encode_json_header",
    "facilitator_from_settings",
    "find_payment_header",
    "get_network",
    "sign_payment",
    "usd_to_atomic",
]
