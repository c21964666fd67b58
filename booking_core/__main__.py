"""`python -m booking_core --host H --port P --workers N`: the same as `callsim serve`."""

import typer

from booking_core.entrypoints.cli import serve

if __name__ == "__main__":
    typer.run(serve)
