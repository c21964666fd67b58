"""Composition root of the `callsim` command.

Each package owns its sub-commands; this module only mounts them, so no package has to import another.
"""

import typer

from booking_core.entrypoints import cli as core_cli
from harness import cli as harness_cli
from mock_calcom.cli import mock_calcom_command
from replay.play import replay_command
from replay.record import record_command

app = typer.Typer(help="callsim: Retell webhook booking core, Cal.com mock and call simulator.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.command("serve")(core_cli.serve)
app.add_typer(core_cli.db_app, name="db")
app.add_typer(core_cli.services_app, name="services")
app.command("reconcile")(core_cli.reconcile_command)
app.command("prune")(core_cli.prune_command)
app.command("retell-tools")(core_cli.retell_tools_command)
app.command("mock-calcom")(mock_calcom_command)
app.command("run")(harness_cli.run)
app.command("check")(harness_cli.check)
app.command("explain")(harness_cli.explain)
app.command("record")(record_command)
app.command("replay")(replay_command)
