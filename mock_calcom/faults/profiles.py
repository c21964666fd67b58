"""Named fault profiles (YAML) that scenarios and the CLI refer to by name or by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from mock_calcom.faults.rules import FaultRule

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"


class FaultProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    faults: list[FaultRule] = []
    # Optional MockConfig fields the profile needs, e.g. {"race_window_ms": 50}.
    config: dict[str, Any] = {}


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def resolve_profile(name_or_path: str | Path) -> Path:
    """A path to an existing file, or the name of a shipped profile (with or without `.yaml`)."""
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    shipped = PROFILES_DIR / f"{candidate.stem}.yaml"
    if candidate.parent == Path(".") and shipped.is_file():
        return shipped
    raise FileNotFoundError(
        f"no fault profile {str(name_or_path)!r}; shipped profiles: {', '.join(profile_names())}"
    )


def load_profile(name_or_path: str | Path) -> FaultProfile:
    with resolve_profile(name_or_path).open(encoding="utf-8") as handle:
        return FaultProfile.model_validate(yaml.safe_load(handle) or {})
