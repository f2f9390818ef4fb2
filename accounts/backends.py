from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .models import User
from .selectors import user_find_by_login

# What every request reads about its user, loaded with it in one statement (get_user):
# the role (permissions), the panel preferences (language, page size) and the second
# factor (helpdesk.panel.access). Reverse one-to-ones: a missing row is cached as None.
PER_REQUEST = ("role", "panel_preferences", "panel_totp")


class HelpdeskBackend(ModelBackend):
    """Sign in with an email address (anyone) or a username (agents only)."""

    def get_user(self, user_id: Any) -> User | None:
        """The request's user, with PER_REQUEST loaded (one statement, not four)."""
        try:
            user = User._default_manager.select_related(*PER_REQUEST).get(pk=user_id)
        except User.DoesNotExist:
            return None
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
