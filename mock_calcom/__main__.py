"""`python -m mock_calcom --port N ...`, the way the harness starts the mock as a subprocess."""

import typer

from mock_calcom.cli import mock_calcom_command

if __name__ == "__main__":
    typer.run(mock_calcom_command)
