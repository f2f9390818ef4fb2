import functools
from typing import Any, cast

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db.models import ForeignObjectRel, Model
from django.http import HttpRequest

from .models import User
from .rows import Quoter, RowQuery
from .selectors import user_find_by_login

# What every request reads about its user, loaded with it in one statement (get_user):
# the role (permissions), the panel preferences (language, page size) and the second
# factor (helpdesk.panel.access). Reverse one-to-ones: a missing row is cached as None.
PER_REQUEST = ("role", "panel_preferences", "panel_totp")


@functools.cache
def _per_request() -> tuple[RowQuery, tuple[Any, ...]]:
    """The user by key with PER_REQUEST in one statement: the role (a foreign key) and
    the panel's rows (reverse one-to-ones, looked up rather than imported: accounts does
    not import the panel). Built on first use, once the apps are loaded."""
    relations = tuple(User._meta.get_field(name) for name in PER_REQUEST)
    models: list[tuple[type[Model], str]] = [(User, "u")]
    # (model, alias, column, whether that column is the related row's, pointing at the user)
    joins: list[tuple[type[Model], str, str, bool]] = []
    for i, relation in enumerate(relations):
        model, alias = relation.related_model, f"r{i}"
        if not isinstance(model, type) or not issubclass(model, Model):
            raise TypeError(f"{relation} relates to no model")
        models.append((model, alias))
        if isinstance(relation, ForeignObjectRel):
            joins.append((model, alias, relation.field.name, True))
        else:
            joins.append((model, alias, relation.name, False))

    def on(q: Quoter, model: type[Model], alias: str, column: str, theirs: bool) -> str:
        if theirs:
            return f"{alias}.{q.column(model, column)} = u.{q.pk(User)}"
        return f"{alias}.{q.pk(model)} = u.{q.column(User, column)}"

    def tail(q: Quoter) -> str:
        joined = "".join(
            f" LEFT OUTER JOIN {q.table(join[0])} {join[1]} ON {on(q, *join)}" for join in joins
        )
        return f"FROM {q.table(User)} u{joined} WHERE u.{q.pk(User)} = %s"

    return RowQuery(models, tail), relations


class HelpdeskBackend(ModelBackend):
    """Sign in with an email address (anyone) or a username (agents only)."""

    def get_user(self, user_id: Any) -> User | None:
        """The request's user, with PER_REQUEST loaded (one statement, not four, written
        once per process: compiling it cost 1.3 ms of every request; accounts.rows)."""
        try:
            pk = User._meta.get_field("id").to_python(user_id)
        except ValidationError:
            return None
        if pk is None or not 0 < pk < 2**63:  # not a key the database can hold
            return None
        query, relations = _per_request()
        row = query.one([pk])
        if row is None:
            return None
        user = cast(User, row[0])
        for relation, related in zip(relations, row[1:], strict=True):
            relation.set_cached_value(user, related)  # None: "has none", no query later
            if related is not None and isinstance(relation, ForeignObjectRel):
                relation.field.set_cached_value(related, user)
        return user if self.user_can_authenticate(user) else None

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        login = username or kwargs.get("email")
        if not login or password is None:
            return None
        user = user_find_by_login(login)
        if user is None:
            # Spend the hashing time anyway so timing does not reveal known accounts.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user: Any) -> bool:
        """Active, and not locked by an agent with user.manage."""
        return super().user_can_authenticate(user) and not getattr(user, "is_locked", False)
