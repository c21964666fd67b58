"""Cal.com exchanges recorded to, or served from, a vcrpy cassette: `callsim record` / `callsim replay`.

Opt-in and outside the normal serve path: `python -m replay.serve --port N` is
`callsim serve` (one worker) with vcrpy wrapped around the process, steered by the environment:

    CALCOM_CASSETTE=<file.yaml>        one cassette for the process's life
    CALCOM_CASSETTE=<folder>           record only: <folder>/<call_id>/calcom.yaml per Retell call
    CALCOM_CASSETTE_MODE=record|replay vcrpy record_mode "all" / "none"
    CALCOM_CASSETTE_REPORT=<file.json> replay: played, unused and unmatched requests, written at exit
    CALLSIM_KEEP_PII=1                 keep caller phone numbers (default: pseudonymised)
    CALLSIM_PII_KEY=<secret>           key of the pseudonyms; give the recording proxy the same one

The caller side is recorded through the same session and filters (`replay.proxy`), so a pseudonym
is the same on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from booking_core.config import Settings
from replay.filters import DEFAULT_PII_KEY, Scrubber
from replay.session import Mode, Session, cassette_session

CALCOM_FILE = "calcom.yaml"

class CassetteSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    calcom_cassette: Path | None = None
    calcom_cassette_mode: Mode = "replay"
    calcom_cassette_report: Path | None = None
    callsim_keep_pii: bool = False
    callsim_pii_key: str = DEFAULT_PII_KEY


@contextmanager
def cassette_context(settings: Settings, options: CassetteSettings | None = None) -> Iterator[Session | None]:
    """The core's Cal.com traffic under a cassette when CALCOM_CASSETTE is set; a no-op otherwise."""
    options = options or CassetteSettings()
    if options.calcom_cassette is None:
        yield None
        return
    path = options.calcom_cassette
    per_call = options.calcom_cassette_mode == "record" and path.suffix not in (".yaml", ".yml")
    scrubber = Scrubber([settings.calcom_api_key, settings.retell_api_key], options.callsim_keep_pii,
                        options.callsim_pii_key)
    calcom = settings.calcom_base_url.rstrip("/")
    with cassette_session(path, options.calcom_cassette_mode, scrubber=scrubber,
                             keep=lambda request: request.uri.startswith(calcom),
                             per_call_file=CALCOM_FILE if per_call else None,
                             metadata={"side": "calcom", "calcom_base_url": calcom}) as session:
        try:
            yield session
        finally:
            if options.calcom_cassette_report is not None and session.mode == "replay":
                options.calcom_cassette_report.write_text(json.dumps(session.report(), indent=2, ensure_ascii=False),
                                                          encoding="utf-8")


def calcom_transport(session: Session | None) -> httpx.AsyncBaseTransport | None:
    """The Cal.com client's transport under a cassette: vcrpy taps httpx's own transport, not the
    aiohttp pool the core uses otherwise (None: the core's default)."""
    return httpx.AsyncHTTPTransport() if session is not None else None
