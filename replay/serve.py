"""`python -m replay.serve --port N`: the webhook with Cal.com under a cassette.

One worker, since vcrpy lives in this process. See replay/cassette.py for the environment.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Annotated, Any

import typer
import uvicorn

from booking_core.bootstrap import migrate as upgrade_schema
from booking_core.config import get_settings
from booking_core.entrypoints.app import create_app
from replay.calls import CallTagging
from replay.cassette import calcom_transport, cassette_context


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def serve_with_cassette(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = True,
) -> None:
    """Run the webhook with its Cal.com traffic recorded to / replayed from CALCOM_CASSETTE."""
    settings = get_settings()
    if migrate:
        upgrade_schema(settings)
    # uvicorn re-raises SIGTERM after its graceful shutdown; by default that kills the process before
    # vcrpy has written the cassette. Unwinding instead lets every context below exit and save.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with cassette_context(settings) as session:
        app: Any = create_app(settings, calcom_transport=calcom_transport(session))
        if session is not None and session.split_by_call:
            app = CallTagging(app, session.calls)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=5)


def main() -> None:
    try:
        typer.run(serve_with_cassette)
    except SystemExit as done:
        # Everything is on disk by now (cassette, report, database). Tearing down the interpreter of
        # a process this size takes seconds on a busy machine and has nothing left to save: every
        # replay would pay for it.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(done.code if isinstance(done.code, int) else 1)


if __name__ == "__main__":
    main()
