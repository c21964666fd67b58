"""A recorded call on disk: a folder holding two vcrpy cassettes.

    <cassette>/caller.yaml   what the webhook received from Retell, in order, and its answers
    <cassette>/calcom.yaml   every HTTP exchange the core had with Cal.com meanwhile

Both are plain vcrpy cassettes (vcrpy's YAML format, a `metadata` block on top), so vcrpy itself
reads them; this module only turns the caller side into the requests replay sends again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
from vcr.serializers import yamlserializer

from replay.cassette import CALCOM_FILE
from replay.failures import ELAPSED_HEADER, FAILURE_HEADER, FAILURE_STATUS

CALLER_FILE = "caller.yaml"


class CassetteError(Exception):
    """A cassette that cannot be replayed; the message says which file and why."""


@dataclass(frozen=True)
class Exchange:
    """One request the webhook received, and what it answered (or that it never did)."""

    index: int
    method: str
    target: str  # path and query
    headers: dict[str, str]
    body: bytes
    status: int | None
    answer: bytes
    failure: str | None = None  # the caller's transport error, e.g. ReadTimeout
    waited_s: float | None = None

    @property
    def label(self) -> str:
        try:
            payload = json.loads(self.body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("name"), str):
            return str(payload["name"])
        if isinstance(payload, dict) and isinstance(payload.get("event"), str):
            return f"event {payload['event']}"
        return self.target.split("?", 1)[0].removeprefix("/api/retell/").replace("-", "_")


@dataclass(frozen=True)
class Recording:
    folder: Path
    exchanges: list[Exchange]
    metadata: dict[str, Any]
    calcom_path: Path
    calcom_base_url: str
    calcom_exchanges: int


def _load(path: Path) -> tuple[list[Any], list[dict[str, Any]], dict[str, Any]]:
    try:
        requests, responses, *rest = FilesystemPersister.load_cassette(path, yamlserializer)
    except CassetteNotFoundError:
        raise CassetteError(f"{path}: no such cassette (or it is empty)") from None
    except (ValueError, KeyError, TypeError) as error:
        raise CassetteError(f"{path}: not a vcrpy cassette: {error}") from None
    return requests, responses, (rest[0] if rest else {})


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _exchange(index: int, request: Any, response: dict[str, Any]) -> Exchange:
    url = urlsplit(request.uri)
    headers = {str(k): str(v) for k, v in request.headers.items()}
    response_headers = {str(k).lower(): v[0] if isinstance(v, list) else v for k, v in response["headers"].items()}
    status = int(response["status"]["code"])
    failed = status == FAILURE_STATUS and FAILURE_HEADER in response_headers
    return Exchange(
        index=index, method=request.method, target=url.path + (f"?{url.query}" if url.query else ""),
        headers=headers, body=_as_bytes(request.body),
        status=None if failed else status, answer=b"" if failed else _as_bytes(response["body"]["string"]),
        failure=str(response_headers[FAILURE_HEADER]) if failed else None,
        waited_s=float(response_headers.get(ELAPSED_HEADER, 0)) / 1000 if failed else None,
    )


def open_recording(path: Path) -> Recording:
    """`path`: the cassette folder, or its caller.yaml."""
    folder = path.parent if path.is_file() else path
    if not folder.is_dir():
        raise CassetteError(f"{path}: no such cassette folder")
    caller, calcom = folder / CALLER_FILE, folder / CALCOM_FILE
    requests, responses, metadata = _load(caller)
    if not calcom.is_file():
        raise CassetteError(f"{calcom}: missing — the core's side was not recorded (run the core as "
                            f"`python -m replay.serve` with CALCOM_CASSETTE set)")
    calcom_requests, _, calcom_metadata = _load(calcom)
    base = calcom_metadata.get("calcom_base_url")
    if not base and calcom_requests:
        base = calcom_requests[0].uri.split("/v2/", 1)[0]
    return Recording(folder=folder, metadata=metadata, calcom_path=calcom,
                     exchanges=[_exchange(i, rq, rs) for i, (rq, rs) in enumerate(zip(requests, responses, strict=True))],
                     calcom_base_url=str(base or "http://calcom.invalid"), calcom_exchanges=len(calcom_requests))
