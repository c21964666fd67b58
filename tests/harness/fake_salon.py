"""A small stand-in for the core and Cal.com, served through httpx.MockTransport.

It knows three services and one date phrase shape ("morgen um H Uhr" or ISO), books into an
in-memory Cal.com ledger and a real SQLite `appointments` table (plain SQL), so the harness's
agent, runner and checker can be tested without the real core. Switches let a test make it lie.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

BERLIN = ZoneInfo("Europe/Berlin")
SERVICES = {"Herrenschnitt": (30, 102), "Damenschnitt": (60, 101), "Färben": (90, 101), "Ansatzfärben": (60, 101)}

SCHEMA = """CREATE TABLE IF NOT EXISTS appointments (
  id VARCHAR(36) PRIMARY KEY, resource VARCHAR(64), start_at DATETIME, end_at DATETIME, status VARCHAR(16),
  calcom_uid VARCHAR(64), call_id VARCHAR(64), idempotency_key VARCHAR(128))"""


def create_schema(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute(SCHEMA)


def insert_row(db_path: Path, **row: Any) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO appointments (id, resource, start_at, end_at, status, calcom_uid, call_id) "
                   "VALUES (:id, :resource, :start_at, :end_at, :status, :calcom_uid, :call_id)",
                   {"calcom_uid": None, "call_id": None, **row})


def naive_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def ledger_booking(uid: str, host: int, start: datetime, minutes: int, status: str = "accepted",
                   appointment_id: str | None = None, call_id: str | None = None,
                   history: list[tuple[str, datetime]] | None = None) -> dict[str, Any]:
    metadata = {k: v for k, v in (("appointment_id", appointment_id), ("call_id", call_id)) if v}
    created = start - timedelta(days=1)
    return {
        "uid": uid, "hosts": [{"id": host}], "status": status, "metadata": metadata,
        "start": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(minutes=minutes)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "history": [{"status": s, "at": at.astimezone(UTC).isoformat()} for s, at in
                    (history or [(status, created)])],
    }


@dataclass
class FakeSalon:
    db_path: Path
    ledger: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Any] = field(default_factory=list)
    applied_faults: list[Any] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=lambda: {"race_window_ms": 0})
    # Lies a test can switch on to prove the checker catches them.
    forget_db_confirm: bool = False
    land_late: bool = False  # Cal.com books after the core gave up: "nicht gebucht", yet active
    say_booked_on_failure: bool = False

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- Cal.com side ---------------------------------------------------------------------------

    def _calcom(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/_control/health":
            return httpx.Response(200, json={"status": "ok"})
        if path == "/_control/faults":
            if request.method == "DELETE":
                self.faults.clear()
            elif request.method in ("PUT", "POST"):
                self.faults.append(json.loads(request.content))
                self.applied_faults.append(json.loads(request.content))
            return httpx.Response(200, json={"faults": self.faults})
        if path == "/_control/config":
            if request.method == "PUT":
                self.config.update(json.loads(request.content))
            return httpx.Response(200, json=self.config)
        if path == "/_control/ledger":
            return httpx.Response(200, json={"bookings": self.ledger})
        if path == "/v2/event-types":
            return httpx.Response(200, json={"status": "success", "data": [
                {"id": i + 1, "title": name} for i, name in enumerate(SERVICES)]})
        if path == "/v2/bookings" and request.method == "POST":
            body = json.loads(request.content)
            name = list(SERVICES)[body["eventTypeId"] - 1]
            start = datetime.fromisoformat(body["start"].replace("Z", "+00:00"))
            uid = f"seed{len(self.ledger)}"
            self.ledger.append(ledger_booking(uid, SERVICES[name][1], start, SERVICES[name][0]))
            return httpx.Response(201, json={"status": "success", "data": {"uid": uid}})
        return httpx.Response(404, json={"status": "error"})

    # -- the core's webhook ---------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "calcom.test":
            return self._calcom(request)
        body = json.loads(request.content)
        self.requests.append({"path": request.url.path, "body": body, "headers": dict(request.headers)})
        if request.url.path == "/api/retell/webhook":
            return httpx.Response(200, json={"ok": True})
        name = body.get("name") or request.url.path.rsplit("/", 1)[-1].replace("-", "_")
        args = body.get("args", body if "call" not in body else {})
        call = body.get("call") or {}
        answer = getattr(self, name)(args, call)
        return httpx.Response(200, json=answer, headers={"Server-Timing": "app;dur=12.5"})

    @staticmethod
    def _now(call: dict[str, Any]) -> datetime:
        return datetime.fromtimestamp(call["start_timestamp"] / 1000, BERLIN)

    def _service(self, phrase: str) -> tuple[str | None, dict[str, Any] | None]:
        if phrase in SERVICES:
            return phrase, None
        hits = [s for s in SERVICES if phrase.lower() in s.lower()]
        if len(hits) == 1:
            return hits[0], None
        if hits:
            return None, {"success": False, "error": "service_ambiguous", "message": "Meinen Sie "
                          + " oder ".join(hits) + "?", "data": {"candidates": hits}}
        return None, {"success": False, "error": "service_unknown",
                      "message": "Diese Leistung habe ich leider nicht gefunden.", "data": {}}

    def _start(self, phrase: str, call: dict[str, Any]) -> datetime | None:
        match = re.search(r"morgen um (\d{1,2}) Uhr", phrase, re.I)
        if match:
            day = self._now(call).date() + timedelta(days=1)
            return datetime.combine(day, datetime.min.time(), BERLIN).replace(hour=int(match[1]))
        try:
            return datetime.fromisoformat(phrase)
        except ValueError:
            return None

    def _taken(self, host: int, start: datetime, minutes: int) -> bool:
        end = start + timedelta(minutes=minutes)
        for b in self.ledger:
            b_start = datetime.fromisoformat(b["start"].replace("Z", "+00:00"))
            b_end = datetime.fromisoformat(b["end"].replace("Z", "+00:00"))
            if b["status"] == "accepted" and b["hosts"][0]["id"] == host and b_start < end and start < b_end:
                return True
        return False

    def check_availability(self, args: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
        service, refusal = self._service(args.get("service", ""))
        if refusal:
            return refusal
        assert service is not None
        start = self._start(args.get("date_time", ""), call)
        if start is None:
            return {"success": False, "error": "unparseable_time", "message": "Wann genau?", "data": {}}
        minutes, host = SERVICES[service]
        if self._taken(host, start, minutes):
            alternative = (start + timedelta(hours=2)).isoformat()
            return {"success": True, "message": "Dieser Termin ist leider schon vergeben. Ich könnte Ihnen "
                    "später anbieten.", "data": {"service": service, "available": False,
                                                  "requested": start.isoformat(), "slots": [alternative]}}
        return {"success": True, "message": f"Für {service} ist noch frei. Soll ich den Termin buchen?",
                "data": {"service": service, "available": True, "requested": start.isoformat(),
                         "slots": [start.isoformat()]}}

    def book_appointment(self, args: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
        service, refusal = self._service(args.get("service", ""))
        if refusal:
            return refusal
        assert service is not None
        start = self._start(args.get("date_time", ""), call)
        assert start is not None
        minutes, host = SERVICES[service]
        if self._taken(host, start, minutes):
            message = "Dieser Termin ist leider schon vergeben." + (" Er ist gebucht." if self.say_booked_on_failure
                                                                     else "")
            return {"success": False, "error": "slot_taken", "message": message,
                    "data": {"alternatives": [(start + timedelta(hours=2)).isoformat()]}}
        appointment_id, uid = str(uuid.uuid4()), f"uid{len(self.ledger)}"
        self.ledger.append(ledger_booking(uid, host, start, minutes, appointment_id=appointment_id,
                                          call_id=call.get("call_id")))
        status = "failed" if self.land_late else "pending" if self.forget_db_confirm else "confirmed"
        insert_row(self.db_path, id=appointment_id, resource=f"host:{host}", start_at=naive_utc(start),
                   end_at=naive_utc(start + timedelta(minutes=minutes)), status=status, calcom_uid=uid,
                   call_id=call.get("call_id"))
        if self.land_late:
            return {"success": False, "error": "booking_unconfirmed", "data": {},
                    "message": "Ich konnte die Buchung nicht bestätigen, der Termin ist nicht gebucht."}
        return {"success": True, "message": f"Ihr Termin für {service} ist gebucht.",
                "data": {"appointment_id": appointment_id, "service": service, "start": start.isoformat(),
                         "status": "confirmed", "calcom_uid": uid}}

    def get_available_services(self, args: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
        return {"success": True, "message": "Wir bieten " + ", ".join(SERVICES) + " an.",
                "data": {"services": [{"name": name, "duration_min": m} for name, (m, _) in SERVICES.items()]}}

    def reconcile(self) -> dict[str, Any]:
        """What the operators' reconciler does: cancel active bookings whose row is not confirmed."""
        with sqlite3.connect(self.db_path) as db:
            confirmed = {row[0] for row in db.execute("SELECT id FROM appointments WHERE status = 'confirmed'")}
        cancelled = []
        for booking in self.ledger:
            appointment = booking["metadata"].get("appointment_id")
            if booking["status"] == "accepted" and appointment and appointment not in confirmed:
                booking["status"] = "cancelled"
                booking["history"].append({"status": "cancelled", "at": datetime.now(UTC).isoformat()})
                cancelled.append(booking["uid"])
        return {"cancelled_orphans": cancelled}
