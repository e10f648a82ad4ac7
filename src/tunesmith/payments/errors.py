"""Error codes (the x402 and exact-EVM vocabulary) and the typed payment error."""

from __future__ import annotations

# Codes reused from the x402 protocol and the official exact-EVM facilitator, so a client
# sees the same reason whether our ledger or a remote facilitator refused its payment.
PAYMENT_REQUIRED = "payment_required"
INVALID_PAYLOAD = "invalid_payload"
INVALID_X402_VERSION = "invalid_x402_version"
INVALID_SCHEME = "invalid_scheme"
INVALID_NETWORK = "invalid_network"
INVALID_SIGNATURE = "invalid_exact_evm_payload_signature"
RECIPIENT_MISMATCH = "invalid_exact_evm_payload_recipient_mismatch"
VALUE_MISMATCH = "invalid_exact_evm_payload_authorization_value_mismatch"
VALID_BEFORE = "invalid_exact_evm_payload_authorization_valid_before"
VALID_AFTER = "invalid_exact_evm_payload_authorization_valid_after"
NONCE_ALREADY_USED = "invalid_exact_evm_nonce_already_used"
INSUFFICIENT_FUNDS = "insufficient_funds"
UNEXPECTED_VERIFY_ERROR = "unexpected_verify_error"
UNEXPECTED_SETTLE_ERROR = "unexpected_settle_error"


class PaymentError(Exception):
    """A payment was refused or could not be completed; `status` is the HTTP status to send."""

    def __init__(self, code: str, message: str, status: int = 402) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class HeaderDecodeError(ValueError):
    """A payment header is not base64 of a UTF-8 JSON object."""
