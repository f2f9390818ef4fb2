"""osTicket's email templates: defaults here, admins' edits in EmailTemplate rows.

Templates use a restricted Django template language (`helpdesk.mail.sandbox`: a few
tags and filters, no `load`, `include`, `extends` or `debug`) over plain values, never
model instances, so an edited template cannot reach a password hash: `ticket`,
`recipient`, `entry`, `agent`, `assignee`, `team`, `department`, `previous_department`,
`signature`, `url` (the keys are in `sandbox.VARIABLES`; the task templates have `task`
instead of `ticket`, `sandbox.TASK_VARIABLES`). A template is checked when it
is saved (`EmailTemplate.clean`) and again before each use: one that is refused, fails
to render or writes past its limit is replaced by the default, and the helpdesk admins
are told (an error in the log and, at most once an hour per template, a mail through the
outbox), so the client never sees template syntax. Subjects and plain-text parts are
never HTML-escaped (O'Brien stays O'Brien); HTML parts escape every value except the
entry's sanitised HTML.
"""

import logging
import re

from django.conf import settings
from django.db.models import Case, Q, When
from django.template import Context
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop

from accounts.links import site_url

from . import sandbox

log = logging.getLogger(__name__)
ALERT_EVERY_SECONDS = 3600

# The defaults in code, in English, marked for translation: each is rendered in the
# recipient's language (`default_texts` under translation.override). Template variables
# and tags stay inside the messages, so translators move them, never drop them
# (helpdesk.i18n.problems checks it). A body is one message, or several joined by a line
# break (the task mails' reply hint is one message of its own).
TAG = "[#{{ ticket.number }}]"

MESSAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ticket.autoresp": (
        gettext_noop("Support ticket opened [#{{ ticket.number }}] {{ ticket.subject }}"),
        (
            gettext_noop(
                "Dear {{ recipient.name }},\n\n"
                "We received your request and opened ticket #{{ ticket.number }}. An agent "
                "will answer as soon as possible.\n\nYou can follow it at {{ url }}.\n\n"
                "{{ department.name }}\n{{ signature }}"
            ),
        ),
    ),
    "message.autoresp": (
        gettext_noop("Message received [#{{ ticket.number }}] {{ ticket.subject }}"),
        (
            gettext_noop(
                "Dear {{ recipient.name }},\n\nYour message was added to ticket "
                "#{{ ticket.number }}.\n\nYou can follow it at {{ url }}.\n\n"
                "{{ department.name }}"
            ),
        ),
    ),
    "ticket.notice": (
        gettext_noop("{{ ticket.subject }} [#{{ ticket.number }}]"),
        (
            gettext_noop(
                "Dear {{ recipient.name }},\n\n{{ agent.name }} opened ticket "
                "#{{ ticket.number }} for you.\n\n{{ entry.body_text }}\n\n"
                "You can follow it at {{ url }}.\n\n{{ signature }}"
            ),
        ),
    ),
    "ticket.overlimit": (
        gettext_noop("Open ticket limit reached"),
        (
            gettext_noop(
                "Dear {{ recipient.name }},\n\nYou have reached the most open tickets "
                'allowed, so your message "{{ ticket.subject }}" did not open a new one. '
                "Please reply to one of your open tickets, or wait until one is closed."
                "\n\n{{ url }}"
            ),
        ),
    ),
    "ticket.reply": (
        gettext_noop("Re: {{ ticket.subject }} [#{{ ticket.number }}]"),
        (
            gettext_noop(
                "{{ entry.body_text }}\n\n{{ signature }}\n\n"
                "Ticket #{{ ticket.number }}: {{ ticket.status }}. {{ url }}"
            ),
        ),
    ),
    "ticket.activity.notice": (
        gettext_noop("Re: {{ ticket.subject }} [#{{ ticket.number }}]"),
        (
            gettext_noop(
                "Dear {{ recipient.name }},\n\n{{ entry.poster }} wrote:\n\n"
                "{{ entry.body_text }}\n\nTicket #{{ ticket.number }}: {{ url }}"
            ),
        ),
    ),
    "ticket.alert": (
        gettext_noop("New ticket alert [#{{ ticket.number }}] {{ ticket.subject }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\nNew ticket #{{ ticket.number }} in "
                "{{ department.name }} from {{ ticket.requester_name }} "
                "<{{ ticket.requester_email }}>.\nPriority: {{ ticket.priority }}. "
                "Due: {{ ticket.due }}.\n\n{{ entry.body_text }}\n\n{{ url }}"
            ),
        ),
    ),
    "message.alert": (
        gettext_noop("New message alert [#{{ ticket.number }}] {{ ticket.subject }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\n{{ entry.poster }} wrote on ticket "
                "#{{ ticket.number }}:\n\n{{ entry.body_text }}\n\n{{ url }}"
            ),
        ),
    ),
    "note.alert": (
        gettext_noop("Internal note [#{{ ticket.number }}] {{ ticket.subject }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\n{{ entry.poster }} posted an internal note "
                "on ticket #{{ ticket.number }}{% if entry.title %} ({{ entry.title }})"
                "{% endif %}:\n\n{{ entry.body_text }}\n\n{{ url }}"
            ),
        ),
    ),
    "assigned.alert": (
        gettext_noop("Ticket assigned to you [#{{ ticket.number }}] {{ ticket.subject }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\nTicket #{{ ticket.number }} was assigned to "
                "{% if assignee %}{{ assignee }}{% else %}{{ team }}{% endif %}"
                "{% if agent.name %} by {{ agent.name }}{% endif %}.\n\n{{ url }}"
            ),
        ),
    ),
    "transfer.alert": (
        gettext_noop("Ticket transferred [#{{ ticket.number }}] {{ ticket.subject }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\nTicket #{{ ticket.number }} was transferred "
                "from {{ previous_department }} to {{ department.name }}"
                "{% if agent.name %} by {{ agent.name }}{% endif %}.\n\n{{ url }}"
            ),
        ),
    ),
    "ticket.overdue": (
        gettext_noop("Overdue ticket [#{{ ticket.number }}] {{ ticket.subject }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\nTicket #{{ ticket.number }} in "
                "{{ department.name }} is overdue (due {{ ticket.due }}).\n\n{{ url }}"
            ),
        ),
    ),
}

# Task mail goes to agents only. Its subject names the task with a tag of its own, never
# `[#...]`: that is the ticket tag, and a reply found by it would go to a ticket (and
# its client) instead of the task.
TASK_TAG = "[Task #{{ task.number }}]"
TASK_REPLY_HINT = gettext_noop(
    "Reply to this mail to post an update on the task (agents only; no client sees it)."
)
TASK_MESSAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "task.alert": (
        gettext_noop("New task [Task #{{ task.number }}] {{ task.title }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\n"
                'Task #{{ task.number }} "{{ task.title }}" was created in '
                "{{ department.name }}{% if agent.name %} by {{ agent.name }}{% endif %}"
                "{% if task.ticket %} for ticket #{{ task.ticket }}{% endif %}.\n"
                "Assigned to: {{ task.assigned_to }}. "
                "Due: {{ task.due_or_none }}.\n\n{{ entry.body_text }}\n\n"
                "{{ url }}"
            ),
            TASK_REPLY_HINT,
        ),
    ),
    "task.activity.alert": (
        gettext_noop("Task update [Task #{{ task.number }}] {{ task.title }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\n{{ entry.poster }} posted an update on task "
                '#{{ task.number }} "{{ task.title }}"'
                "{% if entry.title %} ({{ entry.title }}){% endif %}:"
                "\n\n{{ entry.body_text }}\n\n{{ url }}"
            ),
            TASK_REPLY_HINT,
        ),
    ),
    "task.activity.notice": (
        gettext_noop("Task update [Task #{{ task.number }}] {{ task.title }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\nYou follow task #{{ task.number }} "
                '"{{ task.title }}". {{ entry.poster }} wrote:'
                "\n\n{{ entry.body_text }}\n\n{{ url }}"
            ),
            TASK_REPLY_HINT,
        ),
    ),
    "task.assignment.alert": (
        gettext_noop("Task assigned [Task #{{ task.number }}] {{ task.title }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\n"
                'Task #{{ task.number }} "{{ task.title }}" in {{ department.name }} was '
                "assigned to {% if assignee %}{{ assignee }}{% else %}{{ team }}{% endif %}"
                "{% if agent.name %} by {{ agent.name }}{% endif %}.\n"
                "Due: {{ task.due_or_none }}.\n\n{{ url }}"
            ),
            TASK_REPLY_HINT,
        ),
    ),
    "task.transfer.alert": (
        gettext_noop("Task transferred [Task #{{ task.number }}] {{ task.title }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\n"
                'Task #{{ task.number }} "{{ task.title }}" was transferred from '
                "{{ previous_department }} to {{ department.name }}"
                "{% if agent.name %} by {{ agent.name }}{% endif %}.\n"
                "Assigned to: {{ task.assigned_to }}.\n\n{{ url }}"
            ),
            TASK_REPLY_HINT,
        ),
    ),
    "task.overdue.alert": (
        gettext_noop("Overdue task [Task #{{ task.number }}] {{ task.title }}"),
        (
            gettext_noop(
                "Hello {{ recipient.name }},\n\n"
                'Task #{{ task.number }} "{{ task.title }}" in {{ department.name }} is '
                "overdue (due {{ task.due }}).\n"
                "Assigned to: {{ task.assigned_to }}.\n\n{{ url }}"
            ),
            TASK_REPLY_HINT,
        ),
    ),
}
MESSAGES.update(TASK_MESSAGES)

# The defaults in English (subject, text body), as migrations and the admin's "reset"
# read them.
DEFAULTS: dict[str, tuple[str, str]] = {
    code: (subject, "\n".join(body)) for code, (subject, body) in MESSAGES.items()
}
TASK_DEFAULTS: dict[str, tuple[str, str]] = {code: DEFAULTS[code] for code in TASK_MESSAGES}


def default_texts(code: str) -> tuple[str, str]:
    """(subject, text body) of the default in code, in the active language (English
    where its catalogue has no translation)."""
    subject, body = MESSAGES[code]
    return gettext(subject), "\n".join(gettext(part) for part in body)


# HTML defaults wrap the text ones: the entry body is shown as its sanitised HTML.
HTML_BODY_SWAP = ("{{ entry.body_text }}", "{{ entry.body_html }}")


def default_html(text: str) -> str:
    html = text.replace(*HTML_BODY_SWAP)
    paragraphs = [p.replace("\n", "<br>") for p in html.split("\n\n")]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


_ENTRY_HTML = re.compile(r"\bentry\.body_html\b")


def derive_text(html: str) -> str:
    """The plain-text part of a template from its HTML part (the one source): the HTML's
    text, paragraphs and line breaks kept, and the entry's HTML body swapped for its text."""
    from threads.html import html_to_text

    html = (html or "").replace("\r\n", "\n").replace("\r", "\n")  # as browsers post it
    return _ENTRY_HTML.sub("entry.body_text", html_to_text(html))


def sources(code: str, *, department=None, language: str = "") -> list[tuple[str, str, str, int]]:
    """(subject, text, html, row id) of the admins' rows for template `code`, in the
    order they are tried: the department's template set's in `language`, the default
    set's in `language`, the department's set's for any language (""), the default set's
    for any language (one query; none of them: the default in code)."""
    return [row[:4] for row in _sources(code, department=department, language=language)]


def _sources(code: str, *, department, language: str) -> list[tuple]:
    """`sources`, each row with the set's is_default and the row's language after it."""
    from .models import DepartmentMailSettings, EmailTemplate

    in_sets = Q(template_set__is_default=True)
    if department is not None:
        chosen = DepartmentMailSettings.objects.filter(department=department).values(
            "template_set_id"
        )
        in_sets |= Q(template_set_id__in=chosen)
    languages = list(dict.fromkeys([language or "", ""]))
    rows = (
        EmailTemplate.objects.filter(in_sets, code=code, language__in=languages)
        # the language's rows first, and within each the department's own set first
        .annotate(any_language=Case(When(language="", then=1), default=0))
        .order_by("any_language", "template_set__is_default")
        .values_list(
            "subject", "body_text", "body_html", "pk", "template_set__is_default", "language"
        )
    )
    return list(rows[:4])


def source(code: str, *, department=None, language: str = "") -> tuple[str, str, str, int | None]:
    """(subject, text, html, row id) of a template: the first of `sources`, else the
    default in code in the active language."""
    found = sources(code, department=department, language=language)
    if found:
        return found[0]
    subject, text = default_texts(code)
    return subject, text, default_html(text), None


def render(
    code: str, context: dict, *, department=None, language: str | None = None
) -> tuple[str, str, str]:
    """(subject, text body, html body or "") for a template and its values, in
    `language` (None: the active one; it is active while rendering). The template comes
    from `sources`: the department's set, then the default set, in that language, then
    for any language; none: the default in code, translated. An admin's template that is
    refused, fails at render time or writes more than its limit is replaced by the next
    one (and at last by the default in code); the admins are alerted of each one skipped."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        return _render_first(code, context, department=department, language=language)


def _render_first(code: str, context: dict, *, department, language: str):
    broken: list[tuple[int, dict]] = []
    result, sent = None, "the default text"
    rows = _sources(code, department=department, language=language)
    for subject, text, html, row_id, in_default_set, row_language in rows:
        problems = template_errors(subject, text, html, code=code)
        if not problems:
            try:
                result = _render((subject, text, html), context, limit=render_limit(context))
                sent = "the {} template set's template{}".format(
                    "default" if in_default_set else "department's",
                    f" in {row_language}" if row_language else "",
                )
                break
            except Exception as exc:  # any failure at all: the next one is sent instead
                problems = {"render": f"{type(exc).__name__}: {exc}"}
        broken.append((row_id, problems))
    if result is None:
        subject, text = default_texts(code)
        result = _render((subject, text, default_html(text)), context, limit=None)
    for row_id, problems in broken:
        _alert_admins(code, row_id, problems, sent=sent)
    return result


def render_limit(context: dict) -> int:
    """How much one part of an admin's template may write: MAIL_TEMPLATE_MAX_CHARS plus
    four times the size of the values (room to print each, escaped, more than once)."""
    return settings.HELPDESK_MAIL["TEMPLATE_MAX_CHARS"] + 4 * _size(context)


def _size(value) -> int:
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return len(value) if isinstance(value, str) else 0


def _render(
    template: tuple[str, str, str], context: dict, *, limit: int | None
) -> tuple[str, str, str]:
    subject, text, html = template
    ctx = dict(context)
    entry = dict(ctx.get("entry") or {})
    if "body_html" in entry:
        entry["body_html"] = mark_safe(entry["body_html"])  # noqa: S308 - sanitised by nh3
    ctx["entry"] = entry

    # A Context escapes unless told otherwise, whatever its engine says: say it.
    def part(engine, source: str) -> str:
        return sandbox.render(
            engine, source, Context(ctx, autoescape=engine.autoescape), limit=limit
        )

    out_subject = part(sandbox.TEXT, subject)
    out_text = part(sandbox.TEXT, text)
    out_html = part(sandbox.HTML, html) if html.strip() else ""
    return " ".join(out_subject.split())[:255], out_text.strip() + "\n", out_html


def template_errors(
    subject: str, text: str | None, html: str, *, code: str | None = None, sample: bool = False
) -> dict:
    """{field: message} of what the sandbox refuses in a template (empty: fine), each
    message naming its line. `code`: the template's, whose variables it may use (a task
    template's, or the ticket ones). `text` None: derived from `html`. `sample`: also
    render it with a sample ticket (SAMPLE_CONTEXT), as it will be when mailed."""
    errors = {}
    variables = sandbox.variables_for(code)
    derived = text is None
    if text is None:
        text = derive_text(html)
    for name, value in (("subject", subject), ("body_text", text), ("body_html", html)):
        problems = sandbox.validate(value or "", variables, lines=True)
        if problems:
            errors[name] = " ".join(problems)
    if derived and "body_text" in errors:  # the text is made from the HTML: say it there
        problem = errors.pop("body_text")
        errors.setdefault("body_html", f"In the plain-text part made from it: {problem}")
    if sample and not errors:
        context = sample_context(code)
        try:
            _render((subject, text, html), context, limit=render_limit(context))
        except Exception as exc:  # whatever breaks it would break the mail
            errors["body_html"] = f"It fails with a sample ticket: {type(exc).__name__}: {exc}"
    return errors


SAMPLE_TICKET = {
    "number": "123456",
    "subject": "Printer on floor 3 is jammed",
    "status": "Open",
    "priority": "Normal",
    "department": "Support",
    "topic": "Hardware",
    "requester_name": "Alice Example",
    "requester_email": "alice@example.com",
    "due": "2026-01-05 17:00 UTC",
    "created": "2026-01-05 09:00 UTC",
}
SAMPLE_TASK = {
    "number": "42",
    "title": "Order a new fuser unit",
    "status": "Open",
    "department": "Support",
    "assignee": "Bob Agent",
    "team": "Hardware",
    "assigned_to": "Bob Agent",
    "due": "2026-01-06 12:00 UTC",
    "due_or_none": "2026-01-06 12:00 UTC",
    "created": "2026-01-05 10:00 UTC",
    "ticket": "123456",
}


def sample_context(code: str | None) -> dict:
    """Values of every documented variable for a made-up ticket (or task)."""
    about = {"task": SAMPLE_TASK} if (code or "").startswith("task.") else {"ticket": SAMPLE_TICKET}
    return {
        **about,
        "recipient": {"name": "Alice Example", "email": "alice@example.com"},
        "entry": {
            "kind": "message",
            "title": "",
            "poster": "Alice Example",
            "body_text": "It says paper jam, but there is no paper in it.",
            "body_html": "<p>It says <b>paper jam</b>, but there is no paper in it.</p>",
        },
        "agent": {"name": "Bob Agent"},
        "department": {"name": "Support"},
        "assignee": "Bob Agent",
        "team": "Hardware",
        "previous_department": "Sales",
        "signature": "The Support team",
        "url": "https://helpdesk.example.com/tickets/123456/",
    }


def preview(subject: str, html: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of a template as it would be mailed with `context`, the
    text part derived from the HTML; errors are raised, not replaced by the default."""
    return _render((subject, derive_text(html), html), context, limit=render_limit(context))


def _alert_admins(code: str, row_id: int, problems: dict, *, sent: str) -> None:
    """The edited template `code` (row `row_id`) could not be used and `sent` was sent
    instead: log it, and mail the helpdesk admins through the outbox, in the current
    transaction (at most once an hour per template row: the alert's own rows are the
    gate, so one rolled back uses up nothing)."""
    from .outbound import queue_admin_alert

    detail = "; ".join(f"{field}: {message}" for field, message in problems.items())
    log.error("email template %s cannot be used, %s was sent instead: %s", code, sent, detail)
    where = site_url(f"/admin/helpdesk_mail/emailtemplate/{row_id}/change/")
    queue_admin_alert(
        key=f"template-alert:{code}:{row_id}",
        subject=f"Email template {code} is broken",
        body=(
            f'The email template "{code}" could not be used, so {sent} was sent '
            f"instead (clients never see template syntax).\n\n{detail}\n\nFix it here: {where}\n"
        ),
        every=ALERT_EVERY_SECONDS,
    )
