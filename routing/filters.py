"""Ticket filters (osTicket's rules engine), run on every new ticket before routing.

`apply(data=..., sample=...)` evaluates the active filters for the ticket's channel in
order, applies the actions of each match to the mutable `data` of `ticket_open`, and
returns what matched (recorded on the ticket as a `filter_matched` event). A reject
action raises PermissionRefused with code "rejected". Comparisons ignore case, except
regular expressions, which run on the `regex` engine with a time limit so that a
pathological pattern cannot hang an import: a pattern that times out counts as no match.
"""

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import regex
from django.db.models import QuerySet

from accounts.errors import PermissionRefused

from .models import FilterAction, FilterRule, TicketFilter

log = logging.getLogger(__name__)
REGEX_TIMEOUT = 0.05  # seconds per rule
SOURCE_CHANNEL = {"web": "web", "phone": "web", "other": "web", "email": "email", "api": "api"}


@dataclass
class Sample:
    """What filter rules can look at, for a ticket about to be opened."""

    source: str
    email: str = ""
    name: str = ""
    subject: str = ""
    body: str = ""
    reply_to: str = ""
    reply_to_name: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    topic: str = ""
    organization: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def value(self, rule: FilterRule) -> str:
        if rule.field == FilterRule.Field.HEADER:
            return self.headers.get(rule.name.strip().lower(), "")
        if rule.field == FilterRule.Field.CUSTOM:
            return str(self.fields.get(rule.name.strip(), ""))
        return str(getattr(self, rule.field) or "")


def regex_error(pattern: str) -> str | None:
    """Why a pattern is refused, or None when it compiles."""
    try:
        regex.compile(pattern)
    except regex.error as exc:
        return str(exc)
    return None


def _search(pattern: str, value: str) -> bool:
    try:
        return regex.search(pattern, value, timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        log.warning("Filter regex %r timed out; counted as no match.", pattern)
        return False
    except regex.error:
        return False


def rule_matches(rule: FilterRule, sample: Sample) -> bool:
    value = sample.value(rule)
    op, wanted = rule.operator, rule.value
    if op == FilterRule.Operator.MATCH:
        return _search(wanted, value)
    if op == FilterRule.Operator.NOT_MATCH:
        return not _search(wanted, value)
    value, wanted = value.strip().casefold(), wanted.strip().casefold()
    tests: dict[str, Callable[[], bool]] = {
        FilterRule.Operator.EQUAL: lambda: value == wanted,
        FilterRule.Operator.NOT_EQUAL: lambda: value != wanted,
        FilterRule.Operator.CONTAINS: lambda: wanted in value,
        FilterRule.Operator.NOT_CONTAINS: lambda: wanted not in value,
        FilterRule.Operator.STARTS: lambda: value.startswith(wanted),
        FilterRule.Operator.ENDS: lambda: value.endswith(wanted),
    }
    return tests[op]()


def filter_matches(flt: TicketFilter, sample: Sample) -> bool:
    rules = list(flt.rules.all())
    if not rules:
        return False
    results = (rule_matches(r, sample) for r in rules)
    return all(results) if flt.match_all else any(results)


def active_filters(source: str) -> QuerySet[TicketFilter]:
    """The active filters for a source's channel, in order, with their rules and actions
    (an action's target loads when the action applies: tickets.config caches this list,
    and must not hold users)."""
    channel = SOURCE_CHANNEL.get(source, "web")
    return (
        TicketFilter.objects.filter(is_active=True, channel__in=[TicketFilter.Channel.ANY, channel])
        .prefetch_related("rules", "actions")
        .order_by("sort", "id")
    )


def matching(sample: Sample, filters: Iterable[TicketFilter] | None = None) -> list[TicketFilter]:
    """The filters that match, in order, up to the first one that stops processing."""
    found = []
    for flt in active_filters(sample.source) if filters is None else filters:
        if filter_matches(flt, sample):
            found.append(flt)
            if flt.stop_on_match:
                break
    return found


def _apply_action(action: FilterAction, data: dict[str, Any], *, rejecting: bool) -> str:
    """Apply one action to ticket_open's data; returns a short description for the event."""
    kind = action.kind
    if kind == FilterAction.Kind.REJECT:
        if rejecting:
            raise PermissionRefused(action.value or "Ticket denied by a filter.", code="rejected")
        return f"{kind} (not applied: opened by an agent)"
    if kind == FilterAction.Kind.NO_AUTORESPONSE:
        data["autorespond"] = False
        return kind
    if kind == FilterAction.Kind.CANNED:
        canned = copy.copy(action).canned  # loaded fresh, never onto a cached action
        data["canned_response"] = canned
        data["autorespond"] = False  # the canned reply replaces it, as in osTicket
        return f"{kind}: {canned}"
    if kind == FilterAction.Kind.COLLABORATORS:
        emails = [e.strip() for e in action.value.replace(";", ",").split(",") if "@" in e]
        data.setdefault("collaborator_emails", []).extend(emails)
        return f"{kind}: {', '.join(emails)}"
    target_key = {"agent": "assignee"}.get(kind, kind)
    # a copy: the target loads fresh onto it, never onto a cached action
    target = getattr(copy.copy(action), FilterAction.REQUIRED[kind])
    data[target_key] = target
    return f"{kind}: {target}"


def apply(
    *,
    data: dict[str, Any],
    sample: Sample,
    rejecting: bool = True,
    filters: Iterable[TicketFilter] | None = None,
) -> list[dict[str, Any]]:
    """Run the filters on `data`; returns [{"id", "name", "actions": [...]}] of those that matched.
    With `rejecting` off (an agent opens the ticket), a reject action is noted, not applied.
    `filters`: active_filters() for the sample's source, when the caller has them."""
    matched = []
    for flt in matching(sample, filters):
        done = [_apply_action(action, data, rejecting=rejecting) for action in flt.actions.all()]
        matched.append({"id": flt.pk, "name": flt.name, "actions": done})
    return matched


def explain(flt: TicketFilter, sample: Sample) -> dict[str, Any]:
    """For the admin's test page: each rule's outcome, the overall match, the actions."""
    rules = [(rule, rule_matches(rule, sample)) for rule in flt.rules.all()]
    return {
        "rules": rules,
        "matches": filter_matches(flt, sample),
        "actions": [str(a) for a in flt.actions.all()],
        "channel_applies": flt.channel
        in (TicketFilter.Channel.ANY, SOURCE_CHANNEL.get(sample.source, "web")),
    }
