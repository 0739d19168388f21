"""Settings come from PORTGUARD_* variables; the secret key is generated once and kept; importing does nothing."""

from __future__ import annotations

import stat
import subprocess
import sys

from portguard.core.settings import Settings


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORTGUARD_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("PORTGUARD_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = Settings()
    assert settings.login_max_failures == 3
    assert settings.effective_database_url == "postgresql+psycopg://u@h/db"


def test_default_database_is_sqlite_in_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'portguard.db').resolve()}"


def test_secret_key_is_generated_once_kept_private_and_reused(tmp_path):
    first = Settings(data_dir=tmp_path).secret_key
    path = tmp_path / "secret_key"
    assert path.read_text() == first and len(first) >= 48
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path).secret_key == first


def test_given_secret_key_wins_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTGUARD_SECRET_KEY", "given-by-the-operator")
    assert Settings(data_dir=tmp_path).secret_key == "given-by-the-operator"
    assert not (tmp_path / "secret_key").exists()


def test_importing_the_app_has_no_side_effects(tmp_path):
    code = "import portguard.api, portguard.cli, portguard.demo; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "PORTGUARD_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.stdout.strip() == "ok"
    assert list(tmp_path.iterdir()) == []  # no data dir, no database, no key
