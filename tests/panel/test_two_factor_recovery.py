"""Two-factor setup shows a QR code of the key (server-side SVG); ten single-use
recovery codes are shown once, kept hashed, and accepted once each at sign-in instead of
an authenticator code."""

import hashlib
import re

import pyotp
import pytest
import segno
from django.test import Client

from helpdesk.panel import services as panel_services
from helpdesk.panel.models import RecoveryCode, TotpDevice
from helpdesk.panel.views.profile import qr_svg

from .conftest import signed_in

pytestmark = pytest.mark.django_db

CODE = re.compile(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>")


def _set_up(client, agent) -> list[str]:
    """Enrol through the pages; returns the recovery codes the page showed."""
    page = client.get("/scp/profile/2fa/")
    secret = TotpDevice.objects.get(agent=agent).secret
    response = client.post("/scp/profile/2fa/", {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == "/scp/profile/2fa/recovery/"
    shown = client.get("/scp/profile/2fa/recovery/").content.decode()
    assert page.status_code == 200
    return CODE.findall(shown)


def _sign_in(login: str) -> Client:
    client = Client()
    response = client.post("/scp/login/", {"login": login, "password": "secret"})
    assert response["Location"] == "/scp/login/verify/"
    return client


def test_the_setup_page_shows_the_key_as_an_svg_qr_code_beside_it(cast):
    html = signed_in(cast.agent_a).get("/scp/profile/2fa/").content.decode()
    secret = TotpDevice.objects.get(agent=cast.agent_a).secret
    assert secret in html
    figure = html[html.index('<figure class="qr"') : html.index("</figure>")]
    assert "<svg" in figure and "<path" in figure and "<script" not in figure
    assert secret not in figure  # the modules only, no text of the URI


def test_the_qr_code_encodes_the_provisioning_uri():
    uri = "otpauth://totp/Helpdesk:a%40b.test?secret=ABC&issuer=Helpdesk"
    expected = segno.make(uri, error="m").svg_inline(scale=4, border=2, omitsize=False)
    assert qr_svg(uri) == expected and qr_svg(uri) != qr_svg(uri + "X")


def test_ten_codes_are_shown_once_and_stored_only_hashed(cast):
    client = signed_in(cast.agent_a)
    codes = _set_up(client, cast.agent_a)
    assert len(codes) == len(set(codes)) == 10
    rows = RecoveryCode.objects.filter(agent=cast.agent_a)
    stored = set(rows.values_list("code_hash", flat=True))
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    again = client.get("/scp/profile/2fa/recovery/").content.decode()
    assert CODE.findall(again) == [] and "10 unused recovery codes left." in again
    assert "10 recovery codes left." in client.get("/scp/profile/").content.decode()


def test_a_recovery_code_signs_in_once_instead_of_an_authenticator_code(cast):
    codes = _set_up(signed_in(cast.agent_a), cast.agent_a)
    client = _sign_in("alex")
    response = client.post("/scp/login/verify/", {"code": codes[3].upper()})
    assert response["Location"] == "/scp/"
    home = client.get("/scp/")
    assert home.status_code == 200
    assert "You signed in with a recovery code: 9 are left." in home.content.decode()
    # the same code a second time: refused, nothing signed in
    other = _sign_in("alex")
    refused = other.post("/scp/login/verify/", {"code": codes[3]})
    assert refused.status_code == 200 and "That code is not right" in refused.content.decode()
    assert other.get("/scp/").status_code == 302
    assert RecoveryCode.objects.filter(agent=cast.agent_a, used_at__isnull=False).count() == 1
    # another code still works
    assert _sign_in("alex").post("/scp/login/verify/", {"code": codes[0]})["Location"] == "/scp/"


def test_another_agents_code_or_a_made_up_one_is_refused(cast):
    codes = _set_up(signed_in(cast.agent_a), cast.agent_a)
    _set_up(signed_in(cast.agent_b), cast.agent_b)
    client = _sign_in(cast.agent_b.username)
    for wrong in (codes[0], "abcd-efgh-ijkm-npqr"):
        response = client.post("/scp/login/verify/", {"code": wrong})
        assert "That code is not right" in response.content.decode()
    assert client.get("/scp/").status_code == 302
    assert not RecoveryCode.objects.filter(used_at__isnull=False).exists()


def test_new_codes_replace_the_old_ones(cast):
    client = signed_in(cast.agent_a)
    old = _set_up(client, cast.agent_a)
    response = client.post("/scp/profile/2fa/recovery/")
    assert response["Location"] == "/scp/profile/2fa/recovery/"
    new = CODE.findall(client.get("/scp/profile/2fa/recovery/").content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert not panel_services.recovery_code_use(agent=cast.agent_a, code=old[0])
    assert panel_services.recovery_code_use(agent=cast.agent_a, code=new[0])


def test_without_an_authenticator_there_are_no_codes(cast, nothing_written):
    client = signed_in(cast.agent_a)
    with nothing_written():
        response = client.post("/scp/profile/2fa/recovery/")
    assert response["Location"] == "/scp/profile/2fa/recovery/"
    assert client.get("/scp/profile/2fa/recovery/")["Location"] == "/scp/profile/"
    assert not RecoveryCode.objects.exists()


def test_turning_two_factor_off_deletes_the_codes(cast):
    client = signed_in(cast.agent_a)
    codes = _set_up(client, cast.agent_a)
    client.post("/scp/profile/2fa/disable/")
    assert not RecoveryCode.objects.filter(agent=cast.agent_a).exists()
    assert not panel_services.recovery_code_use(agent=cast.agent_a, code=codes[0])
