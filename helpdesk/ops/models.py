"""What the job runner records (each run, and each job's latest state) and how long
the helpdesk keeps what it would otherwise keep for ever (retention)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.singleton import SingletonSettings


class Result(models.TextChoices):
    RUNNING = "running", _("Running")
    OK = "ok", _("OK")
    FAILED = "failed", _("Failed")


class JobRun(models.Model):
    """One run of a periodic job, whichever way it ran (Celery beat, `run_cron`, the
    osTicket cron endpoint). Written when it starts, completed when it ends: a run that
    was killed stays `running`."""

    class Via(models.TextChoices):
        CELERY = "celery", _("Celery beat")
        COMMAND = "command", _("run_cron")
        LOOP = "loop", _("run_cron --loop")
        API = "api", _("Cron endpoint (API)")

    job = models.CharField(max_length=64)
    via = models.CharField(max_length=8, choices=Via)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    result = models.CharField(max_length=8, choices=Result, default=Result.RUNNING)
    count = models.BigIntegerField(null=True, blank=True, help_text=_("What the job returned."))
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"], name="ops_jobrun_job")]

    def __str__(self):
        return f"{self.job} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.result})"


class JobState(models.Model):
    """The latest run of one job (one row per job): what the health page and the
    panel's banner read without scanning the runs."""

    job = models.CharField(max_length=64, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_result = models.CharField(max_length=8, choices=Result, default=Result.RUNNING)
    last_error = models.TextField(blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text=_("First failure since the last run that succeeded.")
    )

    class Meta:
        ordering = ["job"]

    def __str__(self):
        return f"{self.job} ({self.last_result})"


class RetentionSettings(SingletonSettings):
    """How long what piles up is kept (osTicket's log purge), edited by admins. The
    `purge_retention` job deletes (in batches) what is older. 0 keeps it for ever."""

    inbound_raw_days = models.PositiveIntegerField(
        _("raw inbound mail (days)"),
        default=90,
        help_text=_(
            "The stored bytes of processed inbound messages are erased after this many days "
            "(the record of each message stays, so mail left on a server is not imported "
            "twice). Parked messages keep theirs until they are processed."
        ),
    )
    outbound_mail_days = models.PositiveIntegerField(
        _("outbound mail records (days)"),
        default=180,
        help_text=_("Sent, failed and bounced mail records older than this are deleted."),
    )
    webhook_delivery_days = models.PositiveIntegerField(
        _("webhook deliveries (days)"),
        default=30,
        help_text=_("Finished webhook deliveries (and their attempts) older than this."),
    )
    token_days = models.PositiveIntegerField(
        _("expired links and tokens (days)"),
        default=30,
        help_text=_(
            "Email verifications, guest access links and invitations this long past their "
            "expiry (used or not)."
        ),
    )
    job_run_days = models.PositiveIntegerField(
        _("job runs (days)"),
        default=14,
        help_text=_("Records of periodic job runs (each job's latest state is always kept)."),
    )
    audit_days = models.PositiveIntegerField(
        _("audit log (days)"),
        default=365,
        help_text=_("Audit log entries older than this are deleted (0 keeps them for ever)."),
    )

    class Meta:
        verbose_name = "retention settings"
        verbose_name_plural = "retention settings"

    def __str__(self):
        return "Retention settings"
