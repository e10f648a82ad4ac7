"""Client side: the paying wallet (a key file) and signing a payment for a 402 challenge."""

from __future__ import annotations

import os
import secrets
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from . import eip3009
from .codec import encode_json_header
from .models import (
    Authorization,
    ExactPayload,
    PaymentPayload,
    PaymentRequired,
    PaymentRequirements,
)
from .networks import Network, find_network, same_address
from .requirements import SCHEME_EXACT
from .spend import SpendPolicy

# validAfter is set this far in the past so a server whose clock is behind ours still
# accepts the authorization (the vendor's client does the same).
CLOCK_SKEW_SECONDS = 600


class WalletError(Exception):
    """The wallet key is missing, unreadable or invalid."""


class NoSupportedRequirement(ValueError):
    """No entry of the 402 challenge can be paid by this client (scheme, network, asset)."""


class Wallet:
    """A local key that signs x402 payments; the key never leaves this object."""

    def __init__(self, account: LocalAccount, path: Path | None = None) -> None:
        self._account = account
        self.path = path

    def __repr__(self) -> str:
        return f"Wallet(address={self.address!r}, path={self.path!r})"

    @property
    def address(self) -> str:
        """The checksummed address that pays."""
        return str(self._account.address)

    @classmethod
    def from_key(cls, key: str) -> Wallet:
        """A wallet from a 0x-prefixed hex private key."""
        try:
            return cls(Account.from_key(key.strip()))
        except Exception as exc:  # eth-account raises several types for bad keys
            raise WalletError("the wallet key is not a valid 32-byte hex private key") from exc

    @classmethod
    def create(cls, path: Path | str) -> Wallet:
        """Make a new key and write it to `path` with mode 0600; refuses to overwrite."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = "0x" + secrets.token_hex(32)
        try:
            # O_EXCL: never clobber an existing wallet; 0o600 from the first byte written.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise WalletError(f"{target} already exists; not overwriting a wallet") from exc
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        wallet = cls.from_key(key)
        wallet.path = target
        return wallet

    @classmethod
    def load(cls, path: Path | str) -> Wallet:
        """Read a key file written by `create`."""
        source = Path(path).expanduser()
        try:
            text = source.read_text()
        except OSError as exc:
            raise WalletError(f"cannot read wallet file {source}: {exc.strerror}") from exc
        if os.name == "posix" and stat.S_IMODE(source.stat().st_mode) & 0o077:
            warnings.warn(
                f"wallet file {source} is readable by other users; chmod 600 it", stacklevel=2
            )
        wallet = cls.from_key(text)
        wallet.path = source
        return wallet

    @classmethod
    def from_settings(cls, settings: Any) -> Wallet:
        """`wallet_key` when set, else the key file at `wallet_file`."""
        if settings.wallet_key:
            return cls.from_key(settings.wallet_key)
        return cls.load(settings.wallet_file)

    def sign_authorization(self, auth: Authorization, network: Network) -> str:
        """EIP-712 signature of an EIP-3009 authorization on `network`'s USDC."""
        return eip3009.sign(auth, self._account.key, network)


@dataclass(frozen=True)
class SignedPayment:
    """A signed payment: the header value plus what it commits to (for logs and refunds)."""

    header: str
    payload: PaymentPayload
    requirement: PaymentRequirements

    @property
    def nonce(self) -> str:
        """The authorization's nonce."""
        return self.payload.payload.authorization.nonce

    @property
    def amount(self) -> int:
        """The atomic amount authorized."""
        return int(self.payload.payload.authorization.value)


def choose_requirement(required: PaymentRequired) -> tuple[PaymentRequirements, Network]:
    """The first `exact` entry for USDC on a network we know."""
    for entry in required.accepts:
        net = find_network(entry.network)
        if (
            entry.scheme == SCHEME_EXACT
            and net is not None
            and same_address(entry.asset, net.asset)
        ):
            return entry, net
    offered = ", ".join(f"{e.scheme}/{e.network}" for e in required.accepts) or "nothing"
    raise NoSupportedRequirement(f"cannot pay any of: {offered}")


def create_payment(
    required: PaymentRequired,
    wallet: Wallet,
    now: int,
    *,
    policy: SpendPolicy | None = None,
    nonce: str | None = None,
) -> SignedPayment:
    """Pick an entry, check the spend caps, and sign; the domain comes from our network table."""
    entry, net = choose_requirement(required)
    auth = Authorization.model_validate(
        {
            "from": wallet.address,
            "to": entry.pay_to,
            "value": entry.amount,
            "validAfter": str(max(0, now - CLOCK_SKEW_SECONDS)),
            "validBefore": str(now + entry.max_timeout_seconds),
            "nonce": nonce or "0x" + secrets.token_hex(32),
        }
    )
    if policy is not None:
        policy.authorize(
            int(entry.amount), nonce=auth.nonce, payee=entry.pay_to, resource=required.resource.url
        )
    payload = PaymentPayload(
        x402_version=required.x402_version,
        resource=required.resource,
        # `accepted` echoes the entry exactly: servers compare it field by field.
        accepted=entry,
        payload=ExactPayload(signature=wallet.sign_authorization(auth, net), authorization=auth),
    )
    return SignedPayment(header=encode_json_header(payload), payload=payload, requirement=entry)


def sign_payment(
    required: PaymentRequired,
    wallet: Wallet,
    now: int,
    *,
    policy: SpendPolicy | None = None,
    nonce: str | None = None,
) -> str:
    """The PAYMENT-SIGNATURE header value paying `required` (see `create_payment`)."""
    return create_payment(required, wallet, now, policy=policy, nonce=nonce).header
