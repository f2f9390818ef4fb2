"""deploy/nginx/helpdesk.conf in front of gunicorn, for real: nginx accepts the file,
redirects HTTP to HTTPS, serves the collected static files, never /media/, and sends an
attachment's bytes only after the application's check (X-Accel-Redirect)."""

import getpass
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from accounts.actors import SYSTEM
from accounts.apikeys import token_create
from threads.models import Attachment

from ..factories import attachment, open_ticket
from ..realservers import NGINX
from ..redis_process import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.nginx]


def _site(tmp_path, https_port, http_port, web_port):
    """The shipped site with this test's ports and folders (nothing else changed)."""
    text = (ROOT / "deploy/nginx/helpdesk.conf").read_text()
    text = text.replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
    text = text.replace("127.0.0.1:8000", f"127.0.0.1:{web_port}")
    text = text.replace("/etc/letsencrypt/live/help.example.com", str(tmp_path))
    text = text.replace("/var/lib/helpdesk/", f"{tmp_path}/")
    # The test's folders are its user's alone (pytest's tmp); in production nginx's user
    # reads the files through the helpdesk group (docs/deployment.md).
    main = f"""
user {getpass.getuser()};
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    {text}
}}
"""
    conf = tmp_path / "nginx.conf"
    conf.write_text(main)
    return conf


def _certificate(tmp_path):
    subprocess.run(  # noqa: S603  (fixed arguments)
        [shutil.which("openssl") or "/usr/bin/openssl",
         "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=help.example.com", "-keyout", str(tmp_path / "privkey.pem"),
         "-out", str(tmp_path / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url, headers=None):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(
        _NoRedirect(), urllib.request.HTTPSHandler(context=context)
    )
    request = urllib.request.Request(  # noqa: S310  (https:// and http:// only)
        url, headers={"Host": "help.example.com", **(headers or {})}
    )
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _wait(url, proc, what):
    deadline = time.time() + 90
    while True:
        try:
            if _get(url)[0] < 500:
                return
        except OSError:
            pass
        assert proc.poll() is None, f"{what} stopped"
        assert time.time() < deadline, f"{what} did not answer"
        time.sleep(0.3)


def test_nginx_in_front_of_gunicorn(
    transactional_db, django_db_serialized_rollback, cast, tmp_path
):
    media, static = tmp_path / "media", tmp_path / "static"
    media.mkdir()
    _certificate(tmp_path)
    web_port, https_port, http_port = free_port(), free_port(), free_port()
    conf = _site(tmp_path, https_port, http_port, web_port)
    checked = subprocess.run(  # noqa: S603
        [NGINX, "-t", "-c", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr

    from django.test import override_settings

    with override_settings(MEDIA_ROOT=str(media)):
        ticket = open_ticket(
            cast.alice, department=cast.dept_a, files=[attachment("report.txt", b"secret-bytes")]
        )
    att = Attachment.objects.get(entry__thread_id=ticket.thread_id)
    _, allowed = token_create(actor=SYSTEM, user=cast.agent_a, name="nginx test")
    _, refused = token_create(actor=SYSTEM, user=cast.agent_b, name="nginx test")

    db = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"},
        "ENV_FILE": str(tmp_path / "absent.env"),
        "DEBUG": "0",
        "SECRET_KEY": "nginx-test-key-" + "x" * 40,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "ALLOWED_HOSTS": "help.example.com",
        "SECURE_PROXY_SSL_HEADER": "1",
        "TRUSTED_PROXIES": "127.0.0.1",
        "MEDIA_ROOT": str(media),
        "STATIC_ROOT": str(static),
        "STATIC_FILES_STORAGE": "config.staticstorage.StaticStorage",
        "DOWNLOADS_X_ACCEL_PREFIX": "/_protected_media/",
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    web = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
         f"127.0.0.1:{web_port}", "--workers", "2", "--forwarded-allow-ips", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    proxy = subprocess.Popen([NGINX, "-c", str(conf)], stderr=subprocess.DEVNULL)  # noqa: S603
    https = f"https://127.0.0.1:{https_port}"
    try:
        _wait(https + "/healthz", proxy, "nginx")
        _wait(https + "/readyz", web, "gunicorn")

        status, headers, _ = _get(f"http://127.0.0.1:{http_port}/scp/")
        assert status == 301 and headers["Location"] == "https://help.example.com/scp/"

        status, _, page = _get(https + "/scp/login/")
        assert status == 200  # through the proxy, HTTPS believed: no redirect loop
        css = re.search(rb'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page).group(1).decode()
        status, headers, _ = _get(https + css, {"Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("Content-Encoding") == "gzip"
        assert "max-age=315360000" in headers["Cache-Control"]

        url = f"{https}/api/v1/attachments/{att.pk}/"
        status, headers, body = _get(url, {"Authorization": f"Bearer {allowed}"})
        assert status == 200, body
        assert body == b"secret-bytes"  # the bytes came from nginx, not the worker
        assert "X-Accel-Redirect" not in headers  # consumed by nginx
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Disposition"] == 'attachment; filename="report.txt"'
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert headers["Cache-Control"] == "private, no-store"

        status, _, body = _get(url, {"Authorization": f"Bearer {refused}"})
        assert status == 404 and b"secret-bytes" not in body
        status, _, body = _get(f"{https}/_protected_media/{att.file.file.name}")
        assert status == 404 and b"secret-bytes" not in body  # internal only
        status, _, body = _get(f"{https}/media/{att.file.file.name}")
        assert status == 404 and b"secret-bytes" not in body
    finally:
        for proc in (proxy, web):
            proc.send_signal(signal.SIGTERM)
        for proc in (proxy, web):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
