"""Every way a file leaves the helpdesk is an authorised view with the same headers:
`Content-Disposition: attachment` except safe raster images whose bytes agree, `nosniff`,
a sandbox policy, no shared caching. /media/ is never served, with DEBUG on too. The
files and the SQLite database are readable by the owner only."""

import os
import stat

import pytest
from django.test import Client, override_settings

from config.sqlite3.base import DatabaseWrapper, secure_database_file
from threads.models import Attachment

from ..factories import attachment, open_ticket
from ..samples import PNG
from .conftest import signed_in

CASES = [
    ("shot.png", PNG, "image/png", "inline", "image/png"),
    ("fake.png", b"<svg onload=alert(1)>", "image/png", "attachment", "application/octet-stream"),
    (
        "page.html",
        b"<script>alert(1)</script>",
        "text/html",
        "attachment",
        "application/octet-stream",
    ),
    (
        "pic.svg",
        b"<svg onload=alert(1)/>",
        "image/svg+xml",
        "attachment",
        "application/octet-stream",
    ),
    ("old.bmp", b"BM" + b"\x00" * 60, "image/bmp", "attachment", "application/octet-stream"),
]


def _downloads(cast, name, content, ctype):
    ticket = open_ticket(
        cast.alice, department=cast.dept_a, files=[attachment(name, content, ctype)]
    )
    att = Attachment.objects.get(entry__thread_id=ticket.thread_id)
    from ..api.conftest import Api

    panel = signed_in(cast.agent_a).get(
        f"/scp/tickets/{ticket.number}/attachments/{att.pk}/{name}?inline=1"
    )
    portal = signed_in(cast.alice).get(f"/tickets/{ticket.number}/files/{att.pk}/{name}")
    api = Api(cast).agent(cast.agent_a).get(f"/api/v1/attachments/{att.pk}/")
    return {"panel": panel, "portal": portal, "api": api}


@pytest.mark.parametrize(
    "name,content,ctype,disposition,served_as", CASES, ids=[c[0] for c in CASES]
)
def test_every_download_view_answers_with_the_same_safe_headers(
    cast, name, content, ctype, disposition, served_as
):
    for surface, response in _downloads(cast, name, content, ctype).items():
        assert response.status_code == 200, surface
        assert response["Content-Disposition"] == f'{disposition}; filename="{name}"', surface
        assert response["Content-Type"] == served_as, surface
        assert response["X-Content-Type-Options"] == "nosniff", surface
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox", surface
        assert response["Cache-Control"] == "private, no-store", surface
        assert b"".join(response.streaming_content) == content, surface


@override_settings(DOWNLOADS_X_ACCEL_PREFIX="/_protected/")
def test_behind_nginx_the_view_decides_and_nginx_sends_the_bytes(cast):
    responses = _downloads(cast, "shot.png", PNG, "image/png")
    stored = Attachment.objects.get(file__isnull=False).file.file
    for surface, response in responses.items():
        assert response.status_code == 200, surface
        assert response["X-Accel-Redirect"] == f"/_protected/{stored.name}", surface
        assert response.content == b"", surface  # nginx reads the file, not the worker
        assert response["Content-Type"] == "image/png", surface
        assert response["X-Content-Type-Options"] == "nosniff", surface
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox", surface
        assert response["Cache-Control"] == "private, no-store", surface
    assert responses["api"]["Content-Disposition"] == 'inline; filename="shot.png"'

    att = Attachment.objects.get(file__isnull=False)
    ticket_number = att.entry.thread.ticket.number
    refused = signed_in(cast.agent_b).get(
        f"/scp/tickets/{ticket_number}/attachments/{att.pk}/shot.png"
    )
    assert refused.status_code == 404 and "X-Accel-Redirect" not in refused


def test_the_panel_shows_an_image_inline_only_when_asked(cast):
    ticket = open_ticket(
        cast.alice, department=cast.dept_a, files=[attachment("a.png", PNG, "image/png")]
    )
    att = Attachment.objects.get(entry__thread_id=ticket.thread_id)
    url = f"/scp/tickets/{ticket.number}/attachments/{att.pk}/a.png"

    assert signed_in(cast.agent_a).get(url)["Content-Disposition"] == 'attachment; filename="a.png"'
    assert signed_in(cast.agent_a).get(url + "?inline=1")["Content-Disposition"] == (
        'inline; filename="a.png"'
    )


@pytest.mark.parametrize("debug", [False, True])
def test_media_is_never_served_directly(cast, debug):
    ticket = open_ticket(cast.alice, department=cast.dept_a, files=[attachment("s.txt", b"secret")])
    stored = Attachment.objects.get(entry__thread_id=ticket.thread_id).file.file
    assert os.path.exists(stored.path)

    with override_settings(DEBUG=debug):
        response = Client().get(f"/media/{stored.name}")
        signed = signed_in(cast.admin).get(f"/media/{stored.name}")

    assert (response.status_code, signed.status_code) == (404, 404)
    assert b"secret" not in response.content + signed.content


def test_config_urls_has_no_media_route_whatever_debug_says():
    import importlib

    import config.urls

    with override_settings(DEBUG=True):
        module = importlib.reload(config.urls)
        patterns = [str(p.pattern) for p in module.urlpatterns]
    importlib.reload(config.urls)
    # health: helpdesk.ops; jsi18n: the JavaScript catalogue
    assert patterns == ["admin/", "api/", "scp/health/", "scp/", "jsi18n/", ""]


SQLITE = {
    "ENGINE": "config.sqlite3",
    "OPTIONS": {},
    "TIME_ZONE": None,
    "CONN_MAX_AGE": 0,
    "CONN_HEALTH_CHECKS": False,
    "AUTOCOMMIT": True,
    "ATOMIC_REQUESTS": False,
    "TEST": {},
}


def test_a_new_sqlite_database_file_is_for_the_owner_only(tmp_path, django_db_blocker):
    path = tmp_path / "db.sqlite3"
    old = os.umask(0o022)
    try:
        with django_db_blocker.unblock():
            db = DatabaseWrapper({**SQLITE, "NAME": str(path)}, alias="perm")
            db.ensure_connection()
            with db.cursor() as cursor:
                cursor.execute("CREATE TABLE t (x integer)")
            db.close()
    finally:
        os.umask(old)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_database_file_is_tightened_and_memory_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "old.sqlite3"
    path.write_bytes(b"")
    path.chmod(0o644)

    secure_database_file(path)
    secure_database_file(tmp_path / "missing" / "db.sqlite3")  # SQLite reports it itself
    secure_database_file(":memory:")
    secure_database_file("file:memorydb_default?mode=memory&cache=shared")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.sqlite3"]
