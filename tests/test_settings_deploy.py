"""The production settings, as an operator starts them: in a fresh process, from the environment."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

# Everything the settings read, so that nothing of the test run's own environment leaks in.
_PROJECT_VARIABLES = (
    "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "SECRET_KEY", "JWT_SIGNING_KEY", "FIELD_ENCRYPTION_KEYS",
    "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "PUBLIC_BASE_URL", "DATABASE_URL", "DB_CONN_MAX_AGE", "REDIS_URL",
    "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "MEDIA_ROOT", "SECURE_SSL_REDIRECT", "TRUST_X_FORWARDED_PROTO",
    "SECURE_HSTS_SECONDS", "PYTEST_XDIST_WORKER", "CSP_REPORT_ONLY", "EMAIL_URL", "DEFAULT_FROM_EMAIL",
)


def _production_environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in _PROJECT_VARIABLES}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        JWT_SIGNING_KEY=secrets.token_urlsafe(64),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="inbox.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        EMAIL_URL="smtp+tls://inbox:secret@smtp.example.com:587",
        DEFAULT_FROM_EMAIL="Inbox <no-reply@inbox.example.com>",
    )
    environment.update(overrides)
    return environment


def _manage(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_finds_no_issue_with_production_settings_and_secrets(tmp_path: Path) -> None:
    result = _manage(_production_environment(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "?:" not in output
    assert "System check identified no issues" in output


@pytest.mark.parametrize("variable", ["SECRET_KEY", "JWT_SIGNING_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS",
                                      "EMAIL_URL", "DEFAULT_FROM_EMAIL"])
def test_production_settings_refuse_to_start_without_a_required_variable(tmp_path: Path, variable: str) -> None:
    environment = _production_environment(tmp_path)
    del environment[variable]

    result = _manage(environment, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set the {variable} environment variable" in result.stderr


@pytest.mark.parametrize("settings_module, email_url, expected", [
    # The embedded default prints mail; Django's defaults for the rest.
    ("config.settings.local", None, "django.core.mail.backends.console.EmailBackend localhost 25 False"),
    ("config.settings.production", "smtp+tls://inbox:secret@smtp.example.com:587",
     "django.core.mail.backends.smtp.EmailBackend smtp.example.com 587 True"),
])
def test_outgoing_mail_is_configured_by_email_url(tmp_path: Path, settings_module: str, email_url: str | None,
                                                  expected: str) -> None:
    environment = _production_environment(tmp_path, DJANGO_SETTINGS_MODULE=settings_module)
    del environment["EMAIL_URL"]
    if email_url is not None:
        environment["EMAIL_URL"] = email_url
    script = "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"

    result = _manage(environment, "shell", "-c", script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
