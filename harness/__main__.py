"""`python -m harness run|check`: the same commands the top-level `callsim` mounts."""

from harness.cli import app

if __name__ == "__main__":
    app()
