"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS (or the key
derived from the current SECRET_KEY), so older keys can then be dropped."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from accounts.crypto import EncryptedTextField, rewrite_column, rotate


class Command(BaseCommand):
    help = "Re-encrypts the stored secrets with the current first key (key rotation)."

    def handle(self, *args, **options):
        with transaction.atomic():
            for model in apps.get_models():
                for field in model._meta.concrete_fields:
                    if isinstance(field, EncryptedTextField):
                        table = model._meta.db_table
                        count = rewrite_column(connection, table, field.column, rotate)
                        self.stdout.write(f"{model._meta.label}.{field.name}: {count}")
