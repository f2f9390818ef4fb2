"""People: agents (departments, roles, extra access, teams, signatures, time zones,
passwords), teams, organizations with their domains and sharing, users with every
address they have.

One person is one account here: an osTicket user whose address is an agent's (or a
user's already imported) is mapped to that account rather than duplicated, and keeps
the agent's password.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from accounts.models import (
    DepartmentAccess,
    Organization,
    OrganizationDomain,
    Role,
    User,
    UserEmail,
)
from routing.models import Department, Team

from . import keys
from .base import Context, Skip, upsert
from .config import _all, by_name, config_values, role_permissions
from .source import Row

ZONES = zoneinfo.available_timezones()
LOCKED = 0x0002  # osTicket's user account status bit


def _zone(value: Any) -> str:
    return value if value in ZONES else "UTC"


def _fallback(ctx: Context, model: type[Any], kind: str, name: str) -> int | None:
    """A department or role for an agent whose own is not imported (reported)."""
    cached = ctx.cache.get(f"fallback-{kind}")
    if cached is None:
        row = model.objects.filter(name=name).first() or model.objects.order_by("pk").first()
        cached = ctx.cache[f"fallback-{kind}"] = row.pk if row else 0
    return cached or None


def agents(ctx: Context) -> None:
    columns = [
        "dept_id",
        "role_id",
        "username",
        "firstname",
        "lastname",
        "passwd",
        "backend",
        "email",
        "phone",
        "signature",
        "timezone",
        "isactive",
        "isadmin",
        "onvacation",
        "assigned_only",
        "permissions",
        "created",
    ]
    for batch in ctx.source.batches("staff", columns, key="staff_id", size=ctx.options.batch_size):
        _agents(ctx, batch)
    _two_factor(ctx)


def _agents(ctx: Context, rows: list[Row]) -> None:
    dept_map, role_map = ctx.maps.load("department"), ctx.maps.load("role")
    agent_map = ctx.maps.load("agent")
    accesses: dict[int, list[Row]] = {}
    for access in ctx.source.rows_in(
        "staff_dept_access",
        ["dept_id", "role_id", "flags"],
        "staff_id",
        [r["staff_id"] for r in rows],
    ):
        accesses.setdefault(access["staff_id"], []).append(access)
    for row in rows:
        row["access"] = repr(accesses.get(row["staff_id"], []))
    taken = set(
        User.objects.filter(
            username__in=[r["username"] for r in rows if r["username"]]
        ).values_list("username", "pk")
    )

    def build(row: Row) -> dict[str, Any]:
        email = (row["email"] or "").strip().lower()
        if "@" not in email:
            raise Skip("an agent without an email address")
        dept = dept_map.get(str(row["dept_id"]))
        role = role_map.get(str(row["role_id"]))
        if dept is None:
            ctx.report.warn(
                "agent's department not imported: put in the default one", row["staff_id"]
            )
        if role is None:
            ctx.report.warn("agent's role not imported: given View only", row["staff_id"])
        password, usable = keys.password(row["passwd"])
        if row["backend"] and row["backend"] not in ("local", ""):
            ctx.report.warn(
                f"agent signs in through osTicket backend {row['backend']!r}: "
                "needs a password here (reset)",
                row["username"],
            )
        elif not usable:
            ctx.report.warn("agent password cannot be carried over: reset needed", row["username"])
        mine = agent_map.get(str(row["staff_id"]))
        username = (row["username"] or "")[:64] or None
        if username and any(
            u == username and (mine is None or pk != mine.object_id) for u, pk in taken
        ):
            ctx.report.warn("agent username already used here: signs in by email", username)
            username = None
        name = " ".join(p for p in (row["firstname"], row["lastname"]) if p).strip()
        return {
            "email": email,
            "username": username,
            "name": name[:128],
            "is_agent": True,
            "is_active": bool(row["isactive"]),
            "is_helpdesk_admin": bool(row["isadmin"]),
            "department_id": dept.object_id if dept else _fallback(ctx, Department, "dept", ""),
            "role_id": role.object_id if role else _fallback(ctx, Role, "role", "View only"),
            "permissions": role_permissions(ctx, row["permissions"], agent_wide=True),
            "on_vacation": bool(row["onvacation"]),
            "assigned_only": bool(row["assigned_only"]),
            "signature": row["signature"] or "",
            "timezone": _zone(row["timezone"]),
            "phone": (row["phone"] or "")[:32],
            "password": password,
            "date_joined": ctx.when(row["created"]) or ctx.now,
        }

    def adopt(values: dict[str, Any]) -> Any:
        return User.objects.filter(email__iexact=values["email"]).first()

    def after(written: list[tuple[Row, Any]]) -> None:
        DepartmentAccess.objects.filter(agent__in=[u for _, u in written]).delete()
        new = []
        for row, user in written:
            for access in accesses.get(row["staff_id"], []):
                dept = dept_map.get(str(access["dept_id"]))
                role = role_map.get(str(access["role_id"]))
                if dept is None or dept.object_id == user.department_id:
                    continue
                new.append(
                    DepartmentAccess(
                        agent=user,
                        department_id=dept.object_id,
                        role_id=role.object_id if role else user.role_id,
                        alerts=bool(int(access["flags"] or 0) & 0x1),
                    )
                )
        DepartmentAccess.objects.bulk_create(new)

    upsert(ctx, "agent", User, rows, build, key="staff_id", adopt=adopt, after=after)


def _two_factor(ctx: Context) -> None:
    """osTicket keeps second-factor secrets encrypted with its own key: they cannot come
    over. Agents who had one are named, to enrol again."""
    if not ctx.source.has("config"):
        return
    rows = ctx.source.query(
        f"SELECT namespace, value FROM {ctx.source.table('config')}"
        " WHERE namespace LIKE 'staff.%%' AND `key` = 'default_2fa' AND value <> ''"
    )
    for row in rows:
        ctx.report.warn(
            "agent had two-factor sign-in in osTicket: enrol again here",
            row["namespace"].removeprefix("staff."),
        )


def teams(ctx: Context) -> None:
    rows = _all(ctx, "team", ["lead_id", "flags", "name"], key="team_id")
    members: dict[int, list[int]] = {}
    if rows:
        for m in ctx.source.rows_in(
            "team_member", ["staff_id"], "team_id", [r["team_id"] for r in rows]
        ):
            members.setdefault(m["team_id"], []).append(m["staff_id"])
    agent_map = ctx.maps.load("agent")
    for row in rows:
        row["members"] = sorted(members.get(row["team_id"], []))

    def build(row: Row) -> dict[str, Any]:
        flags = int(row["flags"] or 0)
        lead = agent_map.get(str(row["lead_id"] or 0))
        return {
            "name": row["name"][:128],
            "lead_id": lead.object_id if lead else None,
            "is_active": bool(flags & 0x1),
            "alerts_enabled": not flags & 0x2,
        }

    def after(written: list[tuple[Row, Any]]) -> None:
        for row, team in written:
            ids = [agent_map[str(s)].object_id for s in row["members"] if str(s) in agent_map]
            team.members.set(ids)

    upsert(ctx, "team", Team, rows, build, key="team_id", adopt=by_name(Team), after=after)


def organizations(ctx: Context) -> None:
    for batch in ctx.source.batches(
        "organization", ["name", "status", "domain", "manager"], size=ctx.options.batch_size
    ):
        _organizations(ctx, batch)


# osTicket's Organization status bits (include/class.organization.php)
COLLAB_ALL_MEMBERS, COLLAB_PRIMARY_CONTACT, ASSIGN_AGENT_MANAGER = 0x0001, 0x0002, 0x0004
SHARE_PRIMARY_CONTACT, SHARE_EVERYBODY = 0x0008, 0x0010
PRIMARY_ORG_CONTACT = 0x0001  # User status bit (include/class.user.php)


def _sharing(status: int) -> str:
    if status & SHARE_EVERYBODY:
        return Organization.Sharing.ALL
    if status & SHARE_PRIMARY_CONTACT:
        return Organization.Sharing.PRIMARY
    return Organization.Sharing.REQUESTER


def _organizations(ctx: Context, rows: list[Row]) -> None:
    agent_map, team_map = ctx.maps.load("agent"), ctx.maps.load("team")

    def manager(row: Row) -> dict[str, Any]:
        """osTicket's `manager`: "s<staff id>" or "t<team id>"."""
        value = str(row["manager"] or "")
        found = {"s": agent_map, "t": team_map}.get(value[:1], {}).get(value[1:])
        if value and found is None:
            ctx.report.warn("organization account manager not imported: dropped", row["name"])
        return {
            "manager_agent_id": found.object_id if found and value[0] == "s" else None,
            "manager_team_id": found.object_id if found and value[0] == "t" else None,
        }

    def build(row: Row) -> dict[str, Any]:
        status = int(row["status"] or 0)
        if not row["name"]:
            raise Skip("an organization without a name")
        return {
            "name": row["name"][:128],
            "sharing": _sharing(status),
            "collab_all_members": bool(status & COLLAB_ALL_MEMBERS),
            "collab_primary_contacts": bool(status & COLLAB_PRIMARY_CONTACT),
            "auto_assign_manager": bool(status & ASSIGN_AGENT_MANAGER),
            **manager(row),
        }

    def after(written: list[tuple[Row, Any]]) -> None:
        OrganizationDomain.objects.filter(organization__in=[o for _, o in written]).delete()
        wanted: dict[str, Any] = {}
        for row, org in written:
            for domain in (row["domain"] or "").replace(";", ",").split(","):
                domain = domain.strip().lower().lstrip("@")
                if "." in domain and " " not in domain:
                    wanted.setdefault(domain[:253], org)
        taken = set(
            OrganizationDomain.objects.filter(domain__in=wanted).values_list("domain", flat=True)
        )
        for domain in taken:
            ctx.report.warn("organization domain already taken here: dropped", domain)
        OrganizationDomain.objects.bulk_create(
            OrganizationDomain(organization=o, domain=d)
            for d, o in wanted.items()
            if d not in taken
        )

    upsert(ctx, "organization", Organization, rows, build, adopt=by_name(Organization), after=after)


def users(ctx: Context) -> None:
    columns = ["org_id", "default_email_id", "status", "name", "created", "updated"]
    ctx.each_batch("users", "user", columns, _users, kind="users")


def _users(ctx: Context, rows: list[Row]) -> None:
    ids = [r["id"] for r in rows]
    emails: dict[int, list[Row]] = {}
    for e in ctx.source.rows_in(
        "user_email", ["id", "user_id", "address"], "user_id", ids, order="id"
    ):
        emails.setdefault(e["user_id"], []).append(e)
    accounts = {
        a["user_id"]: a
        for a in ctx.source.rows_in(
            "user_account", ["status", "timezone", "passwd", "backend"], "user_id", ids
        )
    }
    org_map = ctx.maps.get("organization", {r["org_id"] for r in rows})
    for row in rows:
        row["emails"] = repr(emails.get(row["id"], []))
        row["account"] = repr(accounts.get(row["id"]))
    primary: dict[int, str] = {}
    for row in rows:
        addresses = emails.get(row["id"], [])
        main = next((e for e in addresses if e["id"] == row["default_email_id"]), None)
        main = main or (addresses[0] if addresses else None)
        if main is not None:
            primary[row["id"]] = (main["address"] or "").strip().lower()
    existing = {u.email.lower(): u for u in User.objects.filter(email__in=list(primary.values()))}

    def build(row: Row) -> dict[str, Any]:
        email = primary.get(row["id"], "")
        if "@" not in email:
            raise Skip("a user without an email address")
        account = accounts.get(row["id"])
        values: dict[str, Any] = {
            "email": email,
            "name": (row["name"] or "")[:128],
            "date_joined": ctx.when(row["created"]) or ctx.now,
        }
        org = org_map.get(str(row["org_id"] or 0))
        values["organization_id"] = org.object_id if org else None
        values["is_primary_contact"] = bool(org and int(row["status"] or 0) & PRIMARY_ORG_CONTACT)
        person = existing.get(email)
        if person is not None and person.is_agent:
            return values  # the agent's own password and state stay
        if account is not None:
            # osTicket's "locked" (an admin's lock) is our lock, not an inactive user:
            # the client cannot sign in, their mail still reaches their tickets
            values["is_locked"] = bool(int(account["status"] or 0) & LOCKED)
            values["timezone"] = _zone(
                account["timezone"] or config_values(ctx).get("default_timezone")
            )
            password, usable = keys.password(account["passwd"])
            if account["passwd"] and not usable:
                ctx.report.warn("client password cannot be carried over: reset needed", email)
            values["password"] = password
        else:
            values["password"] = keys.password(None)[0]  # a guest: no account yet
        return values

    def after(written: list[tuple[Row, Any]]) -> None:
        users_by_row = {row["id"]: user for row, user in written}
        UserEmail.objects.filter(user__in=list(users_by_row.values())).delete()
        wanted: dict[str, Any] = {}
        for row_id, user in users_by_row.items():
            for e in emails.get(row_id, []):
                address = (e["address"] or "").strip().lower()
                if "@" in address and address != user.email.lower():
                    wanted.setdefault(address, user)
        taken = set(User.objects.filter(email__in=wanted).values_list("email", flat=True))
        taken |= set(UserEmail.objects.filter(email__in=wanted).values_list("email", flat=True))
        for address in taken:
            ctx.report.warn("user's further address belongs to another account: dropped", address)
        UserEmail.objects.bulk_create(
            UserEmail(user=u, email=a) for a, u in wanted.items() if a not in taken
        )

    upsert(ctx, "user", User, rows, build, adopt=lambda v: existing.get(v["email"]), after=after)
