"""An admin fixes an email template in a real browser (Chromium, against live_server):
from the panel to the admin by its link, a typo refused with its line and name, the
template fixed and saved, then previewed with a real ticket. Screenshots in
test-artifacts/screenshots/admin-*.png."""

import pytest
from playwright.sync_api import expect

from helpdesk.mail.models import EmailTemplate, EmailTemplateSet
from helpdesk.mail.templates import DEFAULTS, default_html
from tests.factories import open_ticket

from ..conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_an_admin_fixes_a_template_after_its_typo_is_refused(page, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Scanner jammed")
    # the data migration's rows, made again if an earlier transactional test flushed them
    default_set, _ = EmailTemplateSet.objects.get_or_create(
        is_default=True, defaults={"name": "Default"}
    )
    subject, text = DEFAULTS["ticket.reply"]
    row, _ = EmailTemplate.objects.get_or_create(
        template_set=default_set,
        code="ticket.reply",
        defaults={"subject": subject, "body_html": default_html(text)},
    )
    before = row.body_html

    page.goto("/scp/login/")
    page.get_by_label("Username or email").fill("root")
    page.get_by_label("Password").fill("secret")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#admin-link").click()

    # the admin, grouped by task
    expect(page.locator("#content-main")).to_contain_text("Tickets and routing")
    expect(page.locator("#content-main")).to_contain_text("Service level agreements")
    screenshot(page, "admin-index")
    page.locator("#content-main").get_by_role("link", name="Email templates").click()
    page.get_by_role("link", name="Response to the client").click()
    expect(page.locator("#template-variables")).to_contain_text("{{ ticket.subject }}")

    # a typo on the second line is refused, with its line and its name
    body = page.locator("#id_body_html")
    body.fill(
        "<p>Hello {{ recipient.name }},</p>\n"
        "<p>About {{ ticket.subjet }}: {{ entry.body_html }}</p>"
    )
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator(".errorlist").first
    expect(error).to_contain_text("Unknown variables: {{ ticket.subjet }} (line 2)")
    screenshot(page, "admin-template-refused")
    row.refresh_from_db()
    assert row.body_html == before

    # fixed, it is saved, its text part derived from it
    page.locator("#id_body_html").fill(
        "<p>Hello {{ recipient.name }},</p>\n"
        "<p>About {{ ticket.subject }}: {{ entry.body_html }}</p>"
    )
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    row.refresh_from_db()
    assert "{{ ticket.subject }}" in row.body_html
    assert (
        row.body_text
        == "Hello {{ recipient.name }},\n\nAbout {{ ticket.subject }}: {{ entry.body_text }}"
    )

    # and previewed with a real ticket
    page.locator("#preview-link").click()
    page.locator("#id_ticket").fill(ticket.number)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-subject")).to_contain_text(
        f"Re: Scanner jammed [#{ticket.number}]"
    )
    expect(page.locator("#preview-text")).to_contain_text("About Scanner jammed:")
    screenshot(page, "admin-template-preview")


def test_an_admin_previews_edits_before_saving_them(page, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Toner empty")
    default_set, _ = EmailTemplateSet.objects.get_or_create(
        is_default=True, defaults={"name": "Default"}
    )
    subject, text = DEFAULTS["ticket.reply"]
    row, _ = EmailTemplate.objects.get_or_create(
        template_set=default_set,
        code="ticket.reply",
        defaults={"subject": subject, "body_html": default_html(text)},
    )
    before = (row.subject, row.body_html)

    page.goto("/scp/login/")
    page.get_by_label("Username or email").fill("root")
    page.get_by_label("Password").fill("secret")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/admin/helpdesk_mail/emailtemplate/{row.pk}/change/")

    page.locator("#id_subject").fill("Draft: {{ ticket.subject }}")
    page.locator("#id_body_html").fill("<p>Unsaved words about {{ ticket.subject }}</p>")
    page.locator("#id_preview_ticket").fill(ticket.number)
    with page.context.expect_page() as opened:
        page.locator("#preview-edits-button").click()
    preview = opened.value
    preview.wait_for_load_state()
    expect(preview.locator("#preview-unsaved")).to_be_visible()
    expect(preview.locator("#preview-subject")).to_have_text("Draft: Toner empty")
    expect(preview.locator("#preview-text")).to_contain_text("Unsaved words about Toner empty")
    screenshot(preview, "admin-template-preview-edits")

    # a typo in the edits: named with its line, nothing rendered
    page.locator("#id_body_html").fill("<p>ok</p>\n<p>{{ ticket.subjet }}</p>")
    with page.context.expect_page() as opened:
        page.locator("#preview-edits-button").click()
    preview = opened.value
    preview.wait_for_load_state()
    expect(preview.locator("#preview-problem")).to_contain_text(
        "Unknown variables: {{ ticket.subjet }} (line 2)"
    )
    expect(preview.locator("#preview-subject")).to_have_count(0)

    row.refresh_from_db()
    assert (row.subject, row.body_html) == before  # previewing saved nothing
