"""The outbox: after-commit work written in the change's own transaction.

See services.py and docs/architecture.md ("After-commit work: the outbox")."""
