"""Production settings that would start and then fail are refused at start, and the README's
production settings pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "production-test-key-6fQ2x9Lr0Vb7Wz3Kp8Ns1Dt5Jh4Mc2Yg7Ae9Uu0",
    "MEDIANEST_URL": "https://media.example.com",  # the README's TLS-proxy path
}


def run(code: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "MEDIANEST_URL"}}
    return subprocess.run(
        [sys.executable, *code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "medianest.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serving_without_collected_static_files_is_refused_naming_the_command(
    tmp_path: Path,
) -> None:
    result = run(["-c", "import medianest.wsgi"], **PRODUCTION, STATIC_ROOT=str(tmp_path))

    assert result.returncode != 0
    assert "python manage.py collectstatic --noinput" in result.stderr.strip().splitlines()[-1]


def test_serving_with_collected_static_files_starts(tmp_path: Path) -> None:
    env = {**PRODUCTION, "STATIC_ROOT": str(tmp_path)}
    assert run(["manage.py", "collectstatic", "--noinput"], **env).returncode == 0

    result = run(["-c", "import medianest.wsgi"], **env)

    assert result.returncode == 0, result.stderr


def test_the_readme_production_settings_pass_the_deployment_checks() -> None:
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)

    warnings = {
        line.split(")")[0] + ")" for line in result.stderr.splitlines() if "security." in line
    }
    # Only the two HSTS choices that are the site owner's to make (subdomains, preload).
    assert warnings <= {"?: (security.W005)", "?: (security.W021)"}, result.stderr


@pytest.mark.django_db
def test_pages_refuse_powerful_browser_features(client) -> None:
    policy = client.get("/accounts/signin/")["Permissions-Policy"]

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy
