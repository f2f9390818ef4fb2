"""`{% thread_entry e %}`: one thread entry of a ticket's or task's timeline, written in
Python (a 200-entry thread as an `{% include %}` per entry, each with some forty tags,
was most of the ticket view's time). `e` is prepared by the selectors (kind_label,
at_iso, at_short, at_title, display_html, files, split_url, entry_url, may_edit,
may_history, may_resend). `brief` (a merged ticket's separate thread): no channel,
sender or merge badges, no edit actions, no image previews. `actions=False` (a task's
thread): no "create a ticket" or "create a task" from the entry. The page's
`may_split`, `may_create_task`, `task_from_entry_url` and CSRF token come from the
template's context. `{% timeline_items items "event template" %}` writes a whole
timeline, its entries so and its events through a template.
"""

from html import escape

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import filesizeformat
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext, gettext_noop

from helpdesk.display import html_format

register = template.Library()

# marked for makemessages (gettext_noop), translated when shown (_labels)
LABELS = {
    "sender_check": gettext_noop("Sender authentication of this email"),
    "merged_title": gettext_noop("Came with a merged ticket"),
    "merged": gettext_noop("Merged"),
    "edited_title": gettext_noop("Edited"),
    "edited": gettext_noop("edited"),
    "history": gettext_noop("History"),
    "edit_resend": gettext_noop("Edit and resend"),
    "edit": gettext_noop("Edit"),
    "resend": gettext_noop("Resend"),
    "headers": gettext_noop("Email headers"),
    "split": gettext_noop("Create a ticket from this entry"),
    "task": gettext_noop("Create a task from this entry"),
}


def _labels(context) -> dict[str, str]:
    """LABELS translated once per render of the thread, not once per entry."""
    labels = context.render_context.get("panel_thread_labels")
    if labels is None:
        labels = {key: gettext(text) for key, text in LABELS.items()}
        context.render_context["panel_thread_labels"] = labels
    return labels


def _badges(e, t: dict[str, str]) -> SafeString:
    html = SafeString()
    if e.source != "web":
        html += html_format(' <span class="muted">{}</span>', e.get_source_display())
    check = getattr(e, "sender_check", "")
    if check:
        html += html_format(
            ' <span class="sender-check{}" title="{}">{}</span>',
            "" if getattr(e, "sender_verified", None) else " badge warn",
            t["sender_check"],
            check,
        )
    if e.original_thread_id:
        html += html_format(
            ' <span class="badge" title="{}">{}</span>',
            t["merged_title"],
            t["merged"],
        )
    return html


def _edits(context, e, brief: bool, t: dict[str, str]) -> SafeString:
    html = SafeString()
    if e.edited_at:
        when = date_filter(localtime(e.edited_at), "SHORT_DATETIME_FORMAT")
        html += html_format(
            ' <span class="badge edited" title="{} {}">{}</span>',
            t["edited_title"],
            when,
            t["edited"],
        )
        if getattr(e, "may_history", False) and not brief:
            html += html_format(
                ' <a class="entry-action" href="{}history/" data-action="history">{}</a>',
                e.entry_url,
                t["history"],
            )
    if brief:
        return html
    if getattr(e, "may_edit", False):
        label = t["edit_resend"] if e.kind == "response" else t["edit"]
        html += html_format(
            ' <a class="entry-action" href="{}edit/" data-action="edit">{}</a>', e.entry_url, label
        )
    if getattr(e, "may_resend", False):
        html += html_format(
            ' <form class="entry-action" method="post" action="{}resend/">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit" class="link" data-action="resend">{}</button></form>',
            e.entry_url,
            context.get("csrf_token", ""),
            t["resend"],
        )
    if getattr(e, "email_headers", None):
        html += html_format(
            ' <a class="entry-action" href="{}headers/" data-action="headers">{}</a>',
            e.entry_url,
            t["headers"],
        )
    return html


def _links(context, e, brief: bool, actions: bool, t: dict[str, str]) -> SafeString:
    html = SafeString()
    if actions and context.get("may_split"):
        html += html_format(
            ' <a class="entry-action" href="{}" data-action="split">{}</a>',
            getattr(e, "split_url", ""),
            t["split"],
        )
    if actions and context.get("may_create_task") and not brief:
        html += html_format(
            ' <a class="entry-action" href="{}?entry={}" data-action="create-task">{}</a>',
            context.get("task_from_entry_url", ""),
            e.pk,
            t["task"],
        )
    return html


def _files(e, brief: bool) -> str:
    if not getattr(e, "files", None):
        return ""
    items = []
    for a, url, is_image in e.files:
        preview = ""
        if not brief and is_image and not a.inline:
            preview = html_format(
                '<a href="{}"><img src="{}?inline=1" alt="{}" loading="lazy"></a> ',
                url,
                url,
                a.filename,
            )
        items.append(
            html_format(
                '<li>{}<a href="{}" download>{}</a> <span class="muted">({})</span></li>',
                preview,
                url,
                a.filename,
                filesizeformat(a.file.size),
            )
        )
    return html_format('<ul class="files">{}</ul>', mark_safe("".join(items)))  # noqa: S308


@register.simple_tag(takes_context=True)
def thread_entry(context, e, brief: bool = False, actions: bool = True) -> SafeString:
    # the entry's own texts are plain strings (its columns, and what selectors.dated
    # wrote), escaped here as html_format would; the parts below are SafeStrings
    poster = e.poster_name or (e.poster.display_name if e.poster else "") or "—"
    title = f' <span class="entry-title">{escape(e.title)}</span>' if e.title else ""
    kind_label = escape(e.kind_label)
    header = SafeString(
        f'<span class="kind">{kind_label}</span> <strong>{escape(poster)}</strong>{title}'
        f' <time datetime="{escape(e.at_iso)}" title="{escape(e.at_title)}">'
        f"{escape(e.at_short)}</time>"
    )
    t = _labels(context)
    if not brief:
        header += _badges(e, t)
    header += _edits(context, e, brief, t) + _links(context, e, brief, actions, t)
    body = getattr(e, "display_html", "")  # sanitized HTML, as the template's |safe
    return SafeString(
        f'<li class="entry entry-{escape(e.kind)}" id="entry-{int(e.pk)}">\n'
        f'  <article aria-label="{kind_label}">\n'
        f"    <header>{header}</header>\n"
        f'    <div class="body">{body}</div>\n    {_files(e, brief)}\n  </article>\n</li>\n'
    )


@register.simple_tag(takes_context=True)
def timeline_items(context, items, event_template: str, actions: bool = True) -> SafeString:
    """A timeline's items (selectors.timeline): each entry as `{% thread_entry %}` writes
    it, each event through `event_template` (as `{% include %}` would, with `ev`). One
    loop in Python: the template's loop, test and tag call per item cost as much as
    writing a 200-entry thread's entries."""
    event = context.template.engine.get_template(event_template)
    out = []
    for item in items:
        if item.kind == "entry":
            out.append(thread_entry(context, item.obj, actions=actions))
            continue
        with context.push(ev=item.obj):
            out.append(event.render(context))
    return mark_safe("".join(out))  # noqa: S308  # each part escaped as written
