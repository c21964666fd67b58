"""The operator commands, run as an operator runs them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.stack import StackOptions, Target
from tests.support.commands import callsim
from tests.support.stack import RetellClient, at, future_workday, running_stack


def test_services_add_list_import_disable(sqlite_url: str, tmp_path: Path) -> None:
    assert callsim("db", "upgrade", "--database-url", sqlite_url).returncode == 0
    added = callsim("services", "add", "Damenschnitt", "--duration", "60", "--price", "45",
                    "--alias", "Damenhaarschnitt", "--database-url", sqlite_url)
    assert added.returncode == 0, added.stderr
    catalog = tmp_path / "services.yaml"
    catalog.write_text("services:\n  - {name: Föhnen, duration_min: 30, price_eur: 25, aliases: [Fönen]}\n"
                       "  - {name: Dauerwelle, duration_min: 120}\n", encoding="utf-8")
    imported = callsim("services", "import", str(catalog), "--database-url", sqlite_url)
    assert imported.returncode == 0 and "2 created" in imported.stdout
    assert callsim("services", "disable", "Dauerwelle", "--database-url", sqlite_url).returncode == 0
    listed = json.loads(callsim("services", "list", "--json", "--database-url", sqlite_url).stdout)
    by_name = {s["name"]: s for s in listed}
    assert by_name["Damenschnitt"]["aliases"] == ["Damenhaarschnitt"] and by_name["Damenschnitt"]["price_eur"] == 45
    assert by_name["Föhnen"]["aliases"] == ["Fönen"]
    assert by_name["Dauerwelle"]["active"] is False


def test_import_of_a_broken_file_names_the_problem(sqlite_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("- {name: Föhnen}\n", encoding="utf-8")
    done = callsim("services", "import", str(broken), "--database-url", sqlite_url)
    assert done.returncode == 2 and "duration_min" in done.stdout


def test_disabling_an_unknown_service_fails(sqlite_url: str) -> None:
    callsim("db", "upgrade", "--database-url", sqlite_url)
    assert callsim("services", "disable", "Gibtsnicht", "--database-url", sqlite_url).returncode == 1


def test_retell_tools_are_retell_custom_functions() -> None:
    tools = json.loads(callsim("retell-tools", "--base-url", "https://salon.example").stdout)
    names = {t["name"] for t in tools}
    assert {"get_available_services", "check_availability", "book_appointment", "cancel_appointment",
            "reschedule_appointment", "list_appointments"} <= names
    book = next(t for t in tools if t["name"] == "book_appointment")
    assert book["url"] == "https://salon.example/api/retell/book-appointment"
    assert set(book["parameters"]["properties"]) == {"service", "date_time", "customer_name", "customer_phone"}
    assert book["parameters"]["required"] == ["service", "date_time", "customer_name"]


@pytest.fixture(scope="module")
def switched_off() -> Iterator[Target]:
    with running_stack(StackOptions(extra_env={"SERVICE_SELECTION_ENABLED": "false",
                                               "DEFAULT_SERVICE": "Herrenschnitt"})) as target:
        yield target


async def test_emergency_switch_books_the_default_service(switched_off: Target) -> None:
    retell = RetellClient(switched_off)
    listed = await retell.call("get_available_services", {})
    assert listed["success"] is False and listed["error"] == "disabled"
    booked = await retell.call("book_appointment", {"service": "Balayage", "date_time": at(future_workday(4), 10),
                                                    "customer_name": "Notfall"}, phone=f"+49170{uuid.uuid4().int % 10**7:07d}")
    assert booked["success"] and booked["data"]["service"] == "Herrenschnitt"
    await retell.aclose()
