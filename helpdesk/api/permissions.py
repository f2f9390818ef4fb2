"""Who may call which endpoint. Object-level decisions stay in the services and the
selectors; these only sort callers by kind (default: deny)."""

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.actors import Actor, ApiKeyActor, is_agent, is_api_key
from accounts.errors import NotVisible
from accounts.models import User


def actor_of(request: Request | HttpRequest) -> Actor:
    """The caller as the services take it (`actor=`): an agent, a client or an API key.
    Every view lets only those in (authentication, then its permission classes; the
    default is IsAuthenticated), so nobody else reaches a service: refused as 401."""
    user: object = request.user
    if isinstance(user, User | ApiKeyActor):
        return user
    raise exceptions.NotAuthenticated()


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


class StaffElseNotFound(BasePermission):
    """Agents and API keys; for anyone else signed in (clients) the endpoint does not
    exist: the answer of an unknown route (tasks never reach the portal's users)."""

    def has_permission(self, request, view):
        if not _authenticated(request.user):
            return False
        if not (is_agent(request.user) or is_api_key(request.user)):
            raise NotVisible("No such endpoint in /api/v1/.", code="not_found")
        return True


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
