"""Typed settings, read from the environment (and `.env`), one place for every knob."""

from datetime import time
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./callsim.db"


def normalise_database_url(url: str) -> str:
    """Pick the async driver from the scheme, so operators can paste plain URLs."""
    for plain, asyncio_driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("mysql://", "mysql+aiomysql://"),
        ("mariadb://", "mysql+aiomysql://"),
        ("mariadb+aiomysql://", "mysql+aiomysql://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return asyncio_driver + url[len(plain) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Connections one worker keeps open to PostgreSQL/MariaDB; callers beyond it wait up to 2 s.
    # workers × DB_POOL_SIZE must fit the server's max_connections.
    db_pool_size: int = Field(default=30, ge=1)
    # How long a request waits its turn for a pooled connection before answering db_unavailable.
    # Under a burst a caller should wait, not hear "technisches Problem": 5 s still leaves the
    # Cal.com budget (1.3 s) inside Retell's 8 s tool timeout (schemas.retell_tools).
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    redis_url: str | None = None
    calcom_base_url: str = "https://api.cal.com"
    calcom_api_key: str | None = None
    # The Cal.com team whose event types are the salon's services (README, "A real Cal.com account").
    calcom_team_id: int | None = None
    calcom_timeout_s: float = 1.5
    # Total time one function call may spend talking to Cal.com (create + lookup), so a hanging
    # Cal.com still leaves the caller an answer inside the voice latency budget.
    calcom_budget_s: float = 1.3
    retell_api_key: str | None = None
    service_selection_enabled: bool = True
    default_service: str = "Damenschnitt"
    tz: str = "Europe/Berlin"
    opening_time: time = time(9, 0)
    closing_time: time = time(18, 0)
    # ISO weekdays the salon is open (1 = Monday).
    opening_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6])
    # German state whose public holidays close the salon (ISO 3166-2 code without "DE-": "BE").
    salon_holidays_subdiv: str | None = None
    lock_enabled: bool = True
    # Key prefix in Redis: several salons (or test runs) can share one Redis without sharing slots.
    lock_namespace: str = "callsim"
    lock_ttl_s: float = 10.0
    lock_wait_s: float = 0.25
    lock_cell_minutes: int = 15
    compensation_attempts: int = 3
    # Test switch: proves the invariant checks catch a SAGA without compensation. Never off in production.
    compensation_enabled: bool = True
    reconcile_interval_s: float = 60.0
    reconcile_grace_s: float = 30.0
    # Tags every Cal.com booking this core makes (metadata `callsim_deployment`); the reconciler
    # touches no other booking, so staging and production (or two salons) can share one account.
    callsim_deployment_id: str = Field(default="callsim", min_length=1, max_length=64)
    # Background Cal.com work (reconciler, rechecks of unknown outcomes) has no caller waiting.
    calcom_background_timeout_s: float = Field(default=5.0, gt=0)
    # An unknown create outcome is looked up again after these seconds (the last one repeats), and
    # the slot is released only after two lookups that found nothing, the last one at least
    # `unknown_settle_after_s` after the create: a slow Cal.com may still commit it.
    unknown_recheck_s: list[float] = Field(default_factory=lambda: [3.0, 12.0, 60.0])
    unknown_settle_after_s: float = Field(default=120.0, ge=0)
    services_sync_on_start: bool = False
    # Retention of Retell's function-call answers (kept for its retries, which come within seconds)
    # and call events: older rows are deleted by the periodic task and by `callsim prune`.
    retention_days: float = Field(default=30.0, gt=0)
    retention_interval_s: float = Field(default=3600.0, ge=0)  # 0 = no periodic pruning
    # Rows deleted per transaction, and the pause between two: short transactions, so bookings
    # never queue behind a prune.
    retention_batch_size: int = Field(default=1000, ge=1)
    retention_pause_s: float = Field(default=0.05, ge=0)
    # Batches per table in one periodic pass; what is left waits for the next pass.
    retention_max_batches: int = Field(default=200, ge=1)
    alternatives_count: int = 3
    # How far ahead callers may book (Cal.com offers slots about a year ahead).
    booking_horizon_days: int = 365
    # Seconds a day of Cal.com's free slots is reused (0 = always ask Cal.com).
    slots_cache_s: float = 2.0
    max_body_bytes: int = 256 * 1024
    # Seconds a client has to deliver a request's whole body (then 408).
    body_read_timeout_s: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    # Test-only fault hooks (X-Callsim-Fault header, SAGA crash points). Never on in production.
    callsim_test_hooks: bool = False

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("redis_url", "calcom_api_key", "retell_api_key")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


@lru_cache
def get_settings() -> Settings:
    return Settings()
