"""Ticket search: quick search (number, email, name, subject, message text) and the
keyword part of advanced searches and saved queues.

PostgreSQL: full-text search with `websearch_to_tsquery` over functional GIN indexes
(migration 0002) on the ticket subject, the entries' text and the requester's name,
ranked with `ts_rank`. Each source is asked for its most recent matches visible to the
agent (at most CANDIDATES each, so a word found in half the tickets costs no more than
a rare one), then the candidates are ranked: subject matches first by rank, then by
recency. SQLite (no full-text search): the same steps with case-insensitive LIKE.
The design is in docs/panel.md.
"""

import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import Exists, Func, OuterRef, Q, QuerySet, Value

from accounts.compiled import KeptSelect, compiled_once
from accounts.models import User
from accounts.selectors import users_with_email
from helpdesk import apart
from helpdesk.display import shown
from threads.models import Collaborator, ThreadEntry
from tickets.config import Snapshot
from tickets.models import Ticket
from tickets.selectors import (
    agent_tickets,
    readable_scope,
    scope_shape,
    scope_with,
    tickets_readable_by,
    with_configuration,
)

CONFIG = "english"
CANDIDATES = 200
RESULTS = 50
# the joins of a page of ticket rows; their department, topic, priority and status come
# from the configuration snapshot (tickets.selectors.with_configuration): fewer tables
# for PostgreSQL to plan
ROW_JOINS = ("requester", "assignee", "team")
# of its people a row shows the name (User.display_name: name, username or email); their
# other columns are neither compiled nor read (with_row_joins)
ROW_PERSON = ("id", "name", "username", "email")
ROW_UNREAD = tuple(
    f"{person}__{field.name}"
    for person in ("requester", "assignee")
    for field in User._meta.concrete_fields
    if field.name not in ROW_PERSON
)


def with_row_joins(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Tickets as a page of rows reads them: ROW_JOINS joined, without ROW_UNREAD."""
    return tickets.select_related(*ROW_JOINS).defer(*ROW_UNREAD)


class EnglishVector(Func):
    """to_tsvector over one text column, exactly as the GIN indexes are built."""

    template = "to_tsvector('english'::regconfig, COALESCE(%(expressions)s, ''))"
    output_field = SearchVectorField()


class SimpleVector(Func):
    template = "to_tsvector('simple'::regconfig, COALESCE(%(expressions)s, ''))"
    output_field = SearchVectorField()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _tsquery(text: str, config: str = CONFIG) -> SearchQuery:
    return SearchQuery(text, search_type="websearch", config=config)


@dataclass
class Results:
    text: str
    exact: Ticket | None = None  # a ticket whose number is the query
    tickets: list = field(default_factory=list)
    truncated: bool = False  # a source had more matches than CANDIDATES
    mode: str = "text"  # "number", "email" or "text"


def _clean(text: str) -> str:
    return " ".join((text or "").split())[:200]


def looks_like_email(text: str) -> bool:
    return bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text))


def keyword_q(text: str) -> Q:
    """A filter for tickets matching the words (subject, messages, requester name)."""
    text = _clean(text)
    if not text:
        return Q()
    if is_postgres():
        query = _tsquery(text)
        entries: QuerySet[ThreadEntry] = ThreadEntry.objects.annotate(
            v=EnglishVector("body")
        ).filter(v=query, thread_id=OuterRef("thread_id"))
        names = User.objects.annotate(v=SimpleVector("name")).filter(v=_tsquery(text, "simple"))
        return (
            Q(
                pk__in=Ticket.objects.annotate(v=EnglishVector("subject"))
                .filter(v=query)
                .values("pk")
            )
            | Exists(entries)
            | Q(requester__in=names.values("pk"))
        )
    entries = ThreadEntry.objects.filter(body__icontains=text, thread_id=OuterRef("thread_id"))
    return Q(subject__icontains=text) | Exists(entries) | Q(requester__name__icontains=text)


def quick_search(*, user, text: str, snapshot: Snapshot | None = None) -> Results:
    """`snapshot`: the request's configuration (read here when not given); the rows'
    department, priority and status come from it rather than from joins (one statement
    reads the settings row when the request has not yet: 0.4 ms, against 4 ms of
    planning saved). For an agent whose readable tickets are their scope's
    (tickets.selectors.readable_scope), the number's and the words' statements are
    compiled once per process and scope (accounts.compiled.KeptSelect)."""
    text = _clean(text)
    results = Results(text=text)
    if not text:
        return results
    scope = readable_scope(user)
    # search.all reaches every department; the condition compiled once for the sources
    visible = _Visible(user)
    number = text.lstrip("#")
    # the number first on its own (a unique index probe, planned in no time); the row
    # with its related rows only when there is one
    if scope is not None:
        exact = next(
            iter(_KEPT_NUMBER(*scope_shape(scope), agent_id=scope.pk, number=number)), None
        )
    else:
        exact = visible().filter(number=number).values_list("pk", flat=True).first()
    if exact is not None:
        results.exact = with_row_joins(Ticket.objects.all()).get(pk=exact)
        with_configuration([results.exact], snapshot)
        results.mode = "number"
        results.tickets = [results.exact]
        return results
    if looks_like_email(text):
        results.mode = "email"
        return _by_email(visible(), text, results, snapshot)
    return _by_text(visible, text, results, snapshot, scope)


class _Visible:
    """The tickets `user` may read, their condition compiled once, when first asked for."""

    def __init__(self, user) -> None:
        self.user = user
        self.tickets: QuerySet[Ticket] | None = None

    def __call__(self) -> QuerySet[Ticket]:
        if self.tickets is None:
            self.tickets = compiled_once(tickets_readable_by(user=self.user))
        return self.tickets


_KEPT_NUMBER = KeptSelect(
    lambda assigned_only, departments, agent_id, number: (
        agent_tickets(scope_with(assigned_only, departments, agent_id))
        .filter(number=number)
        .values_list("pk", flat=True)[:1]
    )
)


def _recent(qs: QuerySet, limit: int) -> list[int]:
    return list(qs.order_by("-updated_at", "-pk").values_list("pk", flat=True)[: limit + 1])


def _by_email(
    visible: QuerySet, email: str, results: Results, snapshot: Snapshot | None = None
) -> Results:
    people = users_with_email(email).values("pk")
    collab = Collaborator.objects.filter(
        thread_id=OuterRef("thread_id"), user__in=people, is_active=True
    )
    ids = _recent(visible.filter(Q(requester__in=people) | Exists(collab)), RESULTS)
    results.truncated = len(ids) > RESULTS
    results.tickets = with_configuration(
        list(
            with_row_joins(Ticket.objects.filter(pk__in=ids[:RESULTS])).order_by(
                "-updated_at", "-pk"
            )
        ),
        snapshot,
    )
    return results


def worded(visible: QuerySet, field: str, text: str) -> tuple[QuerySet, QuerySet]:
    """Of `visible` (tickets or tasks), those whose `field` has the words of `text`, and
    those whose thread's text has them (PostgreSQL: full-text, English stemming, the
    entries' GIN index of panel migration 0002; SQLite: case-insensitive LIKE)."""
    entries: QuerySet[ThreadEntry]
    if is_postgres():
        query = _tsquery(text)
        by_field = visible.annotate(v=EnglishVector(field)).filter(v=query)
        entries = ThreadEntry.objects.annotate(v=EnglishVector("body")).filter(v=query)
    else:
        by_field = visible.filter(**{f"{field}__icontains": text})
        entries = ThreadEntry.objects.filter(body__icontains=text)
    return by_field, visible.filter(Exists(entries.filter(thread_id=OuterRef("thread_id"))))


ORDER = ("-updated_at", "-pk")


def candidate_parts(
    sources: dict[str, QuerySet], rank: SearchRank | None, limit: int
) -> list[QuerySet]:
    """PostgreSQL: each source's own statement (ordered and limited to `limit` + 1: to
    CANDIDATES + 1), each row tagged with its source and `rank` computed for it (0.0
    without one)."""
    return [
        qs.annotate(found_by=Value(i), found_rank=rank if rank is not None else Value(0.0))
        .order_by(*ORDER)
        .values_list("found_by", "pk", "updated_at", "found_rank")[: limit + 1]
        for i, qs in enumerate(sources.values())
    ]


def recent_candidates(
    sources: dict[str, QuerySet], rank: SearchRank | None = None, slowest: str | None = None
) -> tuple[dict[int, list[str]], dict[int, tuple], bool]:
    """The CANDIDATES most recently updated rows of each source (querysets of one model):
    ({pk: the sources that found it}, {pk: (updated_at, rank)}, whether a source had more).

    PostgreSQL: the sources' `candidate_parts`, read side by side when reads may run
    apart (helpdesk.apart: each source on its own connection, `slowest` in the
    request's, so the database reads them at once), else joined by UNION ALL in one
    statement. SQLite, which allows no LIMIT inside a compound statement: one statement
    per source."""
    names = list(sources)
    if is_postgres():
        parts = candidate_parts(sources, rank, CANDIDATES)
        if len(parts) > 1 and apart.enabled():
            here = names.index(slowest) if slowest in names else 0
            rows = side_by_side([partial(list, part) for part in parts], here)
        elif len(parts) > 1:
            rows = list(parts[0].union(*parts[1:], all=True))
        else:
            rows = list(parts[0])
    else:
        rows = [
            (i, pk, at, 0.0)
            for i, qs in enumerate(sources.values())
            for pk, at in qs.order_by(*ORDER).values_list("pk", "updated_at")[: CANDIDATES + 1]
        ]
    return gathered(names, rows)


def gathered(
    names: list[str], rows: list[tuple]
) -> tuple[dict[int, list[str]], dict[int, tuple], bool]:
    """recent_candidates' answer from the rows of its sources' statements."""
    per_source: dict[str, list[tuple]] = {name: [] for name in names}
    for i, pk, at, score in rows:
        per_source[names[i]].append((pk, at, score))
    found: dict[int, list[str]] = {}
    keys: dict[int, tuple] = {}
    truncated = False
    for name, hits in per_source.items():
        hits.sort(key=lambda h: (h[1], h[0]), reverse=True)  # the statement's own order
        truncated = truncated or len(hits) > CANDIDATES
        for pk, at, score in hits[:CANDIDATES]:
            found.setdefault(pk, []).append(name)
            keys[pk] = (at, score or 0.0)
    return found, keys, truncated


def side_by_side(reads: Sequence[Callable[[], list]], here: int) -> list[tuple]:
    """Every read's rows: read `here` in the request, the others apart (a read apart
    that failed is read again here)."""
    started: dict[int, Future[list]] = {
        i: apart.submit(read) for i, read in enumerate(reads) if i != here
    }
    rows = list(reads[here]())
    for i, future in started.items():
        got = apart.result(future)
        rows += got if got is not None else reads[i]()
    return rows


def ticket_rows(pks: list[int]) -> list[Ticket]:
    """The tickets of `pks` (any order) as a page of rows reads them (with_row_joins):
    the statement for each number of them, up to RESULTS, compiled once per process
    (accounts.compiled.KeptSelect). No visibility here: `pks` are what the agent's
    statements found."""
    if not pks:
        return []
    if len(pks) > RESULTS:
        return list(with_row_joins(Ticket.objects.filter(pk__in=pks)))
    return _KEPT_ROWS(len(pks), **{f"pk{i}": pk for i, pk in enumerate(pks)})


_KEPT_ROWS = KeptSelect(
    lambda count, **pks: with_row_joins(
        Ticket.objects.filter(pk__in=[pks[f"pk{i}"] for i in range(count)])
    ).order_by()
)


TEXT_SOURCES = ("subject", "message", "name")


def text_sources(visible: QuerySet, text: str) -> tuple[dict[str, QuerySet], SearchRank | None]:
    """Of `visible`, the tickets whose subject, messages or requester's name have the
    words (TEXT_SOURCES), and the rank of a subject's match (PostgreSQL)."""
    by_subject, by_message = worded(visible, "subject", text)
    names: QuerySet[User]
    rank = None
    if is_postgres():
        names = User.objects.annotate(v=SimpleVector("name")).filter(v=_tsquery(text, "simple"))
        rank = SearchRank(EnglishVector("subject"), _tsquery(text))
    else:
        names = User.objects.filter(name__icontains=text)
    sources = {
        "subject": by_subject,
        "message": by_message,
        "name": visible.filter(requester__in=names.values("pk")),
    }
    return sources, rank


def _text_part(
    assigned_only: bool,
    departments: frozenset[int],
    limit: int,
    index: int,
    agent_id: int,
    text: str,
) -> QuerySet:
    visible = agent_tickets(scope_with(assigned_only, departments, agent_id))
    return candidate_parts(*text_sources(visible, text), limit)[index]


def _text_union(
    assigned_only: bool, departments: frozenset[int], limit: int, agent_id: int, text: str
) -> QuerySet:
    visible = agent_tickets(scope_with(assigned_only, departments, agent_id))
    first, *others = candidate_parts(*text_sources(visible, text), limit)
    return first.union(*others, all=True)


_KEPT_TEXT_PART = KeptSelect(_text_part)
_KEPT_TEXT_UNION = KeptSelect(_text_union)


def _by_text(
    visible: Callable[[], QuerySet],
    text: str,
    results: Results,
    snapshot: Snapshot | None = None,
    scope=None,
) -> Results:
    # the candidates with their ranking keys (in one statement, or one per source read
    # side by side); then the rows shown (RESULTS of up to 3 x CANDIDATES), not every
    # candidate with its related rows
    if scope is not None and is_postgres():  # compiled once per process and scope
        names, shape = list(TEXT_SOURCES), scope_shape(scope)
        if apart.enabled():
            reads = [
                partial(_KEPT_TEXT_PART, *shape, CANDIDATES, i, agent_id=scope.pk, text=text)
                for i in range(len(names))
            ]
            # each ticket's entries, their text parsed: the slowest, read here
            candidates = side_by_side(reads, names.index("message"))
        else:
            candidates = _KEPT_TEXT_UNION(*shape, CANDIDATES, agent_id=scope.pk, text=text)
        found, keys, results.truncated = gathered(names, candidates)
    else:
        found, keys, results.truncated = recent_candidates(
            *text_sources(visible(), text), slowest="message"
        )
    ranked = sorted(
        found,
        key=lambda pk: ("subject" in found[pk], keys[pk][1], len(found[pk]), keys[pk][0], pk),
        reverse=True,
    )
    results.truncated = results.truncated or len(ranked) > RESULTS
    shown_pks = ranked[:RESULTS]
    rows = {ticket.pk: ticket for ticket in ticket_rows(shown_pks)}
    with_configuration(list(rows.values()), snapshot)
    for pk in shown_pks:
        if pk in rows:  # not deleted meanwhile
            shown(rows[pk], matched=found[pk], rank=keys[pk][1])
            results.tickets.append(rows[pk])
    return results
