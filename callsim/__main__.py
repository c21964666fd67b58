"""`python -m callsim` = the `callsim` command (handy where the venv's bin is not on PATH)."""

from callsim.cli import app

app()
