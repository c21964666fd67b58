"""Start-up settings of the mock; the runtime-changeable part is `MockConfig` (PUT /_control/config)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MockConfig(BaseModel):
    """Knobs a test may turn while the mock runs."""

    seed: int | None = None
    race_window_ms: int = Field(default=0, ge=0)
    # 400 is what Cal.com's 2024-08-13 bookings answer for a taken slot; 409 the newer behaviour.
    conflict_status: Literal[400, 409] = 400
    rate_limit: bool = False
    rate_limit_requests: int = Field(default=120, gt=0)
    rate_limit_window_s: float = Field(default=60, gt=0)
    # Cal.com's throttler blocks a key for blockDuration once it crossed the limit (throttler-guard.ts).
    rate_limit_block_s: float = Field(default=60, ge=0)
    # How errors thrown inside Cal.com's booking engine (HttpError: already cancelled, ended, ...) come
    # back; it differs between builds: the usual envelope, a bare {statusCode, message}, or a 500.
    core_error_shape: Literal["envelope", "raw", "internal"] = "envelope"
    # Every hang-like fault ends after this, so a forgotten fault cannot pin a server task forever.
    max_hang_s: float = Field(default=30, gt=0)
    # A frozen clock for reproducible "is this slot in the past" decisions; None = wall clock.
    now: datetime | None = None


class MockSettings(BaseSettings):
    """Everything `create_app` needs; env vars MOCK_CALCOM_* fill what the caller leaves out."""

    model_config = SettingsConfigDict(env_prefix="MOCK_CALCOM_")

    seed: int | None = None
    race_window_ms: int = 0
    conflict_status: Literal[400, 409] = 400
    rate_limit: bool = False
    max_hang_s: float = 30
    core_error_shape: Literal["envelope", "raw", "internal"] = "envelope"
    api_key: str | None = None
    catalog: Path | None = None
    faults: Path | None = None
    journal_limit: int = 100_000
    # German state whose public holidays the salon's schedule closes; the core's
    # SALON_HOLIDAYS_SUBDIV is read too, so one setting closes both on the same days.
    holidays_subdiv: str | None = Field(
        default=None, validation_alias=AliasChoices("MOCK_CALCOM_HOLIDAYS_SUBDIV", "SALON_HOLIDAYS_SUBDIV"))

    def initial_config(self) -> MockConfig:
        return MockConfig(
            seed=self.seed,
            race_window_ms=self.race_window_ms,
            conflict_status=self.conflict_status,
            rate_limit=self.rate_limit,
            max_hang_s=self.max_hang_s,
            core_error_shape=self.core_error_shape,
        )
