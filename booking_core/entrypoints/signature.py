"""Retell's webhook signature: `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256>`.

The HMAC is keyed with the Retell API key over the raw body bytes followed by the timestamp, so it
must be checked on the exact bytes received (umlauts and ß included), before any JSON parsing.
"""

import hashlib
import hmac
import time

MAX_SKEW_MS = 5 * 60 * 1000


def sign(body: bytes, api_key: str, timestamp_ms: int | None = None) -> str:
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    digest = hmac.new(api_key.encode(), body + str(ts).encode(), hashlib.sha256).hexdigest()
    return f"v={ts},d={digest}"


def verify(body: bytes, api_key: str, header: str | None, now_ms: int | None = None) -> bool:
    if not header:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        ts = int(parts["v"])
        digest = parts["d"]
    except (KeyError, ValueError):
        return False
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - ts) > MAX_SKEW_MS:
        return False
    expected = hmac.new(api_key.encode(), body + str(ts).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())
