import pytest

from booking_core.config import Settings, normalise_database_url


@pytest.mark.parametrize(("given", "expected"), [
    ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("mysql://root@h/test", "mysql+aiomysql://root@h/test"),
    ("mariadb://root@h/test", "mysql+aiomysql://root@h/test"),
    ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
])
def test_plain_database_urls_get_an_async_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    monkeypatch.setenv("CALCOM_TIMEOUT_S", "0.8")
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("SERVICE_SELECTION_ENABLED", "false")
    settings = Settings()
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.calcom_timeout_s == 0.8
    assert settings.redis_url is None
    assert settings.service_selection_enabled is False
    assert settings.tz == "Europe/Berlin"
