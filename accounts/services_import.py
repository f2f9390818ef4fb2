"""Importing clients from CSV (the panel's "Import users", osTicket's user import).

A file is read with Python's csv module into rows (`users_csv_parse`), each checked
against the same rules `user_create` applies plus the file's own (an address twice):
the preview shows them with their errors. `users_import` writes them in one
transaction: nothing when any row is invalid, unless `skip_invalid` asks to write the
valid ones only.

Columns (a header row, names case-insensitive): `email` (required), `name`, `phone`,
`organization` (the name of an existing organization; empty: by the email's domain),
and the `ExtraColumns` a caller adds: the user fields of tickets.services.people_fields,
which this innermost app cannot import, so the dependency is turned around here.
"""

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from .actors import Actor
from .errors import ValidationFailed
from .models import Organization, User, UserEmail
from .services import _require_agent_perm, user_create

COLUMNS = ("email", "name", "phone", "organization")
MAX_ROWS = 5000


@dataclass
class ImportRow:
    line: int
    email: str
    name: str = ""
    phone: str = ""
    organization: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ExtraColumns:
    """Further columns: `names` maps a header (lower case) to the key its cell is kept
    under in `ImportRow.extra`; `check(extra)` gives a row's errors (messages, no
    writes); `write(user, extra)` stores them, inside the import's transaction."""

    names: Mapping[str, str]
    check: Callable[[dict[str, str]], list[str]]
    write: Callable[[User, dict[str, str]], None]


NO_EXTRA = ExtraColumns(names={}, check=lambda extra: [], write=lambda user, extra: None)


@dataclass
class ImportResult:
    created: list[User]
    skipped: list[ImportRow]


def users_csv_parse(text: str, *, extra: ExtraColumns = NO_EXTRA) -> list[ImportRow]:
    """The file's rows, each with its errors (empty when it can be imported). A file
    without an `email` column, or an empty one, is refused as a whole."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in header:
        raise ValidationFailed(
            "The file needs a header row with an email column.",
            code="csv_no_email_column",
            fields={"file": ["The first row must name the columns, one of them email."]},
        )
    unknown = sorted(set(header) - set(COLUMNS) - set(extra.names) - {""})
    if unknown:
        known = [*COLUMNS, *sorted(set(extra.names.values()))]
        raise ValidationFailed(
            f"Unknown columns: {', '.join(unknown)}.",
            code="csv_unknown_columns",
            fields={"file": [f"Columns are {', '.join(known)}."]},
        )
    extras = {h: extra.names[h] for h in header if h in extra.names and h not in COLUMNS}
    reader.fieldnames = header
    rows = []
    try:
        for record in reader:
            if not any((v or "").strip() for k, v in record.items() if k):
                continue
            value = {c: (record.get(c) or "").strip() for c in COLUMNS}
            rows.append(
                ImportRow(
                    line=reader.line_num,
                    email=value["email"],
                    name=value["name"],
                    phone=value["phone"],
                    organization=value["organization"],
                    extra={key: (record.get(h) or "").strip() for h, key in extras.items()},
                )
            )
            if len(rows) > MAX_ROWS:
                raise ValidationFailed(f"At most {MAX_ROWS} rows at a time.", code="csv_too_long")
    except csv.Error as exc:
        raise ValidationFailed(
            f"Line {reader.line_num}: {exc}", code="csv_malformed", fields={"file": [str(exc)]}
        ) from None
    if not rows:
        raise ValidationFailed("The file has no rows.", code="csv_empty")
    _check(rows)
    for row in rows:
        row.errors.extend(extra.check(row.extra))
    return rows


def _check(rows: list[ImportRow]) -> None:
    """Each row's errors: a bad or taken address, one twice in the file, an unknown
    organization, a field too long. Two queries, whatever the number of rows."""
    emails = {r.email.lower() for r in rows}
    taken = {
        e.lower() for e in User.objects.filter(email__in=emails).values_list("email", flat=True)
    }
    taken |= {
        e.lower()
        for e in UserEmail.objects.filter(email__in=emails).values_list("email", flat=True)
    }
    names = {r.organization.lower() for r in rows if r.organization}
    orgs = {
        o.lower() for o in Organization.objects.values_list("name", flat=True) if o.lower() in names
    }
    seen: set[str] = set()
    for row in rows:
        email = row.email.lower()
        try:
            validate_email(email)
        except DjangoValidationError:
            row.errors.append(f"{row.email or '(empty)'} is not a valid email address.")
        if email in taken:
            row.errors.append(f"A user with the address {email} already exists.")
        elif email in seen:
            row.errors.append(f"{email} appears more than once in the file.")
        seen.add(email)
        if row.organization and row.organization.lower() not in orgs:
            row.errors.append(f"No organization named {row.organization}.")
        if len(row.name) > 128:
            row.errors.append("The name is longer than 128 characters.")
        if len(row.phone) > 32:
            row.errors.append("The phone is longer than 32 characters.")


def users_import(
    *, actor: Actor, text: str, skip_invalid: bool = False, extra: ExtraColumns = NO_EXTRA
) -> ImportResult:
    """Create the clients of a CSV file (user.create), all in one transaction. Any
    invalid row refuses the whole file (ValidationFailed, the rows' errors in `extra`)
    unless `skip_invalid`: then the valid rows are written and the others returned."""
    _require_agent_perm(actor, "user.create")
    rows = users_csv_parse(text, extra=extra)
    invalid = [r for r in rows if not r.is_valid]
    if invalid and not skip_invalid:
        raise ValidationFailed(
            f"{len(invalid)} of {len(rows)} rows are invalid; nothing was imported.",
            code="csv_invalid_rows",
            extra={"rows": [{"line": r.line, "errors": r.errors} for r in invalid]},
        )
    orgs = {o.name.lower(): o for o in Organization.objects.all()}
    created = []
    with transaction.atomic():
        for row in rows:
            if row.is_valid:
                user = user_create(
                    actor=actor,
                    email=row.email,
                    name=row.name,
                    phone=row.phone,
                    organization=orgs.get(row.organization.lower()),
                )
                extra.write(user, row.extra)
                created.append(user)
    return ImportResult(created=created, skipped=invalid)
