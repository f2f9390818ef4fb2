def test_unknown_pages_get_our_404_without_any_internal_detail(client, db, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Not found</h1>" in html and "Traceback" not in html


def test_pages_allow_scripts_only_from_our_static_files(client, db):
    page = client.get("/")
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert (
        "unsafe-inline"
        not in page["Content-Security-Policy"].split("script-src", 1)[1].split(";")[0]
    )
    assert "<script>" not in page.content.decode()  # no inline script to allow
    # the admin gets the same policy (its login page redirects to the panel's)
    assert client.get("/admin/login/")["Content-Security-Policy"] == page["Content-Security-Policy"]
