"""Settings from `PORTGUARD_*` environment variables, with defaults that work on a laptop.

Nothing happens at import: `get_settings()` builds the settings on first use, and the secret key is only
generated (and kept in the data directory, mode 0600) when something asks for it and none was given.
"""

from __future__ import annotations

import secrets
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """PortGuard configuration; every field can be set as `PORTGUARD_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="PORTGUARD_", env_file=None, extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default=Path("var"), description="Where the SQLite file and the secret key live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    secret_key_value: SecretStr | None = Field(default=None, alias="PORTGUARD_SECRET_KEY")
    session_hours: float = 8.0
    token_days_default: int = 90
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_ip_attempts_per_minute: int = 20
    cookie_secure: bool = False
    shared_data_dir: Path = Field(
        default=Path("../shared/data"), description="Public data sets the demo loads when present (KCS, ...)."
    )
    page_size_max: int = 500
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker the tracking listener subscribes to.")
    mqtt_port: int = Field(default=1883, description="Its port.")
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server drug alerts are published to.")
    webhook_timeout_s: float = Field(default=10.0, description="How long an alert webhook may take to answer.")

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'portguard.db').resolve()}"

    @cached_property
    def secret_key(self) -> str:
        """The signing key: given, or generated once and kept in `data_dir/secret_key`."""
        if self.secret_key_value is not None:
            return self.secret_key_value.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first call."""
    return Settings()
