"""The salon's services as the webhook sees them: cached, matched, and kept fresh.

The matcher is rebuilt when the services table changes (another worker or the CLI may change it),
checked at most every few seconds so the hot path stays one dictionary lookup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from booking_core.adapters.orm import ServiceRow
from booking_core.domain.model import SALON, BookingRefused, Service, check_resources
from booking_core.language.matching import ServiceMatch, ServiceMatcher
from booking_core.observability import SERVICE_EXTRACTED, log
from booking_core.service_layer.unit_of_work import UnitOfWork

MATCH_CACHE_SIZE = 4096


def to_service(row: ServiceRow) -> Service:
    return Service(id=row.id, name=row.name, duration_min=row.duration_min, price_eur=row.price_eur,
                   resource=row.resource, calcom_event_type_id=row.calcom_event_type_id,
                   aliases=tuple(row.aliases or ()))


class Catalog:
    def __init__(self, uow_factory: Any, *, refresh_s: float = 5.0) -> None:
        self._uow_factory = uow_factory
        self._refresh_s = refresh_s
        self._checked_at = 0.0
        self._fingerprint: tuple[Any, ...] | None = None
        self._services: dict[str, Service] = {}
        self._matcher: ServiceMatcher | None = None
        # The agent says the same few names all day: matching one costs more than the rest of a
        # check, and the answer only changes with the catalog.
        self._matches: dict[str, ServiceMatch] = {}
        self._guard = asyncio.Lock()

    def invalidate(self) -> None:
        self._checked_at = 0.0
        self._fingerprint = None

    async def _fresh(self) -> None:
        if time.monotonic() - self._checked_at < self._refresh_s and self._matcher is not None:
            return
        async with self._guard:
            if time.monotonic() - self._checked_at < self._refresh_s and self._matcher is not None:
                return
            uow: UnitOfWork
            async with self._uow_factory() as uow:
                fingerprint = await uow.services.fingerprint()
                if fingerprint != self._fingerprint or self._matcher is None:
                    services = [to_service(row) for row in await uow.services.active()]
                    self._services = {s.name: s for s in services}
                    self._matcher = ServiceMatcher({s.name: list(s.aliases) for s in services}) if services else None
                    self._matches = {}
                    self._fingerprint = fingerprint
            self._checked_at = time.monotonic()

    async def services(self) -> list[Service]:
        await self._fresh()
        return list(self._services.values())

    async def by_name(self, name: str) -> Service | None:
        await self._fresh()
        return self._services.get(name)

    async def resolve(self, utterance: str | None, *, selection_enabled: bool, default: str,
                      call_id: str | None = None) -> Service:
        """The service the caller meant, or a refusal the agent can turn into a question."""
        await self._fresh()
        if not selection_enabled:
            service = self._services.get(default) or next(iter(self._services.values()), None)
            if service is None:
                raise BookingRefused("service_unknown")
            return service
        if not utterance or not utterance.strip():
            raise BookingRefused("invalid_args", missing=["service"])
        if self._matcher is None:
            raise BookingRefused("service_unknown")
        match = self._matches.get(utterance)
        if match is None:
            match = self._matcher.match(utterance)
            if len(self._matches) >= MATCH_CACHE_SIZE:
                self._matches.clear()
            self._matches[utterance] = match
        log.info(SERVICE_EXTRACTED, call_id=call_id, utterance=utterance, service=match.name,
                 score=round(float(match.score), 1), reason=match.reason, detail=getattr(match, "detail", ""),
                 candidates=[c[0] for c in match.candidates[:3]])
        if match.name is not None and match.name in self._services:
            return self._services[match.name]
        candidates = [name for name, _ in match.candidates if name in self._services]
        if len(candidates) >= 2:
            raise BookingRefused("service_ambiguous", candidates=candidates[:4])
        raise BookingRefused("service_unknown", candidates=candidates)


def describe(service: Service) -> dict[str, Any]:
    return {"name": service.name, "duration_min": service.duration_min,
            "price_eur": float(service.price_eur) if service.price_eur is not None else None}


async def upsert_services(uow: UnitOfWork, items: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Insert or update services by name. Returns (created, updated).

    Raises MixedResources (nothing stored) if the active services would name one stylist under two
    resource keys: a service without a resource is `salon` only in a salon whose services name no
    stylist, and an update without a resource keeps the one the service has.
    """
    created = updated = 0
    for item in items:
        row = await uow.services.by_name(item["name"])
        price = item.get("price_eur")
        fields = {
            "duration_min": int(item["duration_min"]),
            "price_eur": Decimal(str(price)) if price is not None else None,
            "aliases": list(item.get("aliases") or []),
            "calcom_event_type_id": item.get("calcom_event_type_id"),
            "resource": item.get("resource") or (row.resource if row is not None else SALON),
            "active": bool(item.get("active", True)),
        }
        if row is None:
            uow.services.add(ServiceRow(name=item["name"], **fields))
            created += 1
        else:
            for key, value in fields.items():
                if key == "aliases" and not value:
                    continue  # a sync without aliases must not wipe the operator's aliases
                if key == "calcom_event_type_id" and value is None:
                    continue
                setattr(row, key, value)
            updated += 1
    await uow.session.flush()
    check_resources(row.resource for row in await uow.services.active())
    await uow.commit()
    return created, updated


def service_from_event_type(event_type: dict[str, Any]) -> dict[str, Any]:
    """Map a Cal.com v2 event type to our service fields."""
    hosts = event_type.get("hosts") or []
    host_id = None
    if hosts and isinstance(hosts[0], dict):
        host_id = hosts[0].get("userId") or hosts[0].get("id")
    host_id = host_id or event_type.get("ownerId") or event_type.get("userId")
    price = event_type.get("price")
    if price is None and isinstance(event_type.get("metadata"), dict):
        price = event_type["metadata"].get("price")
    return {
        "name": str(event_type.get("title") or event_type.get("slug")),
        "duration_min": int(event_type.get("lengthInMinutes") or event_type.get("length") or 30),
        # Cal.com keeps prices in minor units (cents), as Stripe does.
        "price_eur": price / 100 if isinstance(price, int | float) and price else None,
        "calcom_event_type_id": int(event_type["id"]),
        "resource": f"host:{host_id}" if host_id is not None else f"eventtype:{event_type['id']}",
    }
