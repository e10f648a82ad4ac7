"""EIP-3009 TransferWithAuthorization: EIP-712 typed data, digest, signing and recovery."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils.crypto import keccak

from .models import Authorization
from .networks import Network

TRANSFER_WITH_AUTHORIZATION_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "TransferWithAuthorization": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "validBefore", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
    ],
}

# secp256k1 group order; USDC's ECRecover refuses s in the upper half (EIP-2 malleability),
# so we refuse it too rather than accept a signature the chain would reject.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def typed_data(auth: Authorization, domain: dict[str, Any]) -> dict[str, Any]:
    """The full EIP-712 structure for `auth` under `domain` (name, version, chainId, contract)."""
    return {
        "types": TRANSFER_WITH_AUTHORIZATION_TYPES,
        "primaryType": "TransferWithAuthorization",
        "domain": dict(domain),
        "message": {
            "from": auth.from_,
            "to": auth.to,
            "value": int(auth.value),
            "validAfter": int(auth.valid_after),
            "validBefore": int(auth.valid_before),
            "nonce": bytes.fromhex(auth.nonce[2:]),
        },
    }


def signable(
    auth: Authorization, network: Network, domain: dict[str, Any] | None = None
) -> SignableMessage:
    """The EIP-191 v1 message eth-account signs; `domain` overrides the network's (tests only)."""
    return encode_typed_data(full_message=typed_data(auth, domain or network.eip712_domain()))


def digest(auth: Authorization, network: Network, domain: dict[str, Any] | None = None) -> bytes:
    """keccak256(0x19 0x01 || domainSeparator || hashStruct(message)), the 32 bytes signed."""
    message = signable(auth, network, domain)
    return bytes(keccak(b"\x19" + message.version + message.header + message.body))


def sign(
    auth: Authorization,
    private_key: str | bytes,
    network: Network,
    domain: dict[str, Any] | None = None,
) -> str:
    """0x-prefixed 65-byte signature (r || s || v, v in 27/28) over the authorization."""
    signed = Account.sign_message(signable(auth, network, domain), private_key)
    return "0x" + bytes(signed.signature).hex()


def _split(signature: str) -> tuple[int, int, int] | None:
    try:
        raw = bytes.fromhex(signature[2:] if signature.startswith("0x") else signature)
    except ValueError:
        return None
    if len(raw) != 65:
        return None
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]


def recover(auth: Authorization, signature: str, network: Network) -> str | None:
    """The checksummed address that signed `auth` on `network`, or None if unrecoverable."""
    parts = _split(signature)
    if parts is None:
        return None
    r, s, v = parts
    if v in (0, 1):
        v += 27
    if v not in (27, 28) or not (0 < r < _SECP256K1_N) or not (0 < s <= _SECP256K1_N // 2):
        return None
    try:
        return str(Account.recover_message(signable(auth, network), vrs=(v, r, s)))
    except Exception:  # eth-keys raises several types for invalid points
        return None
