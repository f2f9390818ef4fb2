"""Who is calling: an agent token (Bearer), an API key (X-API-Key) or a session.

Default deny: without one of these the API answers 401. A key is honoured only from
the addresses it is bound to; a revoked or expired token is refused.
"""

import datetime as dt

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.actors import is_agent
from accounts.apikeys import actor_for_key, address_allowed, api_key_find, token_find
from accounts.models import AgentToken, ApiKey
from accounts.throttle import client_ip
from helpdesk.panel.access import second_factor_state

TOUCH_EVERY = dt.timedelta(minutes=1)


def _touch(model, pk, last_used_at) -> None:
    """Record use at most once a minute (no write per request)."""
    now = timezone.now()
    if last_used_at is None or now - last_used_at > TOUCH_EVERY:
        model.objects.filter(pk=pk).update(last_used_at=now)


class AgentTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: acts as the token's agent."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = token_find(secret)
        if token is None or not token.is_usable:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        user = token.user
        if not (user.is_active and user.is_agent):
            raise exceptions.AuthenticationFailed("The token's agent is not active.")
        _touch(AgentToken, token.pk, token.last_used_at)
        return user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`X-API-Key: <key>` from an address the key is bound to: acts as the key."""

    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        secret = request.META.get(self.header)
        if secret is None:
            return None
        key = api_key_find(secret.strip())
        if key is None or not address_allowed(key, client_ip(request)):
            raise exceptions.AuthenticationFailed("Valid API key required.")
        if not key.is_active:
            raise exceptions.AuthenticationFailed("API key not active.")
        _touch(ApiKey, key.pk, key.last_used_at)
        return actor_for_key(key), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browsable API: a signed-in agent or client, with CSRF protection. An agent's
    session counts only once it passed the panel's second factor (when the agent has one
    or the panel requires it): a password alone never reaches the API."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if (
            result is not None
            and is_agent(result[0])
            and second_factor_state(request._request) != "ok"
        ):
            return None  # as if not signed in: 401, and no token can be minted
        return result
