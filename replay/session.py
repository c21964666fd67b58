"""vcrpy around a process's httpx traffic: one cassette, or one per Retell call.

The same session records the core's Cal.com side and (in the harness) the caller side, so both
cassettes share filters, failure markers and metadata.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from unittest import mock

import httpx
import vcr
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
from vcr.request import Request as VcrRequest
from vcr.util import read_body

from replay.failures import (
    as_vcr_request,
    failure_interaction,
    is_recorded_failure,
    raise_recorded_failure,
)
from replay.filters import (
    SECRET_HEADERS,
    SECRET_QUERY,
    FreshIds,
    Scrubber,
    json_body,
)

Mode = Literal["record", "replay"]
CASSETTE_FORMAT = "callsim-cassette/1"
# Method, URL and the JSON body: a changed booking payload is a divergence, not a match.
MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "json_body")
_CALL_TAG = "x-callsim-call"

current_call: ContextVar[str | None] = ContextVar("callsim_cassette_call", default=None)


def describe(request: VcrRequest) -> dict[str, Any]:
    raw = read_body(request) or b""
    body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return {"method": request.method, "uri": request.uri, "body": body[:500]}


@dataclass
class Session:
    """One active cassette and what happened to it."""

    cassette: Any
    mode: Mode
    path: Path
    split_by_call: bool = False
    calls: set[str] = field(default_factory=set)  # per-call mode: every call seen, with traffic or not
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    fresh_ids: FreshIds = field(default_factory=FreshIds)

    def report(self) -> dict[str, Any]:
        played = set(self.cassette.play_counts)
        unused = [describe(request) for index, request in enumerate(self.cassette.requests) if index not in played]
        return {"cassette": str(self.path), "recorded": len(self.cassette), "played": self.cassette.play_count,
                "all_played": self.cassette.all_played, "unused": unused, "unmatched": self.unmatched}


def _unmatched(request: httpx.Request, error: CannotOverwriteExistingCassetteException) -> dict[str, Any]:
    return {**describe(as_vcr_request(request)), "reason": error.reason,
            "closest": [{"uri": similar.uri, "differs": [matcher for matcher, _ in failed]}
                        for similar, _, failed in error.similar_requests[:3]]}


async def _with_fresh_ids(session: Session, request: httpx.Request, played: list[int],
                          response: httpx.Response) -> httpx.Response:
    for index in played:
        session.fresh_ids.learn(session.cassette.requests[index], as_vcr_request(request))
    if not session.fresh_ids.replaced:
        return response
    body = session.fresh_ids.apply(await response.aread())
    return httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(body),
                          extensions=response.extensions)


def _failure_aware_send(session: Session) -> Callable[..., Any]:
    vcr_send = httpx.AsyncHTTPTransport.handle_async_request  # vcrpy's stub, patched in just before

    async def handle_async_request(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        started, before = time.monotonic(), Counter(session.cassette.play_counts)
        try:
            response: httpx.Response = await vcr_send(transport, request)
        except CannotOverwriteExistingCassetteException as error:
            session.unmatched.append(_unmatched(request, error))
            # Replay has no network: an unknown request is what an unreachable Cal.com looks like.
            raise httpx.ConnectError("not in the cassette", request=request) from None
        except (httpx.TransportError, asyncio.CancelledError) as error:
            if session.mode == "record":
                session.cassette.append(as_vcr_request(request), failure_interaction(error, time.monotonic() - started))
            raise
        if session.mode == "record":
            return response
        played = [i for i, count in session.cassette.play_counts.items() if count != before.get(i, 0)]
        response = await _with_fresh_ids(session, request, played, response)
        if is_recorded_failure(response):
            await raise_recorded_failure(request, response)
        return response

    return handle_async_request


def _tag_with_call(request: VcrRequest) -> VcrRequest:
    call = current_call.get()
    if call:
        request.headers[_CALL_TAG] = call
    return request


def safe_name(call_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", call_id).strip("._")[:120]
    return cleaned or hashlib.sha256(call_id.encode()).hexdigest()[:16]


class PerCallPersister:
    """vcrpy persister that writes <folder>/<call_id>/<name>: each call with the process's
    untagged exchanges (startup: the services sync) in front, so every call replays alone."""

    def __init__(self, name: str, calls: set[str]) -> None:
        self._name = name
        self._calls = calls

    def load_cassette(self, cassette_path: str, serializer: Any) -> Any:
        raise CassetteNotFoundError()

    def save_cassette(self, cassette_path: str, cassette_dict: dict[str, Any], serializer: Any) -> None:
        shared: list[tuple[VcrRequest, Any]] = []
        by_call: dict[str, list[tuple[VcrRequest, Any]]] = {call: [] for call in self._calls}
        for request, response in zip(cassette_dict["requests"], cassette_dict["responses"], strict=True):
            request = copy.deepcopy(request)
            call = request.headers.pop(_CALL_TAG, None)
            (by_call.setdefault(call, []) if call else shared).append((request, response))
        for call, interactions in by_call.items():
            both = shared + interactions
            FilesystemPersister.save_cassette(
                Path(cassette_path) / safe_name(call) / self._name,
                {"requests": [r for r, _ in both], "responses": [r for _, r in both],
                 "metadata": {**cassette_dict.get("metadata", {}), "call_id": call}},
                serializer=serializer)


@contextmanager
def cassette_session(path: Path, mode: Mode, *, scrubber: Scrubber | None = None,
                     keep: Callable[[VcrRequest], bool] | None = None, per_call_file: str | None = None,
                     metadata: dict[str, Any] | None = None) -> Iterator[Session]:
    """vcrpy around this process's httpx traffic, for the requests `keep` chooses (others pass).

    Record: `scrubber` cleans each request and answer before it is kept; with `per_call_file`,
    `path` is a folder and each call tagged through `current_call` gets <path>/<call>/<file>.
    Replay: answers come from the cassette, nothing reaches the network.
    """
    recording = mode == "record"
    scrubber = scrubber or Scrubber()
    calls: set[str] = set()
    filters: list[Callable[[VcrRequest], VcrRequest | None]] = []
    if keep is not None:
        filters.append(lambda request: request if keep(request) else None)
    if recording:
        filters += [scrubber.request, _tag_with_call]
    recorder = vcr.VCR(
        record_mode="all" if recording else "none",
        match_on=MATCH_ON,
        filter_headers=SECRET_HEADERS,
        filter_query_parameters=SECRET_QUERY,
        before_record_request=filters or None,
        before_record_response=scrubber.response if recording else None,
        decode_compressed_response=True,  # readable bodies, and no number hides from the scrubber in gzip
        drop_unused_requests=True,
    )
    recorder.register_matcher("json_body", json_body)
    if recording and per_call_file:
        recorder.register_persister(PerCallPersister(per_call_file, calls))
    elif recording:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # "all" would keep a previous recording's leftovers
    elif not path.is_file():
        raise FileNotFoundError(f"no cassette at {path}")
    with ExitStack() as stack:
        cassette = stack.enter_context(recorder.use_cassette(str(path), allow_playback_repeats=False))
        session = Session(cassette, mode, path, bool(recording and per_call_file), calls)
        stack.enter_context(mock.patch.object(httpx.AsyncHTTPTransport, "handle_async_request",
                                              _failure_aware_send(session)))
        if recording:
            stamp = {"format": CASSETTE_FORMAT, "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                     "pii": "kept" if scrubber.keeps_pii else "pseudonymised", **(metadata or {})}
            for key, value in stamp.items():
                cassette.get_metadata(key, value)
        yield session
