"""Django's database sessions (SESSION_ENGINE), with the one read every request makes
written once per process instead of compiled by the ORM per request (1.3 ms of each
panel page; accounts.rows). Saving, cycling and deleting are Django's own."""

from typing import cast

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import connections
from django.utils import timezone

from .rows import RowQuery

_LIVE = RowQuery(
    [(Session, "s")],
    lambda q: (
        f"FROM {q.table(Session)} s WHERE s.{q.pk(Session)} = %s"
        f" AND s.{q.column(Session, 'expire_date')} > %s"
    ),
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        """The unexpired session row of this key, or None (the key forgotten), as
        Django's `_get_session_from_db` answers."""
        using = Session.objects.db
        now = connections[using].ops.adapt_datetimefield_value(timezone.now())
        row = _LIVE.one([self.session_key, now], using=using)
        if row is None:
            self._session_key = None
            return None
        return cast(Session, row[0])
