"""Who acts: a User (agent or client), an API key, or the system itself.

Every service takes `actor=` explicitly. The system actor is used by cron jobs,
filters and the mail channel when no person is behind a change.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SystemActor:
    label: str = "system"
    is_system: bool = True
    is_agent: bool = False
    is_authenticated: bool = False
    pk = None
    id = None

    def __str__(self):
        return self.label


SYSTEM = SystemActor()


def is_system(actor) -> bool:
    return getattr(actor, "is_system", False) is True


def is_agent(actor) -> bool:
    return not is_system(actor) and getattr(actor, "is_agent", False) and actor.is_active


def is_client(actor) -> bool:
    return (
        not is_system(actor)
        and getattr(actor, "is_authenticated", False)
        and not getattr(actor, "is_agent", False)
        and getattr(actor, "is_active", False)
    )


def actor_label(actor) -> str:
    if actor is None:
        return ""
    if is_system(actor):
        return actor.label
    return str(getattr(actor, "display_name", actor))


def actor_user(actor):
    """The User behind an actor, or None for the system."""
    if actor is None or is_system(actor):
        return None
    return actor if getattr(actor, "_meta", None) and actor._meta.label == "accounts.User" else None
