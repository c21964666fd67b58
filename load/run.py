"""`python -m load.run PROFILE [options] [locust options]` (what `make load PROFILE=...` runs).

Starts mock_calcom and the core on free ports (SQLite and the in-process lock, or the real
PostgreSQL/Redis given by --database-url/--redis-url or $DATABASE_URL/$REDIS_URL; give an empty
database: the gates check everything in it), runs the profile headless in Locust with its default
users, spawn rate and run time, lets the gates decide, and exits with Locust's exit code.

Any option this script does not know goes to Locust and wins over the profile's defaults:

    python -m load.run smoke
    python -m load.run peak --workers 2 --database-url postgresql://postgres@127.0.0.1/callsim_load \\
        --redis-url redis://127.0.0.1:6379/0 --processes 2
    python -m load.run race-storm --users 200 --run-time 60s --record docs/benchmarks.md
    python -m load.run race-storm --core-env LOCK_ENABLED=false --race-window-ms 200   # must FAIL

`--processes N` forks N Locust workers next to the master (one per core is plenty); master and
workers on several machines: see load/locustfile.py. Reports: reports/load/PROFILE_stats.csv (and
Locust's other CSVs), PROFILE.html, PROFILE_gates.json, and the servers' logs in PROFILE-logs/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from harness.stack import StackOptions, open_target
from load.benchmarks_doc import load_run_section, replace_section, stack_shape
from load.profiles import PROFILES

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m load.run", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Other options are passed to Locust (see load/locustfile.py).")
    parser.add_argument("profile", choices=sorted(PROFILES))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="The core's DB (default: $DATABASE_URL, else SQLite in a temp folder).")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"),
                        help="Redis for the core's lock (default: $REDIS_URL, else in-process).")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the core.")
    parser.add_argument("--core-env", action="append", default=[], metavar="KEY=VALUE",
                        help="Extra environment for the core, e.g. LOCK_ENABLED=false (repeatable).")
    parser.add_argument("--reports", type=Path, default=Path("reports/load"), help="Folder for the reports.")
    parser.add_argument("--record", type=Path, default=None,
                        help="Also write the run's figures into this markdown file (docs/benchmarks.md).")
    return parser


def locust_command(profile_name: str, webhook_url: str, calcom_url: str, database_url: str | None,
                   calcom_api_key: str, retell_api_key: str | None, reports: Path,
                   extra: list[str]) -> list[str]:
    profile = PROFILES[profile_name]
    prefix = reports / profile_name
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
               "--host", webhook_url, "--profile", profile_name,
               "--users", str(profile.users), "--spawn-rate", str(profile.spawn_rate),
               "--run-time", profile.run_time, "--stop-timeout", "10",
               "--calcom-url", calcom_url, "--calcom-api-key", calcom_api_key,
               "--csv", str(prefix), "--html", f"{prefix}.html"]
    if database_url:
        command += ["--database-url", database_url]
    if retell_api_key:
        command += ["--retell-api-key", retell_api_key]
    # Locust keeps the last value of a repeated option: the caller's choices override the defaults.
    return command + extra


async def run(args: argparse.Namespace, extra: list[str]) -> int:
    core_env = dict(pair.split("=", 1) for pair in args.core_env)
    if args.workers > 1 and not args.redis_url:
        print("load: WARNING: several core workers without --redis-url each keep their own in-process lock; "
              "only the DB constraint stands between concurrent callers", flush=True)
    args.reports.mkdir(parents=True, exist_ok=True)
    stack = StackOptions(database_url=args.database_url, redis_url=args.redis_url, workers=args.workers,
                         extra_env=core_env, log_dir=args.reports / f"{args.profile}-logs")
    async with open_target(stack) as target:
        command = locust_command(args.profile, target.webhook_url, target.calcom_url, target.database_url,
                                 target.calcom_api_key, target.retell_api_key, args.reports, extra)
        print(f"load: {args.profile} against {target.webhook_url} (core workers {args.workers}, "
              f"DB {(target.database_url or '').split('@')[-1]}, lock {'Redis' if args.redis_url else 'in-process'})",
              flush=True)
        locust = await asyncio.create_subprocess_exec(*command)
        code = await locust.wait()
    record = args.reports / f"{args.profile}_gates.json"
    if args.record and record.exists():
        figures = json.loads(record.read_text(encoding="utf-8"))
        setup = {"core workers": args.workers, "database": "PostgreSQL" if "postgres" in (target.database_url or "")
                 else "SQLite", "lock": "Redis" if args.redis_url else "in-process",
                 "core env": ", ".join(args.core_env) or "–", "locust args": " ".join(extra) or "–"}
        shape = stack_shape(setup["database"], bool(args.redis_url), args.workers)
        replace_section(args.record, f"load:{args.profile}:{shape}", load_run_section(figures, setup))
        print(f"load: figures recorded in {args.record}")
    return code


def main(argv: list[str] | None = None) -> int:
    args, extra = _parser().parse_known_args(argv)
    return asyncio.run(run(args, extra))


if __name__ == "__main__":
    sys.exit(main())
