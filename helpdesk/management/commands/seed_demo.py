"""Demo data for a first look: run it as often as you like, it creates things once.

Everything goes through the services (tickets are opened, answered, assigned and
closed the way agents and clients would); only the timestamps of the demo tickets are
spread over the last 30 days afterwards, so the history looks lived-in.
"""

import datetime as dt
import io
import random

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image

from accounts.actors import SYSTEM
from accounts.audit import NamedCommand
from accounts.links import site_url
from accounts.models import DepartmentAccess, Organization, OrganizationDomain, Role, User
from accounts.permissions import department_ids
from helpdesk.kb import faq_services as kb
from helpdesk.kb.models import CannedResponse, FaqCategory
from helpdesk.mail.services import email_templates_seed_languages
from routing.models import (
    SLA,
    Department,
    FilterAction,
    FilterRule,
    HelpTopic,
    Holiday,
    Schedule,
    ScheduleHours,
    Team,
    TicketFilter,
)
from threads.models import ThreadEntry
from threads.services import NewAttachment
from tickets import services
from tickets.models import HelpdeskSettings, Priority, Ticket, TicketStatus

DEMO_TICKETS = 60
LOGINS = [
    ("admin", "admin", "superuser and helpdesk admin"),
    ("agent", "agent", "agent in Support"),
    ("manager", "manager", "manager of Support"),
    ("alice@example.com", "alice", "client, Acme Corp (shares tickets)"),
    ("bob@example.com", "bob", "client, Globex"),
]

SUBJECTS = [
    "Cannot log in to the dashboard",
    "Invoice shows the wrong amount",
    "VPN drops every few minutes",
    "Request for a quote for 20 seats",
    "Password reset mail never arrives",
    "Printer on floor 2 is offline",
    "Please update our billing address",
    "Export to CSV times out",
    "How do I add a new user?",
    "Refund for a duplicate payment",
    "Mobile app crashes on start",
    "Email signatures look broken",
]


class Command(NamedCommand):
    help = "Load the demo data (departments, SLAs, agents, clients, 60 tickets). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument(
            "--summary",
            action="store_true",
            help="Load nothing: print where the site answers and the demo sign-ins.",
        )

    def handle(self, *args, **options):
        if options["summary"]:
            self._summary()
            return
        with transaction.atomic():
            cast = self._configuration()
        # the default template set in every shipped language its catalogue translates
        email_templates_seed_languages(actor=SYSTEM)
        existing = Ticket.objects.filter(requester__in=cast["clients"]).count()
        if existing >= DEMO_TICKETS:
            if options["verbosity"]:
                self.stdout.write("Demo tickets already exist; nothing more to do.")
        else:
            self._tickets(cast, start=existing)
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with:"))
            self._logins()

    def _logins(self) -> None:
        for login, password, what in LOGINS:
            self.stdout.write(f"  {login:<20} / {password:<8}  {what}")

    def _summary(self) -> None:
        """What `make run` prints last: the addresses (HELPDESK_BASE_URL), where mail
        goes, and the demo sign-ins."""
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("The helpdesk is running:"))
        for label, path in (("Portal", "/"), ("Staff panel", "/scp/"), ("Admin", "/admin/")):
            self.stdout.write(f"  {label:<12} {site_url(path)}")
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            self.stdout.write(f"  {'Mail':<12} written to {settings.EMAIL_FILE_PATH}/")
        self.stdout.write("Demo sign-ins (login / password):")
        self._logins()
        self.stdout.write("Stop with Ctrl+C.")

    # --- configuration ------------------------------------------------------------
    @staticmethod
    def _schedule(name: str, tz: str, days: int, start: int, end: int) -> tuple[Schedule, bool]:
        """A schedule open from `start` to `end` o'clock on the first `days` weekdays;
        True when its hours were added now."""
        schedule, _ = Schedule.objects.get_or_create(name=name, defaults={"timezone": tz})
        if schedule.hours.exists():
            return schedule, False
        ScheduleHours.objects.bulk_create(
            ScheduleHours(
                schedule=schedule, weekday=d, start_time=dt.time(start), end_time=dt.time(end)
            )
            for d in range(days)
        )
        return schedule, True

    def _configuration(self) -> dict:
        roles = {r.name: r for r in Role.objects.all()}
        office, new = self._schedule(
            "Office hours (Mon-Fri 08-17, London)", "Europe/London", 5, 8, 17
        )
        if new:
            Holiday.objects.create(
                schedule=office,
                name="Christmas",
                start_date=dt.date(2026, 12, 25),
                end_date=dt.date(2026, 12, 26),
            )
        extended, _ = self._schedule("Extended (Mon-Sat 07-22, UTC)", "UTC", 6, 7, 22)
        default_sla, _ = SLA.objects.get_or_create(
            name="Default SLA", defaults={"grace_hours": 18, "schedule": office}
        )
        priority_sla, _ = SLA.objects.get_or_create(
            name="Priority SLA", defaults={"grace_hours": 4, "schedule": extended}
        )

        support, _ = Department.objects.get_or_create(
            name="Support", defaults={"sla": default_sla, "email": "support@example.com"}
        )
        sales, _ = Department.objects.get_or_create(
            name="Sales", defaults={"sla": default_sla, "email": "sales@example.com"}
        )
        billing, _ = Department.objects.get_or_create(
            name="Billing",
            defaults={
                "sla": priority_sla,
                "email": "billing@example.com",
                "assign_members_only": True,
            },
        )

        admin = self._agent("admin", "Ada Admin", support, roles["All Access"], admin=True)
        agent = self._agent("agent", "Alex Agent", support, roles["Expanded Access"])
        manager = self._agent("manager", "Morgan Manager", support, roles["All Access"])
        carol = self._agent("carol", "Carol Sales", sales, roles["Expanded Access"])
        dave = self._agent("dave", "Dave Billing", billing, roles["Limited Access"])
        DepartmentAccess.objects.get_or_create(
            agent=dave, department=support, defaults={"role": roles["View only"]}
        )
        DepartmentAccess.objects.get_or_create(
            agent=manager, department=billing, defaults={"role": roles["Expanded Access"]}
        )
        if support.manager_id is None:
            support.manager = manager
            support.save(update_fields=["manager"])

        tier2, _ = Team.objects.get_or_create(name="Tier 2", defaults={"lead": manager})
        tier2.members.add(manager, agent, carol)
        network, _ = Team.objects.get_or_create(name="Network", defaults={"lead": dave})
        network.members.add(dave, agent)

        p = {x.name: x for x in Priority.objects.all()}
        general, _ = HelpTopic.objects.get_or_create(
            name="General inquiry", parent=None, defaults={"department": support, "sort": 1}
        )
        tech, _ = HelpTopic.objects.get_or_create(
            name="Technical support", parent=None, defaults={"department": support, "sort": 2}
        )
        HelpTopic.objects.get_or_create(
            name="Access and login",
            parent=tech,
            defaults={"department": support, "priority": p["High"]},
        )
        HelpTopic.objects.get_or_create(
            name="Network outage",
            parent=tech,
            defaults={
                "department": support,
                "priority": p["Emergency"],
                "sla": priority_sla,
                "assign_team": network,
            },
        )
        bill, _ = HelpTopic.objects.get_or_create(
            name="Billing", parent=None, defaults={"department": billing, "sort": 3}
        )
        HelpTopic.objects.get_or_create(
            name="Invoices", parent=bill, defaults={"department": billing}
        )
        HelpTopic.objects.get_or_create(
            name="Sales and quotes", parent=None, defaults={"department": sales, "sort": 4}
        )
        HelpTopic.objects.get_or_create(
            name="Internal escalation",
            parent=None,
            defaults={"department": support, "is_public": False, "sort": 9},
        )

        self._automation(p, priority_sla, tier2, support, billing)
        self._knowledge_base(admin, tech)

        config = HelpdeskSettings.load()
        config.default_department = config.default_department or support
        config.default_sla = config.default_sla or default_sla
        config.default_topic = config.default_topic or general
        config.save()

        acme, _ = Organization.objects.get_or_create(
            name="Acme Corp", defaults={"sharing": Organization.Sharing.ALL}
        )
        OrganizationDomain.objects.get_or_create(
            domain="acme.example", defaults={"organization": acme}
        )
        globex, _ = Organization.objects.get_or_create(name="Globex")
        OrganizationDomain.objects.get_or_create(
            domain="globex.example", defaults={"organization": globex}
        )
        clients = [
            self._client("alice@example.com", "Alice Anders", "alice", acme),
            self._client("bob@example.com", "Bob Brown", "bob", globex),
        ]
        for i, name in enumerate(
            [
                "Chen Wei",
                "Dana Diaz",
                "Eve Evans",
                "Farid Khan",
                "Gita Rao",
                "Hugo Lenz",
                "Ines Sousa",
                "Jon Berg",
            ]
        ):
            org = acme if i % 2 == 0 else globex
            domain = "acme.example" if org is acme else "globex.example"
            clients.append(self._client(f"{name.split()[0].lower()}@{domain}", name, None, org))
        return {
            "agents": [admin, agent, manager, carol, dave],
            "clients": clients,
            "departments": [support, sales, billing],
            "teams": [tier2, network],
            "topics": list(HelpTopic.objects.filter(is_active=True, is_public=True)),
            "priorities": list(p.values()),
        }

    def _automation(self, p, priority_sla, tier2, support, billing) -> None:
        """An escalating SLA, a round-robin team, a filter and a canned response."""
        if priority_sla.escalate_priority_id is None:
            priority_sla.escalate_priority, priority_sla.escalate_team = p["High"], tier2
            priority_sla.save(update_fields=["escalate_priority", "escalate_team"])
        Team.objects.filter(pk=tier2.pk).update(assign_policy=Department.AssignPolicy.ROUND_ROBIN)
        Department.objects.filter(pk=billing.pk).update(
            assign_policy=Department.AssignPolicy.LEAST_BUSY
        )
        urgent, created = TicketFilter.objects.get_or_create(
            name="Urgent subjects",
            defaults={"sort": 10, "channel": TicketFilter.Channel.ANY, "match_all": False},
        )
        if created:
            FilterRule.objects.create(
                filter=urgent,
                field="subject",
                operator="match",
                value=r"(?i)\b(urgent|outage|down)\b",
            )
            FilterAction.objects.create(filter=urgent, kind="priority", priority=p["High"])
        CannedResponse.objects.get_or_create(
            title="Password reset steps",
            department=support,
            defaults={
                "body_html": (
                    "<p>Hello %{recipient.name},</p><p>Open the login page, choose "
                    "<b>Forgot password</b> and follow the link we mail you. "
                    "Your ticket is #%{ticket.number}.</p><p>%{staff.name}</p>"
                ),
            },
        )

    def _knowledge_base(self, admin, tech) -> None:
        """Two public categories with a few published FAQs, one internal category."""
        if FaqCategory.objects.exists():
            return
        accounts = kb.faq_category_create(actor=admin, name="Accounts and sign-in", sort=1)
        billing = kb.faq_category_create(actor=admin, name="Billing", sort=2)
        internal = kb.faq_category_create(actor=admin, name="Runbooks", is_public=False, sort=9)
        faqs = [
            (
                accounts,
                "How do I reset my password?",
                "<p>Choose <b>Forgot password</b> and follow the link we mail you.</p>",
            ),
            (
                accounts,
                "Why is my account locked?",
                "<p>After five wrong passwords, sign-ins pause for 15 minutes.</p>",
            ),
            (
                billing,
                "Where do I find my invoices?",
                "<p>Invoices are mailed on the first working day.</p>",
            ),
            (
                internal,
                "VPN outage checklist",
                "<ol><li>Check the status page.</li><li>Restart the gateway.</li></ol>",
            ),
        ]
        for category, question, answer in faqs:
            kb.faq_create(
                actor=admin,
                category=category,
                question=question,
                answer=answer,
                is_published=True,
                topics=[tech] if category is accounts else [],
            )

    def _agent(self, username, name, dept, role, admin=False) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                email=f"{username}@helpdesk.example",
                name=name,
                is_agent=True,
                department=dept,
                role=role,
                is_helpdesk_admin=admin,
                is_superuser=admin,
            )
            user.set_password(username)
            user.save()
        return user

    def _client(self, email, name, password, org) -> User:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(email=email, name=name, organization=org)
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save()
        return user

    # --- tickets ------------------------------------------------------------------
    def _tickets(self, cast, start: int) -> None:
        """Open the demo tickets not there yet (a run cut short is completed next time)."""
        rng = random.Random(42 + start)
        admin = cast["agents"][0]
        statuses = {s.name: s for s in TicketStatus.objects.all()}
        plan = (
            ["Open"] * 30 + ["Resolved"] * 10 + ["Closed"] * 10 + ["Archived"] * 5 + ["Deleted"] * 5
        )
        now = timezone.now()
        for i, target in enumerate(plan):
            if i < start:
                continue
            client = cast["clients"][i % len(cast["clients"])]
            topic = cast["topics"][i % len(cast["topics"])]
            files = [_demo_image()] if i == 0 else []
            subject = SUBJECTS[i % len(SUBJECTS)]
            source = [Ticket.Source.WEB, Ticket.Source.EMAIL, Ticket.Source.API][i % 3]
            by_client = source == Ticket.Source.WEB and client.has_usable_password()
            ticket = services.ticket_open(
                actor=client if by_client else SYSTEM,  # mail and API arrive as the system
                new=services.NewTicket(
                    requester=client,
                    subject=subject,
                    body=f"Hello,\n\n{subject}. It started this week.\n\n{client.name}",
                    topic=topic,
                    source=source,
                    files=files,
                ),
            )
            if i % 3 == 0:
                services.ticket_post_note(
                    actor=admin, ticket=ticket, body="Checked the logs; looks like a known issue."
                )
            if i % 2 == 0 and ticket.assignee_id is None:
                members = [a for a in cast["agents"] if ticket.department_id in department_ids(a)]
                ticket = services.ticket_assign(
                    actor=admin, ticket=ticket, agent=rng.choice(members)
                )
            if i % 4 != 3:
                ticket = services.ticket_post_reply(
                    actor=admin, ticket=ticket, body="Thanks for reaching out, we are on it."
                ).ticket
            if i % 5 == 0:
                ticket = services.ticket_post_message(
                    actor=SYSTEM,
                    ticket=ticket,
                    body="Any news on this?",
                    source=ThreadEntry.Source.EMAIL,
                ).ticket
            if target != "Open":
                ticket = services.ticket_set_status(
                    actor=admin,
                    ticket=ticket,
                    status=statuses["Closed" if target in ("Archived",) else target],
                )
                if target == "Archived":
                    services.ticket_set_status(
                        actor=admin, ticket=ticket, status=statuses["Archived"]
                    )
            self._backdate(ticket, now - dt.timedelta(days=29 - (i % 30), hours=rng.randint(0, 20)))

    def _backdate(self, ticket: Ticket, when) -> None:
        """Demo history only: shift the ticket's timeline back to `when`."""
        shift = timezone.now() - when
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=F("created_at") - shift,
            updated_at=F("updated_at") - shift,
            last_message_at=F("last_message_at") - shift,
            last_response_at=F("last_response_at") - shift,
            closed_at=F("closed_at") - shift,
            sla_due_at=F("sla_due_at") - shift,
        )
        ThreadEntry.objects.filter(thread_id=ticket.thread_id).update(
            created_at=F("created_at") - shift
        )
        ticket.thread.events.update(created_at=F("created_at") - shift)


def _demo_image() -> NewAttachment:
    buf = io.BytesIO()
    Image.new("RGB", (64, 32), (40, 120, 200)).save(buf, format="PNG")
    return NewAttachment(
        filename="screenshot.png", content=buf.getvalue(), content_type="image/png"
    )
