"""Who may call which endpoint. Object-level decisions stay in the services and the
selectors; these only sort callers by kind (default: deny)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.actors import is_agent, is_api_key


def _authenticated(user) -> bool:
    return bool(user and getattr(user, "is_authenticated", False))


class IsCaller(BasePermission):
    """Any authenticated caller: an agent, a client or an API key."""

    def has_permission(self, request, view):
        return _authenticated(request.user)


class IsStaffCaller(BasePermission):
    """Agents and API keys (not clients)."""

    def has_permission(self, request, view):
        return is_agent(request.user) or is_api_key(request.user)


class ReadStaffWriteAdmin(BasePermission):
    """Reading for agents and API keys; writing for helpdesk admins."""

    def has_permission(self, request, view):
        user = request.user
        if request.method in SAFE_METHODS:
            return is_agent(user) or is_api_key(user)
        return is_agent(user) and user.is_helpdesk_admin


class IsAgent(BasePermission):
    def has_permission(self, request, view):
        return is_agent(request.user)


class IsAdmin(BasePermission):
    def has_permission(self, request, view):
        return is_agent(request.user) and request.user.is_helpdesk_admin
