"""The `callsim` command: one CLI composed from each package's own commands."""
