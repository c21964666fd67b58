"""The core's commands: serve, db, services, reconcile, prune, retell-tools."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from booking_core.config import Settings, get_settings

if TYPE_CHECKING:
    from booking_core.bootstrap import RunningCore

# The heavy modules (SQLAlchemy, Alembic, the matcher) are imported inside the commands so that
# `callsim --help` and the commands that do not need them start fast.

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
services_app = typer.Typer(help="Manage the salon's services.", no_args_is_help=True)

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")]


def _settings(database_url: str | None = None, **overrides: Any) -> Settings:
    base = get_settings()
    values = {k: v for k, v in {"database_url": database_url, **overrides}.items() if v is not None}
    return Settings(**(base.model_dump() | values)) if values else base


def _with_core(settings: Settings, work: Callable[[RunningCore], Awaitable[T]]) -> T:
    from booking_core.bootstrap import bootstrap
    from booking_core.observability import configure_logging

    configure_logging(settings.log_level, settings.log_json)  # to stderr: stdout carries the JSON result

    async def run() -> T:
        core = bootstrap(settings)
        try:
            return await work(core)
        finally:
            await core.aclose()
            _join_sqlite_workers()

    return asyncio.run(run())


def _join_sqlite_workers() -> None:
    """A failed aiosqlite connect leaves its worker thread to finish a stop the loop never awaits;
    if asyncio.run closes the loop first, the thread prints a traceback (omnilib/aiosqlite#241).
    Joined while the loop is still open: the worker only queues a callback and exits."""
    import threading

    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name and thread is not threading.current_thread():
            thread.join(timeout=1.0)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes (share DB and Redis).")] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = True,
) -> None:
    """Run the Retell webhook with uvicorn."""
    import uvicorn

    from booking_core.adapters.migrations import upgrade
    from booking_core.service_layer import services_admin

    settings = get_settings()
    if migrate:
        # Once, in the parent: workers racing to migrate one database would trip over each other.
        upgrade(settings.database_url)
    if settings.services_sync_on_start:
        # Likewise the sync: one pass here, then the workers start with it done.
        try:
            created, updated = _with_core(settings, services_admin.sync_from_calcom)
            errors.print(f"services synced from Cal.com: {created} created, {updated} updated")
        except Exception as exc:  # serve anyway; `callsim services sync` can be run later
            errors.print(f"[red]services sync failed: {exc}[/red]")
        os.environ["SERVICES_SYNC_ON_START"] = "false"
        get_settings.cache_clear()
    uvicorn.run("booking_core.entrypoints.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False, timeout_graceful_shutdown=5)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply the migrations (also done by `serve`)."""
    from booking_core.adapters.migrations import upgrade

    settings = _settings(database_url)
    upgrade(settings.database_url)
    console.print(f"database at head: {settings.database_url.split('@')[-1]}")


@services_app.command("sync")
def services_sync(database_url: DatabaseUrl = None,
                  calcom_url: Annotated[str | None, typer.Option("--calcom-url")] = None,
                  api_key: Annotated[str | None, typer.Option("--api-key")] = None) -> None:
    """Import Cal.com's event types (title, length, price, host) as services."""
    from booking_core.adapters.migrations import upgrade
    from booking_core.service_layer import services_admin

    settings = _settings(database_url, calcom_base_url=calcom_url, calcom_api_key=api_key)
    upgrade(settings.database_url)
    try:
        created, updated = _with_core(settings, services_admin.sync_from_calcom)
    except ValueError as exc:  # e.g. stylist resources next to manual 'salon' services
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"services synced: {created} created, {updated} updated")


@services_app.command("add")
def services_add(
    name: str,
    duration: Annotated[int, typer.Option(help="Minutes.")],
    price: Annotated[float | None, typer.Option(help="EUR.")] = None,
    alias: Annotated[list[str] | None, typer.Option(help="Another way callers say it (repeatable).")] = None,
    event_type_id: Annotated[int | None, typer.Option(help="Cal.com event type id.")] = None,
    resource: Annotated[str | None, typer.Option(
        help="The stylist who performs it, host:<Cal.com user id>; 'salon' only if no service names one.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add or update one service."""
    from booking_core.adapters.migrations import upgrade
    from booking_core.service_layer import services_admin

    settings = _settings(database_url)
    upgrade(settings.database_url)
    item = {"name": name, "duration_min": duration, "price_eur": price, "aliases": alias or [],
            "calcom_event_type_id": event_type_id, "resource": resource}
    try:
        created, _ = _with_core(settings, lambda core: services_admin.add_service(core, item))
    except ValueError as exc:  # a stylist under two resource keys
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{'added' if created else 'updated'}: {name}")


@services_app.command("list")
def services_list(database_url: DatabaseUrl = None,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show all services."""
    from booking_core.service_layer import services_admin

    rows = _with_core(_settings(database_url), services_admin.list_services)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("Name", "Min", "EUR", "Aliases", "Resource", "Event type", "Active")
    for row in rows:
        table.add_row(row["name"], str(row["duration_min"]), str(row["price_eur"] or "–"),
                      ", ".join(row["aliases"] or []), row["resource"], str(row["calcom_event_type_id"] or "–"),
                      "ja" if row["active"] else "nein")
    console.print(table)


@services_app.command("import")
def services_import(path: Path, database_url: DatabaseUrl = None) -> None:
    """Import services from YAML (a list of {name, duration_min, price_eur, aliases, ...})."""
    from booking_core.adapters.migrations import upgrade
    from booking_core.service_layer import services_admin

    settings = _settings(database_url)
    upgrade(settings.database_url)
    try:
        created, updated = _with_core(settings, lambda core: services_admin.import_services(core, path))
    except (OSError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"services imported: {created} created, {updated} updated")


@services_app.command("disable")
def services_disable(name: str, database_url: DatabaseUrl = None) -> None:
    """Stop offering a service (kept for existing appointments)."""
    from booking_core.service_layer import services_admin

    if not _with_core(_settings(database_url), lambda core: services_admin.set_active(core, name, False)):
        console.print(f"[red]no service named {name!r}[/red]")
        raise typer.Exit(1)
    console.print(f"disabled: {name}")


def reconcile_command(
    database_url: DatabaseUrl = None,
    calcom_url: Annotated[str | None, typer.Option("--calcom-url")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key")] = None,
    grace_s: Annotated[float | None, typer.Option(help="Leave pending rows younger than this.")] = None,
    cancel_unknown: Annotated[bool, typer.Option(
        "--cancel-unknown", help="Also cancel bookings tagged with this deployment whose row is missing "
                                 "(only after checking the database is not a restored or lagging copy).")] = False,
) -> None:
    """Compare Cal.com with the DB and heal: cancel orphans, adopt confirmed and moved bookings.

    Bookings of this deployment without a row are listed under `unknown_bookings` and left alone
    unless --cancel-unknown is given. A grace shorter than RECONCILE_GRACE_S while a core is
    serving is warned about: bookings still in flight would be settled as failed.
    """
    from booking_core.service_layer.reconcile import reconcile
    from booking_core.service_layer.serving import serving_workers

    settings = _settings(database_url, calcom_base_url=calcom_url, calcom_api_key=api_key)

    async def run(core: RunningCore) -> Any:
        if grace_s is not None and grace_s < settings.reconcile_grace_s:
            serving = await serving_workers(core)
            if serving:
                errors.print(f"[yellow]warning: --grace-s {grace_s:g} is shorter than the SAGA's grace "
                             f"({settings.reconcile_grace_s:g} s) while {len(serving)} core worker(s) serve "
                             f"({', '.join(sorted(serving)[:3])}): bookings still in flight would be "
                             "settled as failed. Run it once the calls are over.[/yellow]")
        return await reconcile(core, grace_s=grace_s, cancel_unknown=cancel_unknown)

    report = _with_core(settings, run)
    print(json.dumps(report.as_dict(), indent=2))
    if report.unknown_bookings and not cancel_unknown:
        errors.print(f"[yellow]{len(report.unknown_bookings)} Cal.com booking(s) of this deployment have no row "
                     "in this database (restored or lagging database?); left alone. Check them, then "
                     "`callsim reconcile --cancel-unknown` cancels them.[/yellow]")
    if report.errors or report.skipped:
        raise typer.Exit(1)


def prune_command(
    database_url: DatabaseUrl = None,
    older_than_days: Annotated[float | None, typer.Option(
        help="Delete what is older than this (default RETENTION_DAYS, 30).", min=0.0)] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per transaction (default RETENTION_BATCH_SIZE).",
                                                   min=1)] = None,
) -> None:
    """Delete function-call records and call events older than the retention age, in batches."""
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from booking_core.service_layer.retention import prune

    settings = _settings(database_url)
    days = settings.retention_days if older_than_days is None else older_than_days
    if days <= 0:
        errors.print("[red]--older-than-days must be more than 0[/red]")
        raise typer.Exit(2)
    try:
        report = _with_core(settings, lambda core: prune(core, older_than=timedelta(days=days),
                                                         batch_size=batch_size))
    except SQLAlchemyError as exc:  # what was deleted so far stays deleted; a rerun goes on from there
        errors.print(f"[red]prune failed: {type(exc).__name__}: {str(exc).splitlines()[0]}[/red]")
        raise typer.Exit(1) from None
    print(json.dumps(report.as_dict(), indent=2))


def retell_tools_command(
    base_url: Annotated[str, typer.Option(help="Public URL of this webhook.")] = "http://127.0.0.1:8000",
) -> None:
    """Print the Retell custom-function definitions for the agent."""
    from booking_core.schemas import retell_tools

    print(json.dumps(retell_tools(base_url), ensure_ascii=False, indent=2))
