"""Header codecs: round trips, tolerated variants, clear errors; plus exact USD conversion."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.payments import MODEL, RESOURCE, T0, make_stack
from tunesmith.payments import (
    HeaderDecodeError,
    PaymentPayload,
    PaymentPayloadV1,
    atomic_to_usd,
    decode_json_header,
    decode_payment_payload,
    decode_payment_required,
    encode_json_header,
    sign_payment,
    usd_to_atomic,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=6)


def url_safe_unpadded(value: str) -> str:
    return value.replace("+", "-").replace("/", "_").rstrip("=")


@given(json_objects)
def test_round_trip_standard_unpadded_and_url_safe(data: dict) -> None:
    header = encode_json_header(data)
    base64.b64decode(header, validate=True)  # standard alphabet with padding
    assert decode_json_header(header) == data
    assert decode_json_header(header.rstrip("=")) == data
    assert decode_json_header(url_safe_unpadded(header)) == data


@settings(max_examples=300)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_garbage_raises_only_header_decode_error(garbage: str | bytes) -> None:
    try:
        decoded = decode_json_header(garbage)
    except HeaderDecodeError:
        return
    assert isinstance(decoded, dict)


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_payload_decoder_never_leaks_other_exceptions(raw: bytes) -> None:
    with pytest.raises(HeaderDecodeError):
        decode_payment_payload(base64.b64encode(raw).decode())


@given(json_objects)
def test_payment_payload_decoder_rejects_arbitrary_objects(data: dict) -> None:
    with pytest.raises(HeaderDecodeError):
        decode_payment_payload(encode_json_header(data))


def test_non_object_json_and_bad_utf8_are_clear_errors() -> None:
    for payload, reason in [
        (b"[1,2]", "not an object"),
        (b"\xff\xfe", "UTF-8 JSON"),
        (b"{nope", "UTF-8 JSON"),
    ]:
        with pytest.raises(HeaderDecodeError, match=reason):
            decode_json_header(base64.b64encode(payload).decode())
    with pytest.raises(HeaderDecodeError, match="empty"):
        decode_json_header("  ")
    with pytest.raises(HeaderDecodeError, match="not base64"):
        decode_json_header("abc$def")
    with pytest.raises(HeaderDecodeError, match="longer"):
        decode_json_header("A" * 20_000)


def test_real_payment_round_trips_through_every_variant(tmp_path) -> None:
    stack = make_stack(tmp_path)
    header = sign_payment(stack.challenge(), stack.payer, int(T0))
    for variant in (header, header.rstrip("="), url_safe_unpadded(header)):
        payment = decode_payment_payload(variant)
        assert isinstance(payment, PaymentPayload)
        assert payment.accepted.amount == "157500"
        assert payment.resource is not None and payment.resource.url == RESOURCE


def test_unknown_fields_and_extensions_are_ignored(tmp_path) -> None:
    stack = make_stack(tmp_path)
    data = json.loads(base64.b64decode(sign_payment(stack.challenge(), stack.payer, int(T0))))
    data["extensions"] = {"builder-code": {"info": {"s": ["blockrun"]}}}
    data["somethingNew"] = 1
    data["accepted"]["extra"]["assetTransferMethod"] = "eip3009"
    payment = decode_payment_payload(encode_json_header(data))
    assert "extensions" not in payment.to_wire()
    assert payment.accepted.extra["assetTransferMethod"] == "eip3009"


def test_v1_payload_is_decoded_as_v1(tmp_path) -> None:
    stack = make_stack(tmp_path)
    data = json.loads(base64.b64decode(sign_payment(stack.challenge(), stack.payer, int(T0))))
    v1 = {"x402Version": 1, "scheme": "exact", "network": "base", "payload": data["payload"]}
    payment = decode_payment_payload(encode_json_header(v1))
    assert isinstance(payment, PaymentPayloadV1) and payment.network == "base"


def test_malformed_authorization_names_the_field(tmp_path) -> None:
    stack = make_stack(tmp_path)
    data = json.loads(base64.b64decode(sign_payment(stack.challenge(), stack.payer, int(T0))))
    data["payload"]["authorization"]["nonce"] = "0x1234"
    with pytest.raises(HeaderDecodeError, match="nonce"):
        decode_payment_payload(encode_json_header(data))
    data["payload"]["authorization"]["nonce"] = "0x" + "ab" * 32
    data["payload"]["authorization"]["value"] = "-5"
    with pytest.raises(HeaderDecodeError, match="value"):
        decode_payment_payload(encode_json_header(data))


def test_payment_required_header_decodes_with_camel_case(tmp_path) -> None:
    stack = make_stack(tmp_path)
    _, headers, _ = stack.gate.challenge(RESOURCE, MODEL)
    raw = json.loads(base64.b64decode(headers["PAYMENT-REQUIRED"]))
    assert (
        raw["x402Version"] == 2
        and raw["accepts"][0]["payTo"]
        and raw["accepts"][0]["maxTimeoutSeconds"]
    )
    assert decode_payment_required(headers["PAYMENT-REQUIRED"]).accepts[0].amount == "157500"


@pytest.mark.parametrize(
    ("usd", "atomic"),
    [(0.1575, 157500), ("0.01", 10000), (Decimal("5"), 5_000_000), (0, 0), ("0.000001", 1)],
)
def test_usd_to_atomic_is_exact(usd: object, atomic: int) -> None:
    assert usd_to_atomic(usd) == atomic
    assert atomic_to_usd(atomic) == Decimal(str(usd))


@pytest.mark.parametrize("bad", ["0.0000001", -1, "nan", "inf", "abc", 1e-7])
def test_usd_to_atomic_refuses_inexact_or_negative(bad: object) -> None:
    with pytest.raises(ValueError):
        usd_to_atomic(bad)


@given(st.integers(min_value=0, max_value=10**15))
def test_atomic_usd_round_trip(atomic: int) -> None:
    assert usd_to_atomic(atomic_to_usd(atomic)) == atomic
