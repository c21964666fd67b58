import json
import time

from booking_core.entrypoints.signature import sign, verify

KEY = "key_test_retell"


def test_signed_body_with_umlauts_verifies_on_raw_bytes() -> None:
    body = json.dumps({"args": {"customer_name": "Jürgen Weiß", "service": "Föhnen"}}, ensure_ascii=False).encode()
    assert verify(body, KEY, sign(body, KEY))


def test_any_changed_byte_fails() -> None:
    body = b'{"name":"book_appointment"}'
    header = sign(body, KEY)
    assert not verify(body + b" ", KEY, header)
    assert not verify(body, "other-key", header)


def test_timestamp_more_than_five_minutes_off_is_rejected() -> None:
    body = b"{}"
    now = int(time.time() * 1000)
    assert verify(body, KEY, sign(body, KEY, now - 4 * 60 * 1000), now_ms=now)
    assert not verify(body, KEY, sign(body, KEY, now - 6 * 60 * 1000), now_ms=now)
    assert not verify(body, KEY, sign(body, KEY, now + 6 * 60 * 1000), now_ms=now)


def test_missing_or_garbled_header_is_rejected() -> None:
    assert not verify(b"{}", KEY, None)
    assert not verify(b"{}", KEY, "garbage")
    assert not verify(b"{}", KEY, "v=notanumber,d=abc")
