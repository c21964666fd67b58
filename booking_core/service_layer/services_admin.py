"""Service management without a web admin: sync from Cal.com, add, import, disable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from booking_core.service_layer.catalog import service_from_event_type, upsert_services
from booking_core.service_layer.core import Core


async def sync_from_calcom(core: Core) -> tuple[int, int]:
    event_types = await core.calcom.event_types(timeout_s=max(core.settings.calcom_timeout_s, 5.0))
    async with core.uow() as uow:
        result = await upsert_services(uow, [service_from_event_type(e) for e in event_types])
    core.catalog.invalidate()
    return result


async def add_service(core: Core, item: dict[str, Any]) -> tuple[int, int]:
    async with core.uow() as uow:
        result = await upsert_services(uow, [item])
    core.catalog.invalidate()
    return result


def load_services_file(path: Path) -> list[dict[str, Any]]:
    """YAML: a list of services, or {services: [...]}, each {name, duration_min, price_eur, aliases…}."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("services") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of services")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "name" not in item or "duration_min" not in item:
            raise ValueError(f"{path}: service #{index + 1} needs at least name and duration_min")
    return items


async def import_services(core: Core, path: Path) -> tuple[int, int]:
    async with core.uow() as uow:
        result = await upsert_services(uow, load_services_file(path))
    core.catalog.invalidate()
    return result


async def set_active(core: Core, name: str, active: bool) -> bool:
    async with core.uow() as uow:
        row = await uow.services.by_name(name)
        if row is None:
            return False
        row.active = active
        await uow.commit()
    core.catalog.invalidate()
    return True


async def list_services(core: Core) -> list[dict[str, Any]]:
    async with core.uow() as uow:
        rows = await uow.services.all()
    return [{"name": r.name, "duration_min": r.duration_min,
             "price_eur": float(r.price_eur) if r.price_eur is not None else None, "aliases": r.aliases,
             "resource": r.resource, "calcom_event_type_id": r.calcom_event_type_id, "active": r.active}
            for r in rows]
