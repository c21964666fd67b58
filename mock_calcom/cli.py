"""`callsim mock-calcom` / `python -m mock_calcom`: run the mock standalone under uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mock_calcom.faults.profiles import profile_names
from mock_calcom.settings import MockSettings


def mock_calcom_command(
    port: Annotated[int, typer.Option(help="TCP port to listen on")] = 8001,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    faults: Annotated[
        Path | None,
        typer.Option(
            help=f"Fault profile: a YAML file or a shipped name ({', '.join(profile_names())})"
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the fault and uid sequences (same seed, same faults)"),
    ] = None,
    race_window_ms: Annotated[
        int, typer.Option(help="Delay between slot check and insert, with no re-check (0 = off)")
    ] = 0,
    api_key: Annotated[
        str | None,
        typer.Option(help="The only accepted API key; default: any key starting with cal_"),
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Salon catalog YAML (default: mock_calcom/salon.yaml)")
    ] = None,
    conflict_status: Annotated[
        int, typer.Option(help="Status for a taken slot: 400 (2024-08-13) or 409")
    ] = 400,
    rate_limit: Annotated[
        bool, typer.Option(help="Enforce Cal.com's 120 requests / 60 s per API key")
    ] = False,
    max_hang_s: Annotated[
        float, typer.Option(help="Upper bound of every hang-like fault, in seconds")
    ] = 30.0,
) -> None:
    """Run a Cal.com API v2 stand-in with fault injection (control API under /_control)."""
    if conflict_status not in (400, 409):
        raise typer.BadParameter("must be 400 or 409", param_hint="--conflict-status")
    options: dict[str, Any] = {
        "seed": seed,
        "race_window_ms": race_window_ms,
        "api_key": api_key,
        "catalog": catalog,
        "faults": faults,
        "conflict_status": conflict_status,
        "rate_limit": rate_limit,
        "max_hang_s": max_hang_s,
    }
    # Options left unset fall back to MOCK_CALCOM_* environment variables (MockSettings).
    settings = MockSettings(**{name: value for name, value in options.items() if value is not None})
    import uvicorn  # here, not at the top: `callsim --help` should not pay for the server

    from mock_calcom.app import create_app

    try:
        app = create_app(settings)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"mock_calcom on http://{host}:{port} (seed {app.state.mock.config.seed})", err=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    )
    # The `outage` fault closes this server's listening port for a while (faults/outage.py).
    app.state.mock.listeners.server = server
    server.run()
