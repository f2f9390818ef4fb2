"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS (or the key
derived from the current SECRET_KEY), so older keys can then be dropped."""

from typing import Any

from accounts.audit import NamedCommand
from accounts.services import secrets_reencrypt


class Command(NamedCommand):
    help = "Re-encrypts the stored secrets with the current first key (key rotation)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in secrets_reencrypt().items():
            self.stdout.write(f"{name}: {count}")
