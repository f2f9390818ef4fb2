from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .models import User
from .selectors import user_find_by_login


class HelpdeskBackend(ModelBackend):
    """Sign in with an email address (anyone) or a username (agents only)."""

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
