"""A stylist is one lock and constraint resource whatever the service (review F10)."""

from __future__ import annotations

import pytest

from booking_core.adapters.migrations import upgrade
from booking_core.bootstrap import RunningCore, bootstrap
from booking_core.config import Settings
from booking_core.domain.model import MixedResources, check_resources
from booking_core.service_layer.catalog import upsert_services

SYNCED = {"name": "Herrenschnitt", "duration_min": 30, "calcom_event_type_id": 1, "resource": "host:7"}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    upgrade(sqlite_url)
    return sqlite_url


async def _resources(core: RunningCore) -> dict[str, str]:
    async with core.uow() as uow:
        return {row.name: row.resource for row in await uow.services.all()}


async def test_a_manual_service_without_its_stylist_is_refused_next_to_synced_ones(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url))
    async with core.uow() as uow:
        await upsert_services(uow, [SYNCED])
    for manual in ({"name": "Bartpflege", "duration_min": 20},
                   {"name": "Bartpflege", "duration_min": 20, "resource": "salon"}):
        with pytest.raises(MixedResources):
            async with core.uow() as uow:
                await upsert_services(uow, [manual])
        assert await _resources(core) == {"Herrenschnitt": "host:7"}  # nothing stored
    async with core.uow() as uow:  # naming the stylist: one resource with the synced service
        await upsert_services(uow, [{"name": "Bartpflege", "duration_min": 20, "resource": "host:7"}])
    assert await _resources(core) == {"Herrenschnitt": "host:7", "Bartpflege": "host:7"}
    await core.aclose()


async def test_reimporting_a_service_without_a_resource_keeps_its_stylist(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url))
    async with core.uow() as uow:
        await upsert_services(uow, [SYNCED])
    async with core.uow() as uow:  # a services file that lists prices only
        await upsert_services(uow, [{"name": "Herrenschnitt", "duration_min": 30, "price_eur": 28}])
    assert await _resources(core) == {"Herrenschnitt": "host:7"}
    await core.aclose()


async def test_a_salon_without_stylists_keeps_one_salon_resource(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url))
    async with core.uow() as uow:
        await upsert_services(uow, [{"name": "Damenschnitt", "duration_min": 60},
                                    {"name": "Föhnen", "duration_min": 30}])
    assert set((await _resources(core)).values()) == {"salon"}
    with pytest.raises(MixedResources):  # and a synced stylist service cannot join it unnoticed
        async with core.uow() as uow:
            await upsert_services(uow, [SYNCED])
    await core.aclose()


@pytest.mark.parametrize(("resources", "mixed"), [
    (["host:1", "host:2"], False), (["salon"], False), (["salon", "host:1"], True),
    (["eventtype:4", "host:1"], False), ([], False)])
def test_check_resources(resources: list[str], mixed: bool) -> None:
    if mixed:
        with pytest.raises(MixedResources):
            check_resources(resources)
    else:
        check_resources(resources)
