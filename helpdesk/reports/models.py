"""The read models of the reports, never written by hand: `facts.py` derives them.

- `Fact`: one countable happening of a ticket (opened, assigned, overdue, closed,
  reopened, deleted, a response, or a move in or out of the open backlog), with the
  ticket's department, topic, agent, team and channel at that moment and, for a close or
  a response, the time it took (in the SLA's business hours). Rebuilt per ticket from its
  thread's events and entries; percentiles are taken over these rows.
- `DailyStat`: the facts of one UTC day summed at a few grains (department and agent,
  topic, team, channel): what every count, average and the backlog read.
- `DirtyTicket` / `DirtyDay`: what changed since the report job last ran.

Ids are plain integers, not foreign keys: a figure of the past outlives a purged ticket
or a removed agent (the report shows an id it can no longer name).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Fact(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        ASSIGNED = "assigned", _("Assigned")
        OVERDUE = "overdue", _("Overdue")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")
        DELETED = "deleted", _("Deleted")
        RESPONSE = "response", _("Response")
        MOVED = "moved", _("Moved in or out of the open backlog")

    ticket_id = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind)
    at = models.DateTimeField()
    day = models.DateField(help_text=_("The UTC day of `at`."))
    department_id = models.BigIntegerField(null=True)
    topic_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    team_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=8, blank=True)
    seconds = models.BigIntegerField(
        null=True, help_text=_("A close: since opened. A response: since the message it answers.")
    )
    first = models.BooleanField(default=False, help_text=_("The ticket's first response."))
    met_sla = models.BooleanField(null=True, help_text=_("A close: by its due date (None: none)."))
    backlog = models.SmallIntegerField(default=0, help_text=_("+1 into the open backlog, -1 out."))

    class Meta:
        indexes = [
            models.Index(fields=["kind", "day"], name="reports_fact_kind_day"),
            models.Index(fields=["ticket_id"], name="reports_fact_ticket"),
            models.Index(fields=["day"], name="reports_fact_day"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of ticket {self.ticket_id} on {self.day}"


class DailyStat(models.Model):
    """One day's facts summed at one grain: per department and agent (what the
    department and agent dimensions, the time series, the backlog and the replies
    read), per department and topic, per department and team, and per department, agent
    and channel. Narrow grains keep a 90-day report to a few thousand rows."""

    class Grain(models.TextChoices):
        AGENT = "agent", _("Department and agent")
        TOPIC = "topic", _("Department and help topic")
        TEAM = "team", _("Department and team")
        CHANNEL = "channel", _("Department, agent and channel")
        # a week's histograms (day: its Monday), for the full weeks of long reports
        AGENT_WEEK = "agent_w", _("Week: department and agent")
        TOPIC_WEEK = "topic_w", _("Week: department and help topic")
        TEAM_WEEK = "team_w", _("Week: department and team")

    day = models.DateField()
    grain = models.CharField(max_length=8, choices=Grain)
    department_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    key = models.BigIntegerField(null=True, help_text=_("The topic or the team."))
    channel = models.CharField(max_length=8, blank=True)
    opened = models.IntegerField(default=0)
    assigned = models.IntegerField(default=0)
    overdue = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    deleted = models.IntegerField(default=0)
    responses = models.IntegerField(default=0)
    timed_responses = models.IntegerField(
        default=0, help_text=_("Responses that answered a message.")
    )
    first_responses = models.IntegerField(default=0)
    closed_with_due = models.IntegerField(default=0)
    closed_in_sla = models.IntegerField(default=0)
    service_seconds = models.BigIntegerField(default=0, help_text=_("Sum over the closes."))
    response_seconds = models.BigIntegerField(default=0, help_text=_("Sum over the responses."))
    backlog = models.IntegerField(default=0, help_text=_("Net change of the open backlog."))
    # {bucket: count} of the resolution and first response times (histogram.py), for
    # percentiles over ranges too large to sort the facts of
    resolution_hist = models.JSONField(default=dict, blank=True)
    first_response_hist = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["grain", "day", "department_id"], name="reports_daily_grain_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.grain} dept {self.department_id} agent {self.agent_id}"


class DirtyTicket(models.Model):
    ticket_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"ticket {self.ticket_id}"


class DirtyDay(models.Model):
    day = models.DateField(primary_key=True)

    def __str__(self) -> str:
        return str(self.day)
