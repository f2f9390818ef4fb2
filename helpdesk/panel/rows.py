"""The queue table's rows, built in Python (staff/queue/_table.html writes them out).

A queue page shows 25 to 100 rows of up to twelve columns; as template tags (an
`{% if %}` chain per cell, `{% url %}` twice per row, translation blocks, filters) the
rows cost about half of the page's time. Here each row's cells are one escaped string,
from the values the row's statement loaded (panel.selectors.queue_rows), the ticket's
URL reversed once per page, the labels translated once per page. The cells show the
fields the exports write (panel.queues.CELLS); tests/panel/test_queues.py checks the
HTML.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from helpdesk import display
from helpdesk.display import html_format, html_of
from helpdesk.translations import status_name
from tickets.models import State


@dataclass
class Row:
    number: str
    css: str  # the <tr>'s classes
    colour: str  # its priority's colour
    select_label: str  # the checkbox's label
    cells: SafeString  # every <td> of the row


def _name(obj) -> str:
    return obj.name if obj is not None else ""


def _countdown(t) -> str:
    if t.state != State.OPEN:
        return ""
    paused = getattr(t, "sla_paused_at", None) is not None
    return display.countdown_html(t.effective_due_at, flagged=t.is_overdue, paused=paused)


class _Page:
    """What every row of a page shares: the URL's head, the translated labels."""

    def __init__(self, columns):
        head, tail = reverse("panel:ticket", args=["0"]).rsplit("/0/", 1)
        self.url = f"{head}/%s/{tail}"
        self.columns = [(key, html_of(label)) for key, label, _sort in columns]
        self.locked_by = gettext("Locked by %(who)s")
        self.locked = html_format('🔒<span class="visually-hidden">{}</span>', gettext("locked"))
        self.overdue = html_format(' <span class="badge overdue">{}</span>', gettext("Overdue"))
        self.select = gettext("Select ticket %(n)s")

    def cell(self, key: str, t, url: str) -> str:
        if key == "number":
            html = html_format('<a href="{}" class="number">#{}</a>', url, t.number)
            if getattr(t, "locked_by", None):
                html += html_format(
                    ' <span class="badge lock" title="{}">{}</span>',
                    self.locked_by % {"who": t.locked_by},
                    self.locked,
                )
            return html + (self.overdue if t.is_overdue else "")
        if key == "subject":
            return html_format('<a href="{}">{}</a>', url, t.subject)
        if key == "requester":
            return html_of(t.requester.display_name)
        if key == "priority":
            return html_format('<span class="prio">{}</span>', _name(t.priority))
        if key == "status":
            return html_of(status_name(t.status, for_client=False) if t.status else "")
        if key == "assignee":
            names = [t.assignee.display_name if t.assignee else "", _name(t.team)]
            return html_of(" · ".join(n for n in names if n))
        if key in ("department", "team", "topic"):
            return html_of(_name(getattr(t, key)))
        if key == "due":
            return _countdown(t)
        if key in ("created", "updated"):
            return display.when_html(getattr(t, f"{key}_at"))
        return ""

    def row(self, t) -> Row:
        url = self.url % t.number
        cells = "".join(
            f'<td class="col-{key}" data-label="{label}">{self.cell(key, t, url)}</td>'
            for key, label in self.columns
        )
        css = ("overdue" if t.is_overdue else "") + (
            " unanswered" if not t.is_answered and t.state == State.OPEN else ""
        )
        return Row(
            number=t.number,
            css=css,
            colour=t.priority.colour if t.priority else "",
            select_label=self.select % {"n": t.number},
            # every value above went through html_format or html_of
            cells=mark_safe(cells),  # noqa: S308
        )


def ticket_rows(tickets, columns) -> list[Row]:
    """The rows of a queue page: `columns` as the page's [(key, label, sort key)]."""
    page = _Page(columns)
    return [page.row(t) for t in tickets]


def search_rows(results) -> SafeString:
    """The quick search's table rows (staff/search.html), as the queue's: one escaped
    string, the ticket URL and the labels made once per page, not per cell."""
    page = _Page([])
    labels = {
        "ticket": html_of(gettext("Ticket")),
        "subject": html_of(gettext("Subject")),
        "from": html_of(gettext("From")),
        "status": html_of(gettext("Status")),
        "found": html_of(gettext("Found in")),
        "updated": html_of(gettext("Last updated")),
    }
    sources = {"subject": gettext("subject"), "message": gettext("messages")}
    other = gettext("name")
    none = gettext("email") if results.mode == "email" else gettext("number")
    rows = []
    for t in results.tickets:
        url = page.url % t.number
        matched = getattr(t, "matched", None) or []
        found = ", ".join(sources.get(m, other) for m in matched) if matched else none
        rows.append(
            html_format(
                '<tr style="--prio: {}">\n'
                '      <td data-label="{}"><a class="number" href="{}">#{}</a></td>\n'
                '      <td data-label="{}"><a href="{}">{}</a></td>\n'
                '      <td data-label="{}">{}</td>\n'
                '      <td data-label="{}">{}</td>\n'
                '      <td data-label="{}">{}</td>\n'
                '      <td data-label="{}">{}</td>\n'
                "    </tr>",
                t.priority.colour if t.priority else "",
                labels["ticket"],
                url,
                t.number,
                labels["subject"],
                url,
                t.subject,
                labels["from"],
                t.requester.display_name,
                labels["status"],
                status_name(t.status, for_client=False) if t.status else "",
                labels["found"],
                found,
                labels["updated"],
                # when_html escapes every value it writes
                mark_safe(display.when_html(t.updated_at)),  # noqa: S308
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 (each row made by format_html)
