"""Pure pieces: fault rules and header, Cal.com pagination and slot times, availability, limiter, catalog."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time
from pathlib import Path

import httpx
import pytest
import yaml
from pydantic import ValidationError

from mock_calcom.app import create_app
from mock_calcom.availability import Availability
from mock_calcom.calcom_shapes import pagination, slot_time
from mock_calcom.catalog import DEFAULT_CATALOG, Catalog, load_catalog
from mock_calcom.faults.profiles import load_profile, resolve_profile
from mock_calcom.faults.rules import FaultRule, parse_fault_header, path_matches
from mock_calcom.ledger import BookingLedger
from mock_calcom.rate_limit import RateLimiter
from mock_calcom.settings import MockSettings


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/v2/bookings", "/v2/bookings", True),
        ("/v2/bookings", "/v2/bookings/abc", False),
        ("/v2/bookings/*/cancel", "/v2/bookings/abc/cancel", True),
        ("/v2/bookings/*/cancel", "/v2/bookings/abc/reschedule", False),
        ("/v2/bookings/*", "/v2/bookings/abc/cancel", False),
        ("/v2/*", "/v2/slots", True),
    ],
)
def test_path_patterns(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


def test_fault_header_parses_kinds_and_typed_params() -> None:
    latency, error, slow = parse_fault_header(
        "latency;ms=250, http_error;status=409 ,slow_body;chunks=3;chunk_delay_ms=1.5"
    )
    assert (latency.kind, latency.ms) == ("latency", 250)
    assert (error.kind, error.status) == ("http_error", 409)
    assert (slow.chunks, slow.chunk_delay_ms) == (3, 1.5)
    assert parse_fault_header("malformed_json;commit=true")[0].commit is True
    with pytest.raises(ValidationError):
        parse_fault_header("latency;nonsense=1")
    with pytest.raises(ValidationError):
        parse_fault_header("explode")


def test_delay_defaults_straddle_a_1_5_s_client_timeout() -> None:
    rng = random.Random(1)
    assert FaultRule(kind="latency_just_under").delay_ms(rng, 30_000) == 1400
    assert FaultRule(kind="latency_just_over").delay_ms(rng, 30_000) == 1600
    assert FaultRule(kind="latency").delay_ms(rng, 30_000) == 500
    capped = FaultRule(kind="random_latency", distribution="lognormal", median_ms=10_000, sigma=2)
    assert all(capped.delay_ms(rng, 3000) <= 3000 for _ in range(50))


@pytest.mark.parametrize(
    ("skip", "take", "total", "expected"),
    [
        (0, 100, 0, (0, 0, 0, 0, 0, False, False)),
        (0, 10, 25, (10, 25, 15, 1, 3, True, False)),
        (20, 10, 25, (5, 25, 0, 3, 3, False, True)),
        (40, 10, 25, (0, 25, 0, 3, 3, False, True)),
    ],
)
def test_pagination_as_calcom_computes_it(
    skip: int, take: int, total: int, expected: tuple
) -> None:
    page = pagination(skip, take, total)
    keys = (
        "itemsReturned",
        "totalItems",
        "remainingItems",
        "currentPage",
        "totalPages",
        "hasNextPage",
        "hasPreviousPage",
    )
    assert tuple(page[k] for k in keys) == expected and page["itemsPerPage"] == take


def test_slot_times_follow_the_zone_offset() -> None:
    winter = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
    summer = datetime(2030, 7, 1, 7, 0, tzinfo=UTC)
    assert slot_time(winter, "Europe/Berlin") == ("2030-01-07", "2030-01-07T09:00:00.000+01:00")
    assert slot_time(summer, "Europe/Berlin") == ("2030-07-01", "2030-07-01T09:00:00.000+02:00")
    assert slot_time(summer, "UTC") == ("2030-07-01", "2030-07-01T07:00:00.000Z")
    assert slot_time(datetime(2030, 7, 1, 22, 30, tzinfo=UTC), "Europe/Berlin")[0] == "2030-07-02"


def test_opening_hours_hold_across_the_dst_switch() -> None:
    catalog = load_catalog()
    availability = Availability(catalog, BookingLedger(catalog.zone, 1))
    before = availability.candidate_starts(date(2030, 3, 30), 30)  # Saturday, CET
    after = availability.candidate_starts(date(2030, 4, 1), 30)  # Monday, CEST
    assert before[0] == datetime(2030, 3, 30, 8, 0, tzinfo=UTC)
    assert after[0] == datetime(2030, 4, 1, 7, 0, tzinfo=UTC)
    assert len(before) == len(after) == 35
    assert availability.candidate_starts(date(2030, 3, 31), 30) == []  # Sunday: closed


def test_rate_limiter_fixed_window_per_key() -> None:
    now = [0.0]
    limiter = RateLimiter(limit=2, window_s=60, clock=lambda: now[0])
    assert [limiter.hit("a").allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit("b").allowed
    now[0] = 59.5
    blocked = limiter.hit("a")
    assert not blocked.allowed and blocked.reset_s == 1 and blocked.remaining == 0
    now[0] = 60.0
    assert limiter.hit("a").remaining == 1


def test_catalog_validation_and_yaml_clock_times(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text())
    raw["opening_hours"]["monday"] = [
        [540, 1080]
    ]  # what YAML 1.1 makes of unquoted 09:00 and 18:00
    assert Catalog.model_validate(raw).hours_on(0) == [(time(9), time(18))]
    broken = dict(
        raw, event_types=[*raw["event_types"], {**raw["event_types"][0], "id": 99, "host": 7}]
    )
    with pytest.raises(ValidationError, match="unknown host 7"):
        Catalog.model_validate(broken)
    with pytest.raises(ValidationError, match="unique"):
        Catalog.model_validate(dict(raw, event_types=raw["event_types"] * 2))


async def test_another_catalog_replaces_the_salon(tmp_path: Path) -> None:
    path = tmp_path / "barber.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "Barbier Nord",
                "opening_hours": {"monday": [["10:00", "12:00"]]},
                "hosts": [{"id": 7, "name": "Ali", "username": "ali", "email": "ali@example.de"}],
                "event_types": [
                    {
                        "id": 70,
                        "title": "Rasur",
                        "slug": "rasur",
                        "length_in_minutes": 60,
                        "host": 7,
                    }
                ],
            }
        )
    )
    app = create_app(MockSettings(catalog=path, seed=1))
    app.state.mock.apply_config({"now": datetime(2030, 6, 1, tzinfo=UTC)})
    headers = {"Authorization": "Bearer cal_x", "cal-api-version": "2024-09-04"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mock", headers=headers
    ) as client:
        types = (
            await client.get("/v2/event-types", headers={"cal-api-version": "2024-06-14"})
        ).json()["data"]
        slots = (
            await client.get(
                "/v2/slots", params={"eventTypeId": 70, "start": "2030-06-03", "end": "2030-06-03"}
            )
        ).json()
    assert [t["title"] for t in types] == ["Rasur"]
    assert [s["start"] for s in slots["data"]["2030-06-03"]] == [
        "2030-06-03T08:00:00.000Z",
        "2030-06-03T08:15:00.000Z",
        "2030-06-03T08:30:00.000Z",
        "2030-06-03T08:45:00.000Z",
        "2030-06-03T09:00:00.000Z",
    ]


def test_profiles_resolve_by_name_or_path(tmp_path: Path) -> None:
    assert resolve_profile("lost_response").name == "lost_response.yaml"
    assert resolve_profile("lost_response.yaml").name == "lost_response.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text("faults:\n  - {kind: http_503, probability: 0.5}\nconfig: {race_window_ms: 5}\n")
    profile = load_profile(own)
    assert profile.faults[0].probability == 0.5 and profile.config == {"race_window_ms": 5}
    with pytest.raises(FileNotFoundError, match="lost_response"):
        resolve_profile("does_not_exist")
