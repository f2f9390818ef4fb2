"""`make serve` (manage.py serve): says every missing setting before starting anything;
with them, runs gunicorn, a Celery worker and Celery beat on PostgreSQL and Redis, serves
hashed, compressed static files, and stops all three on SIGTERM."""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from helpdesk.ops.models import JobRun

from ..redis_process import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path, **extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE", "REDIS", "CELERY", "HELPDESK", "DEBUG", "SECRET"))
        and k not in ("ALLOWED_HOSTS", "PYTEST_XDIST_WORKER")
    }
    env["ENV_FILE"] = str(tmp_path / "absent.env")  # never the developer's .env
    env.update(extra)
    return env


def _serve(env, *args, **kwargs):
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "serve", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_every_missing_setting_is_named_before_anything_starts(tmp_path):
    done = _serve(_env(tmp_path, DEBUG="1"), "--check")
    assert done.returncode == 1
    for needed in ["DEBUG is on", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "HELPDESK_BASE_URL",
                   "ALLOWED_HOSTS"]:  # fmt: skip
        assert needed in done.stderr, needed
    assert "Serving" not in done.stdout

    ready = _serve(
        _env(
            tmp_path,
            SECRET_KEY=secrets.token_urlsafe(40),
            DATABASE_URL="postgres://postgres@127.0.0.1:5432/helpdesk",
            CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//",
            HELPDESK_BASE_URL="https://help.example.com",
            ALLOWED_HOSTS="help.example.com",
        ),
        "--check",
    )
    assert ready.returncode == 0, ready.stderr
    assert "ready for a production start" in ready.stdout


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.slow
@pytest.mark.postgres
def test_serve_runs_web_worker_and_beat_and_stops_them(
    transactional_db, django_db_serialized_rollback, redis_process, tmp_path
):
    port = free_port()
    db = connection.settings_dict
    env = _env(
        tmp_path,
        SECRET_KEY=secrets.token_urlsafe(40),
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=redis_process.url(0),
        HELPDESK_BASE_URL=f"http://127.0.0.1:{port}",
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp_path / "static"),
        STATIC_FILES_STORAGE="config.staticstorage.StaticStorage",
        WEB_CONCURRENCY="2",
        CRON_OUTBOX_DRAIN_SECONDS="1",
        SECURE_SSL_REDIRECT="0",
    )
    started = time.time()
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                status, _, _ = _get(base + "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, "gunicorn did not answer in 120 s"
            time.sleep(0.5)

        status, _, body = _get(base + "/readyz")
        assert status == 200, body
        assert set(json.loads(body)["checks"].values()) == {"ok"}, body

        # the login page links the hashed, compressed static files WhiteNoise serves
        status, _, page = _get(base + "/scp/login/")
        assert status == 200
        css = re.search(rb'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page)
        assert css, page[:2000]
        status, headers, _ = _get(base + css.group(1).decode(), {"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers.get("Content-Encoding") == "gzip"
        assert "max-age=315360000" in headers.get("Cache-Control", "")

        # beat schedules the outbox job every second and a worker runs it
        deadline = time.time() + 60
        while not JobRun.objects.filter(
            job="outbox_drain", via="celery", result="ok", started_at__gte=_aware(started)
        ).exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, "no job run by beat and the worker in 60 s"
            time.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    with pytest.raises(OSError):
        _get(base + "/healthz")  # gunicorn is gone with it


def _aware(timestamp):
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp - 1, tz=dt.UTC)


def test_static_storage_keeps_source_map_comments_and_hashes_css_urls():
    from config.staticstorage import StaticStorage

    rules = [rule for _, rules in StaticStorage.patterns for rule in rules]
    assert not any("sourceMappingURL" in str(rule) for rule in rules)
    assert any("url\\(" in str(rule) for rule in rules)
    assert settings.STORAGES["staticfiles"]["BACKEND"]  # the plain storage in tests


def test_json_logs_are_one_object_per_line_on_stdout(tmp_path):
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('helpdesk.mail').warning('fetch failed: %s', 'timeout', "
        "extra={'mailbox': 'support'})"
    )
    env = _env(
        tmp_path, LOG_FORMAT="json", SECRET_KEY="x", DJANGO_SETTINGS_MODULE="config.settings"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip())
    assert line["level"] == "WARNING" and line["logger"] == "helpdesk.mail"
    assert line["message"] == "fetch failed: timeout" and line["mailbox"] == "support"
    assert "time" in line

    env["LOG_FORMAT"] = "xml"
    refused = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "LOG_FORMAT must be text or json" in refused.stderr


def test_the_deploy_files_run_the_same_three_processes():
    import yaml

    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    for name in ("web", "worker", "beat"):
        assert services[name]["image"] == "helpdesk:latest"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
    units = {p.stem: p.read_text() for p in (ROOT / "deploy/systemd").glob("*.service")}
    assert "gunicorn config.wsgi:application" in units["helpdesk-web"]
    assert "celery -A config worker" in units["helpdesk-worker"]
    assert "celery -A config beat" in units["helpdesk-beat"]
    for text in units.values():
        assert "EnvironmentFile=/etc/helpdesk/helpdesk.env" in text
    example = (ROOT / "deploy/helpdesk.env.example").read_text()
    assert "STATIC_FILES_STORAGE=config.staticstorage.StaticStorage" in example
    assert "DOWNLOADS_X_ACCEL_PREFIX=/_protected_media/" in example
    assert "/_protected_media/" in (ROOT / "deploy/nginx/helpdesk.conf").read_text()
