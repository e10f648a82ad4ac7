"""EIP-712 / EIP-3009 digests and signatures against the published test vector."""

from __future__ import annotations

from eth_account import Account

from tests.support.payments import OTHER, PAY_TO, PAYER, PAYER_KEY
from tunesmith.payments import eip3009
from tunesmith.payments.models import Authorization
from tunesmith.payments.networks import BASE, BASE_SEPOLIA

VECTOR_DIGEST = "0x795e6486abef429d88f35c3aa29ceda3cce984a0fe4de59789b209a0561ab1e7"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def vector_auth() -> Authorization:
    return Authorization(
        from_=PAYER,
        to=PAY_TO,
        value="157500",
        valid_after="0",
        valid_before="2000000000",
        nonce="0x" + "11" * 32,
    )


def test_digest_reproduces_the_facts_test_vector() -> None:
    assert "0x" + eip3009.digest(vector_auth(), BASE).hex() == VECTOR_DIGEST


def test_signature_recovers_to_the_signer() -> None:
    auth = vector_auth()
    signature = eip3009.sign(auth, PAYER_KEY, BASE)
    assert len(bytes.fromhex(signature[2:])) == 65
    assert eip3009.recover(auth, signature, BASE) == PAYER
    # eth-account's own recovery over the raw digest agrees with ours.
    assert Account._recover_hash(eip3009.digest(auth, BASE), signature=signature) == PAYER


def test_network_changes_the_digest_and_the_recovered_address() -> None:
    auth = vector_auth()
    assert eip3009.digest(auth, BASE) != eip3009.digest(auth, BASE_SEPOLIA)
    signature = eip3009.sign(auth, PAYER_KEY, BASE_SEPOLIA)
    assert eip3009.recover(auth, signature, BASE_SEPOLIA) == PAYER
    assert eip3009.recover(auth, signature, BASE) != PAYER


def test_wrong_domain_name_is_well_formed_but_recovers_someone_else() -> None:
    auth = vector_auth()
    wrong = {**BASE.eip712_domain(), "name": "USDC"}
    signature = eip3009.sign(auth, PAYER_KEY, BASE, domain=wrong)
    recovered = eip3009.recover(auth, signature, BASE)
    assert recovered is not None and recovered != PAYER


def test_any_changed_field_breaks_the_signature() -> None:
    auth = vector_auth()
    signature = eip3009.sign(auth, PAYER_KEY, BASE)
    for field, value in [
        ("value", "157501"),
        ("to", OTHER),
        ("valid_before", "2000000001"),
        ("nonce", "0x" + "12" * 32),
        ("valid_after", "1"),
    ]:
        changed = auth.model_copy(update={field: value})
        assert eip3009.recover(changed, signature, BASE) != PAYER, field


def test_malformed_and_malleable_signatures_are_refused() -> None:
    auth = vector_auth()
    signature = eip3009.sign(auth, PAYER_KEY, BASE)
    raw = bytes.fromhex(signature[2:])
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27<->28
    assert eip3009.recover(auth, "0x" + high_s.hex(), BASE) is None
    assert eip3009.recover(auth, signature[:-2], BASE) is None
    assert eip3009.recover(auth, "0xzz" + signature[4:], BASE) is None
    assert eip3009.recover(auth, "0x" + "00" * 65, BASE) is None
    # v as 0/1 (some signers) is the same signature as 27/28.
    low_v = raw[:64] + bytes([v - 27])
    assert eip3009.recover(auth, "0x" + low_v.hex(), BASE) == PAYER
