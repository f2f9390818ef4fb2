import factory

from accounts.models import DepartmentAccess, Organization, OrganizationDomain, Role, User
from routing.models import SLA, Department, HelpTopic, Schedule, Team
from threads.services import NewAttachment
from tickets import services
from tickets.models import Priority, TicketStatus


def role(name: str) -> Role:
    """One of the four seeded roles: All Access, Expanded Access, Limited Access, View only."""
    return Role.objects.get(name=name)


def status(name: str) -> TicketStatus:
    """A seeded status: Open, Resolved, Closed, Archived, Deleted."""
    return TicketStatus.objects.get(name=name)


def priority(name: str) -> Priority:
    return Priority.objects.get(name=name)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"Department {n}")


class SLAFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLA

    name = factory.Sequence(lambda n: f"SLA {n}")
    grace_hours = 8


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Schedule

    name = factory.Sequence(lambda n: f"Schedule {n}")
    timezone = "UTC"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Org {n}")

    @factory.post_generation
    def domain(self, create, extracted, **kwargs):
        if extracted:
            OrganizationDomain.objects.create(organization=self, domain=extracted)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"client{n}@example.org")
    name = factory.Faker("name")
    password = factory.django.Password("secret")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@helpdesk.test")
    name = factory.Faker("name")
    password = factory.django.Password("secret")
    is_agent = True
    department = factory.SubFactory(DepartmentFactory)
    role = factory.LazyFunction(lambda: role("All Access"))

    @factory.post_generation
    def extra_departments(self, create, extracted, **kwargs):
        """extra_departments={department: role_name}"""
        for dept, role_name in (extracted or {}).items():
            DepartmentAccess.objects.create(agent=self, department=dept, role=role(role_name))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if extracted:
            self.members.add(*extracted)


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HelpTopic

    name = factory.Sequence(lambda n: f"Topic {n}")


def open_ticket(
    requester,
    *,
    actor=None,
    department=None,
    subject="Printer on fire",
    body="It is on fire.",
    **kw,
):
    """Open a ticket through the service, as the requester themselves by default."""
    return services.ticket_open(
        actor=actor or requester,
        new=services.NewTicket(
            requester=requester, subject=subject, body=body, department=department, **kw
        ),
    )


def attachment(name="notes.txt", content=b"hello", content_type="text/plain") -> NewAttachment:
    return NewAttachment(filename=name, content=content, content_type=content_type)
