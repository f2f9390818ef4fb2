from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.actors import SYSTEM
from accounts.apikeys import token_create
from accounts.audit import NamedCommand
from accounts.errors import DomainError
from accounts.selectors import user_find_by_login


class Command(NamedCommand):
    help = (
        "Create an API token for an agent (username or email) and print it on standard "
        "output (it is stored hashed and cannot be shown again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="API token")

    def handle(self, *args: Any, username: str, name: str, **opts: Any) -> None:
        user = user_find_by_login(username)
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            _, secret = token_create(actor=SYSTEM, user=user, name=name)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(secret)
