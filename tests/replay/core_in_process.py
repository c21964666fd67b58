"""The replay host for tests: the core app in the test process, under the same cassette context.

`callsim replay` starts `python -m replay.serve` as a subprocess; that costs a
cold interpreter per cassette. Here the app runs in-process behind httpx's ASGI transport, with
the very same `cassette_context`, settings and signing, so one test per cassette stays cheap. The
subprocess path has its own tests (test_replay_cli.py).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from booking_core.adapters.migrations import upgrade
from booking_core.config import Settings
from booking_core.entrypoints.app import create_app
from replay.cassette import CassetteSettings, calcom_transport, cassette_context
from replay.files import Recording
from replay.play import REPLAY_CALCOM_KEY, REPLAY_RETELL_KEY, ReplayedCore


@asynccontextmanager
async def core_in_process(recording: Recording) -> AsyncIterator[ReplayedCore]:
    with tempfile.TemporaryDirectory(prefix="callsim-replay-test-", ignore_cleanup_errors=True) as folder:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'callsim.db'}",
            calcom_base_url=recording.calcom_base_url,
            calcom_api_key=REPLAY_CALCOM_KEY,
            retell_api_key=REPLAY_RETELL_KEY,
            redis_url=None,
            services_sync_on_start=True,
            callsim_test_hooks=True,
            reconcile_interval_s=0,
            slots_cache_s=0,
            log_level="WARNING",
        )
        await asyncio.to_thread(upgrade, settings.database_url)
        options = CassetteSettings(calcom_cassette=recording.calcom_path, calcom_cassette_mode="replay")
        with cassette_context(settings, options) as session:
            assert session is not None
            app = create_app(settings, calcom_transport=calcom_transport(session))
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://core.replay") as client:
                core = ReplayedCore(client)
                yield core
            # After the lifespan: background work (compensation) has been drained by then.
            core.calcom = session.report()
