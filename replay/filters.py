"""What never reaches a cassette, and what may differ between a recording and its replay.

Secrets are redacted and caller phone numbers pseudonymised before vcrpy writes anything. On
replay, the only thing allowed to differ in what the core sends Cal.com is the ids it mints itself
(UUIDs): they are set aside when matching, and swapped into Cal.com's recorded answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from vcr.request import Request as VcrRequest
from vcr.util import read_body

REDACTED = "<redacted>"
SIGNATURE_HEADER = "x-retell-signature"
# Removed; the signature's value goes, but that there was one stays: replay signs what was signed.
SECRET_HEADERS: tuple[str | tuple[str, str], ...] = (
    "authorization", "proxy-authorization", "x-api-key", "cookie", "x-cal-secret-key", "x-cal-client-id",
    (SIGNATURE_HEADER, REDACTED))
SECRET_QUERY = ("apiKey", "api_key", "key", "token")
DEFAULT_PII_KEY = "callsim-pseudonyms"

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_PHONE = re.compile(r"\+(\d{7,15})(?!\d)")
_PHONE_MAIL = re.compile(r"tel-(\d{7,15})@")
# "+4900…" is no German number (area codes never start with 0): the mark of a pseudonym.
_PSEUDONYM_PREFIX = "4900"


class Scrubber:
    """Secret values out; caller phone numbers replaced by stable pseudonyms (unless kept).

    A pseudonym is an HMAC of the number, so the caller side (recorded by the harness) and the
    Cal.com side (recorded in the core) agree without talking to each other, and a replayed booking
    sends Cal.com exactly what the recording holds. Idempotent: a pseudonym maps to itself.
    """

    def __init__(self, secrets: list[str | None] | tuple[str | None, ...] = (), keep_pii: bool = False,
                 pii_key: str = DEFAULT_PII_KEY) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.keeps_pii = keep_pii
        self._key = pii_key.encode()

    def pseudonym(self, digits: str) -> str:
        if digits.startswith(_PSEUDONYM_PREFIX):
            return digits
        digest = int(hmac.new(self._key, digits.encode(), hashlib.sha256).hexdigest(), 16)
        tail = str(digest).zfill(len(digits))[-max(3, len(digits) - len(_PSEUDONYM_PREFIX)):]
        return _PSEUDONYM_PREFIX + tail

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        if not self.keeps_pii:
            value = _PHONE.sub(lambda m: "+" + self.pseudonym(m[1]), value)
            value = _PHONE_MAIL.sub(lambda m: f"tel-{self.pseudonym(m[1])}@", value)
        return value

    def _body(self, body: Any) -> Any:
        if isinstance(body, bytes):
            try:
                return self.text(body.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                return body
        return self.text(body) if isinstance(body, str) else body

    def request(self, request: VcrRequest) -> VcrRequest:
        request.uri = self.text(request.uri)
        request.body = self._body(request.body)
        request.headers = {k: self.text(v) if isinstance(v, str) else v for k, v in request.headers.items()}
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {k: [self.text(v) for v in values] for k, values in response["headers"].items()
                               if k.lower() != "set-cookie"}
        response["body"]["string"] = self._body(response["body"]["string"])
        return response


def _json_of(request: VcrRequest) -> Any:
    raw = read_body(request) or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return text


def json_body(r1: VcrRequest, r2: VcrRequest) -> None:
    """vcrpy matcher: equal JSON bodies once our own fresh ids (UUIDs) are set aside."""

    def normalised(request: VcrRequest) -> Any:
        return json.loads(UUID.sub("<uuid>", json.dumps(_json_of(request))))

    left, right = normalised(r1), normalised(r2)
    if left != right:
        raise AssertionError(f"JSON body differs: {json.dumps(left, ensure_ascii=False)[:300]} != "
                             f"{json.dumps(right, ensure_ascii=False)[:300]}")


class FreshIds:
    """Recorded id → the id the replaying core minted in its place (say, an appointment's UUID).

    Learnt from every request that matched (same JSON, other UUIDs at the same places) and applied
    to the answers played back, so a lookup of a booking by our own id finds, on replay, what it
    found when recorded: the correspondence is kept, not ignored.
    """

    def __init__(self) -> None:
        self.replaced: dict[str, str] = {}

    def learn(self, recorded: VcrRequest, live: VcrRequest) -> None:
        self._pair(_json_of(recorded), _json_of(live))

    def _pair(self, old: Any, new: Any) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in old.keys() & new.keys():
                self._pair(old[key], new[key])
        elif isinstance(old, list) and isinstance(new, list):
            for a, b in zip(old, new, strict=False):
                self._pair(a, b)
        elif isinstance(old, str) and isinstance(new, str):
            before, after = UUID.findall(old), UUID.findall(new)
            if len(before) == len(after):
                self.replaced.update((a.lower(), b) for a, b in zip(before, after, strict=True) if a.lower() != b.lower())

    def apply(self, body: bytes) -> bytes:
        if not self.replaced:
            return body
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
        # A UUID for a UUID: the length stays, and with it the recorded Content-Length.
        return UUID.sub(lambda m: self.replaced.get(m[0].lower(), m[0]), text).encode("utf-8")
