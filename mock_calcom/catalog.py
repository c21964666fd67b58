"""The salon the mock pretends to be: hosts (Cal.com users), event types and opening hours, from YAML."""

from __future__ import annotations

from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

DEFAULT_CATALOG = Path(__file__).with_name("salon.yaml")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _parse_clock(value: object) -> time:
    # YAML 1.1 reads an unquoted 09:00 as sexagesimal minutes (540); accept both spellings.
    if isinstance(value, int):
        return time(value // 60, value % 60)
    if isinstance(value, str):
        return time.fromisoformat(value)
    if isinstance(value, time):
        return value
    raise ValueError(f"not a clock time: {value!r}")


ClockTime = Annotated[time, BeforeValidator(_parse_clock)]


class Host(BaseModel):
    """A stylist: a Cal.com user and member of the salon's team."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    username: str
    email: str
    # The stylist's own API key: on Cal.com a key acts as its owner and sees only the owner's bookings.
    api_key: str | None = None
    role: Literal["OWNER", "ADMIN", "MEMBER"] = "MEMBER"

    @property
    def team_admin(self) -> bool:
        return self.role in ("OWNER", "ADMIN")


class EventType(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    slug: str
    length_in_minutes: int = Field(gt=0)
    price_eur: float = 0
    host: int
    description: str = ""
    # Cal.com's event type settings that decide whether a start can be booked at all.
    # `length_options` is metadata.multipleDuration: only then may a create carry lengthInMinutes.
    length_options: tuple[int, ...] = ()
    minimum_booking_notice: int = Field(default=0, ge=0)  # minutes
    booking_window_days: int | None = Field(default=None, gt=0)  # rolling period, None = unlimited
    before_event_buffer: int = Field(default=0, ge=0)  # minutes
    after_event_buffer: int = Field(default=0, ge=0)
    disable_cancelling: bool = False

    @property
    def price_cents(self) -> int:
        return round(self.price_eur * 100)

    @model_validator(mode="after")
    def _default_length_is_an_option(self) -> EventType:
        if self.length_options and self.length_in_minutes not in self.length_options:
            raise ValueError(f"event type {self.id}: length_in_minutes must be one of length_options")
        return self


class Team(BaseModel):
    """The salon as a Cal.com team: its event types are team event types, one stylist hosting each."""

    model_config = ConfigDict(frozen=True)

    id: int
    slug: str
    name: str


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    team: Team | None = None
    time_zone: str = "Europe/Berlin"
    currency: str = "eur"
    slot_interval_minutes: int = Field(default=15, gt=0)
    address: str = ""
    opening_hours: dict[str, list[tuple[ClockTime, ClockTime]]]
    hosts: list[Host]
    event_types: list[EventType]

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        ZoneInfo(self.time_zone)
        unknown_days = set(self.opening_hours) - set(WEEKDAYS)
        if unknown_days:
            raise ValueError(f"unknown weekdays in opening_hours: {sorted(unknown_days)}")
        host_ids = {h.id for h in self.hosts}
        for event_type in self.event_types:
            if event_type.host not in host_ids:
                raise ValueError(f"event type {event_type.id} names unknown host {event_type.host}")
        if len({e.id for e in self.event_types}) != len(self.event_types):
            raise ValueError("event type ids must be unique")
        keys = [h.api_key for h in self.hosts if h.api_key]
        if len(set(keys)) != len(keys):
            raise ValueError("host api keys must be unique")
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def hours_on(self, weekday: int) -> list[tuple[time, time]]:
        """Opening intervals on a weekday (0 = Monday), empty when closed."""
        return self.opening_hours.get(WEEKDAYS[weekday], [])

    def event_type(self, event_type_id: int) -> EventType | None:
        return self._event_types_by_id.get(event_type_id)

    def host(self, host_id: int) -> Host:
        return self._hosts_by_id[host_id]

    def host_by_key(self, api_key: str) -> Host | None:
        return next((h for h in self.hosts if h.api_key and h.api_key == api_key), None)

    @cached_property
    def _event_types_by_id(self) -> dict[int, EventType]:
        return {e.id: e for e in self.event_types}

    @cached_property
    def _hosts_by_id(self) -> dict[int, Host]:
        return {h.id: h for h in self.hosts}


def load_catalog(path: Path | None = None) -> Catalog:
    with (path or DEFAULT_CATALOG).open(encoding="utf-8") as handle:
        return Catalog.model_validate(yaml.safe_load(handle))
