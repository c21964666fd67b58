"""--strict: Cal.com traffic must match the recording both ways, not just the answers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import yamlserializer

from replay.cassette import CALCOM_FILE
from replay.files import open_recording
from replay.play import ReplayResult, replay_recording
from tests.replay.core_in_process import core_in_process

HAPPY = Path(__file__).resolve().parents[1] / "cassettes" / "book-herrenschnitt"
Interactions = tuple[list[Any], list[dict[str, Any]]]


async def replay_edited(tmp_path: Path, edit: Callable[[list[Any], list[dict[str, Any]]], Interactions]) -> ReplayResult:
    folder = Path(shutil.copytree(HAPPY, tmp_path / HAPPY.name))
    requests, responses, metadata = FilesystemPersister.load_cassette(folder / CALCOM_FILE, yamlserializer)
    requests, responses = edit(requests, responses)
    FilesystemPersister.save_cassette(folder / CALCOM_FILE, {"requests": requests, "responses": responses,
                                                             "metadata": metadata}, yamlserializer)
    return await replay_recording(open_recording(folder), host=core_in_process)


def index_of(requests: list[Any], method: str, path: str) -> int:
    return next(i for i, r in enumerate(requests) if r.method == method and r.path == path)


async def test_the_unedited_cassette_passes_strict() -> None:
    result = await replay_recording(open_recording(HAPPY), host=core_in_process)
    assert result.passed(strict=True)
    assert result.calcom["played"] == result.calcom["recorded"] > 0


async def test_an_exchange_never_requested_fails_only_strict(tmp_path: Path) -> None:
    def extra_slots_answer(requests: list[Any], responses: list[dict[str, Any]]) -> Interactions:
        slots = index_of(requests, "GET", "/v2/slots")
        return requests + [requests[slots]], responses + [responses[slots]]

    result = await replay_edited(tmp_path, extra_slots_answer)
    assert not result.diverged
    assert [item["uri"].split("?")[0].rsplit("/", 2)[-2:] for item in result.unused] == [["v2", "slots"]]
    assert result.passed(strict=False) and not result.passed(strict=True)


async def test_a_request_the_cassette_lacks_diverges_and_is_named(tmp_path: Path) -> None:
    def without_the_booking(requests: list[Any], responses: list[dict[str, Any]]) -> Interactions:
        create = index_of(requests, "POST", "/v2/bookings")
        return requests[:create] + requests[create + 1:], responses[:create] + responses[create + 1:]

    result = await replay_edited(tmp_path, without_the_booking)
    assert [step.label for step in result.diverged] == ["book_appointment"]
    assert [(item["method"], item["uri"].rsplit("/", 2)[-2:]) for item in result.unmatched] == [
        ("POST", ["v2", "bookings"])]
    assert not result.passed(strict=False)


async def test_a_changed_booking_payload_is_no_match(tmp_path: Path) -> None:
    """The core sending Cal.com another payload (here a length it did not send) is a divergence."""

    def other_length(requests: list[Any], responses: list[dict[str, Any]]) -> Interactions:
        create = index_of(requests, "POST", "/v2/bookings")
        body = json.loads(requests[create].body)
        assert "lengthInMinutes" not in body  # Cal.com refuses it on single-length event types
        body["lengthInMinutes"] = 45
        requests[create].body = json.dumps(body)
        return requests, responses

    result = await replay_edited(tmp_path, other_length)
    assert [step.label for step in result.diverged] == ["book_appointment"]
    assert result.unmatched[0]["closest"][0]["differs"] == ["json_body"]
