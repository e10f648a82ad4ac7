"""The networks and USDC contracts we accept, as data, and exact USD <-> atomic-unit conversion."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from eth_utils.address import to_checksum_address

USDC_DECIMALS = 6
_ATOMIC_PER_USD = Decimal(10) ** USDC_DECIMALS


@dataclass(frozen=True)
class Network:
    """One EVM network with its USDC contract and that contract's EIP-712 domain."""

    caip2: str
    v1_name: str
    chain_id: int
    label: str
    asset: str
    token_name: str
    token_version: str

    def eip712_domain(self) -> dict[str, object]:
        """The EIP-712 domain of this network's USDC (always ours, never the client's)."""
        return {
            "name": self.token_name,
            "version": self.token_version,
            "chainId": self.chain_id,
            "verifyingContract": self.asset,
        }


BASE = Network(
    caip2="eip155:8453",
    v1_name="base",
    chain_id=8453,
    label="Base",
    asset="0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    token_name="USD Coin",
    token_version="2",
)
BASE_SEPOLIA = Network(
    caip2="eip155:84532",
    v1_name="base-sepolia",
    chain_id=84532,
    label="Base Sepolia",
    asset="0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    token_name="USDC",
    token_version="2",
)

NETWORKS: dict[str, Network] = {net.caip2: net for net in (BASE, BASE_SEPOLIA)}
_BY_ANY_NAME: dict[str, Network] = {
    **NETWORKS,
    **{net.v1_name: net for net in NETWORKS.values()},
}


def find_network(name: str) -> Network | None:
    """The network for a CAIP-2 id (v2) or a legacy name (v1), or None."""
    return _BY_ANY_NAME.get(name)


def get_network(name: str) -> Network:
    """Like `find_network` but raises ValueError naming the supported networks."""
    net = find_network(name)
    if net is None:
        raise ValueError(f"unsupported network {name!r}; supported: {', '.join(_BY_ANY_NAME)}")
    return net


def usd_to_atomic(usd: Decimal | float | int | str) -> int:
    """USD to atomic USDC units; refuses amounts that are negative or finer than 1e-6."""
    try:
        # str() first: Decimal(0.1575) would carry the float's binary error.
        value = usd if isinstance(usd, Decimal) else Decimal(str(usd))
    except InvalidOperation as exc:
        raise ValueError(f"not a USD amount: {usd!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"USD amount must be a finite non-negative number, got {usd!r}")
    atomic = value * _ATOMIC_PER_USD
    if atomic != atomic.to_integral_value():
        raise ValueError(f"USD amount {usd!r} has more than {USDC_DECIMALS} decimals")
    return int(atomic)


def atomic_to_usd(atomic: int | str) -> Decimal:
    """Atomic USDC units to an exact USD Decimal."""
    return (Decimal(int(atomic)) / _ATOMIC_PER_USD).normalize()


def format_usd(atomic: int | str) -> str:
    """A plain decimal string of the USD value (no exponent), e.g. '0.1575'."""
    return format(atomic_to_usd(atomic), "f")


def checksum(address: str) -> str:
    """EIP-55 checksummed form; raises ValueError for anything that is not a 20-byte address."""
    if not isinstance(address, str) or len(address) != 42 or not address.startswith("0x"):
        raise ValueError(f"not an address: {address!r}")
    try:
        return str(to_checksum_address(address))
    except ValueError as exc:
        raise ValueError(f"not an address: {address!r}") from exc


def same_address(a: str, b: str) -> bool:
    """Address equality ignoring EIP-55 capitalisation."""
    return a.lower() == b.lower()
