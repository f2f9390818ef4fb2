from collections.abc import Iterable
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create
from accounts.audit import NamedCommand
from accounts.errors import DomainError
from routing.models import Department


class Command(NamedCommand):
    help = (
        "Create an API key bound to source addresses and print it on standard output "
        "(it is stored hashed and cannot be shown again), or register an existing "
        "osTicket key with --key. A key that creates tickets and names no department "
        "acts for the whole helpdesk, as osTicket's keys do."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--ip",
            action="append",
            required=True,
            help="An address or CIDR network the key may be used from (repeatable).",
        )
        parser.add_argument("--name", default="API key")
        parser.add_argument(
            "--key",
            metavar="VALUE",
            help=(
                "Register this existing osTicket key (32 hexadecimal digits, in either "
                "case) instead of making a new one, so integrations keep their key."
            ),
        )
        parser.add_argument("--can-create-tickets", action="store_true")
        parser.add_argument("--can-exec-cron", action="store_true")
        parser.add_argument(
            "--mail-relay",
            action="store_true",
            help=(
                "Believe the Authentication-Results of the raw mail the key posts to "
                "/api/tickets.email (only for a mail server of ours that removes forged "
                "ones); without it every message the key posts is unverified."
            ),
        )
        parser.add_argument(
            "--read-department",
            action="append",
            default=[],
            metavar="NAME",
            help="A department whose tickets the key may read (repeatable).",
        )
        parser.add_argument(
            "--write-department",
            action="append",
            default=[],
            metavar="NAME",
            help=(
                "A department whose tickets the key may change, and where tickets it opens "
                "may be routed (repeatable; writing implies reading)."
            ),
        )

    def _departments(self, names: Iterable[str]) -> list[Department]:
        found = list(Department.objects.filter(name__in=names))
        missing = sorted(set(names) - {d.name for d in found})
        if missing:
            raise CommandError(f"Unknown departments: {', '.join(missing)}.")
        return found

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            key, secret = api_key_create(
                actor=SYSTEM,
                name=opts["name"],
                allowed_ips=opts["ip"],
                can_create_tickets=opts["can_create_tickets"],
                can_exec_cron=opts["can_exec_cron"],
                is_mail_relay=opts["mail_relay"],
                read_departments=self._departments(opts["read_department"]),
                write_departments=self._departments(opts["write_department"]),
                secret=opts["key"],
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        scope = (
            "the whole helpdesk"
            if key.all_departments
            else "its departments"
            if opts["read_department"] or opts["write_department"]
            else "no department (no ticket)"
        )
        self.stderr.write(f"Scope: {scope}.")
        self.stdout.write(secret)
