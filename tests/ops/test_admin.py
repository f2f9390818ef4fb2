"""Retention ages are edited by admins in the Django admin; job runs are read only."""

from django.utils import timezone

from helpdesk.ops.models import JobRun, RetentionSettings
from tests.panel.conftest import signed_in


def test_an_admin_sets_a_retention_age(cast, db):
    RetentionSettings.load()
    admin = signed_in(cast.admin)
    url = "/admin/helpdesk_ops/retentionsettings/1/change/"
    form = {
        "inbound_raw_days": 30,
        "outbound_mail_days": 180,
        "webhook_delivery_days": 30,
        "token_days": 30,
        "job_run_days": 14,
        "audit_days": 365,
    }

    assert admin.post(url, form).status_code == 302

    assert RetentionSettings.load().inbound_raw_days == 30


def test_job_runs_cannot_be_added_or_changed_in_the_admin(cast, db):
    run = JobRun.objects.create(job="x", via="command", started_at=timezone.now())
    admin = signed_in(cast.admin)

    assert admin.get("/admin/helpdesk_ops/jobrun/").status_code == 200
    assert admin.get("/admin/helpdesk_ops/jobrun/add/").status_code == 403
    assert (
        admin.post(f"/admin/helpdesk_ops/jobrun/{run.pk}/change/", {"job": "y"}).status_code == 403
    )
    assert JobRun.objects.get().job == "x"


def test_agents_cannot_reach_the_retention_settings(cast, db):
    agent = signed_in(cast.agent_a)
    response = agent.get("/admin/helpdesk_ops/retentionsettings/1/change/")
    assert response.status_code == 302 and "login" in response["Location"]
