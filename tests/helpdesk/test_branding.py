"""The organization's name and logo (settings) in the headers of the portal and the
panel, and the favicon on every page."""

import pytest

PAGES = ["/", "/scp/login/"]


@pytest.mark.parametrize("path", PAGES)
def test_the_product_name_and_the_favicon_by_default(client, db, path):
    html = client.get(path).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in html
    assert "brand-logo" not in html
    assert "· Helpdesk</title>" in html


@pytest.mark.parametrize("path", PAGES)
def test_the_organizations_name_and_logo_in_the_header(client, db, settings, path):
    settings.HELPDESK_ORG_NAME = "Acme <Support>"
    settings.HELPDESK_ORG_LOGO = "brand/acme.svg"
    html = client.get(path).content.decode()
    header = html[html.index('class="brand"') :][:300]
    assert "Acme &lt;Support&gt;" in header  # escaped
    assert '<img class="brand-logo" src="/static/brand/acme.svg" alt="">' in header
    assert "· Acme &lt;Support&gt;</title>" in html


def test_a_logo_on_a_site_path_is_used_as_it_is(client, db, settings):
    settings.HELPDESK_ORG_LOGO = "/logo.png"
    assert 'src="/logo.png"' in client.get("/").content.decode()


def test_favicon_ico_leads_to_the_favicon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"
