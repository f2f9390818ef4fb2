"""Forms of the people pages (users and organizations): raw input to the services'
typed arguments. The rules themselves are the services' (accounts.services)."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User
from accounts.selectors import agents_visible_to, clients
from helpdesk.formfields import field_of
from routing.models import Team

from .forms import add_custom_fields, check_custom_fields, custom_values


class CustomFieldsMixin(forms.Form):
    """The custom fields of the record (users' or organizations' forms, cf_<name>),
    each bad value shown on its field by the services' own rules."""

    def __init__(self, *args, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_fields = list(custom_fields)
        self.custom_names = add_custom_fields(self, self.custom_fields)

    def clean(self):
        cleaned = super().clean()
        check_custom_fields(self, self.custom_fields)
        return cleaned

    def custom_values(self) -> dict:
        """{name: value} as tickets.services.people_fields takes them."""
        return custom_values(self)

    @property
    def custom_bound_fields(self) -> list:
        return [self[f"cf_{name}"] for name in self.custom_names]

    @staticmethod
    def custom_initial(rows) -> dict:
        """Initial data of the custom fields from tickets.customfields.field_rows."""
        return {f"cf_{field.name}": value for field, value in rows}


class UserForm(CustomFieldsMixin):
    name = forms.CharField(label=_("Name"), max_length=128, required=False)
    email = forms.EmailField(label=_("Email"), max_length=254)
    extra_emails = forms.CharField(
        label=_("Other email addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One a line; mail from any of them reaches this user's tickets."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.all(), required=False
    )
    is_primary_contact = forms.BooleanField(label=_("Primary contact"), required=False)
    notes = forms.CharField(
        label=_("Internal notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_extra_emails(self) -> list[str]:
        lines = [x.strip() for x in self.cleaned_data["extra_emails"].splitlines()]
        field = forms.EmailField()
        bad = []
        for line in lines:
            if line:
                try:
                    field.clean(line)
                except forms.ValidationError:
                    bad.append(line)
        if bad:
            raise forms.ValidationError(_("Not email addresses: %s") % ", ".join(bad))
        return [x for x in lines if x]


class UserDeleteForm(forms.Form):
    tickets = forms.ChoiceField(
        label=_("Their tickets"),
        choices=[
            ("keep", _("Keep them, under a placeholder user")),
            ("delete", _("Delete them for good")),
        ],
        widget=forms.RadioSelect,
        initial="keep",
    )


class UserMergeForm(forms.Form):
    other = forms.ModelChoiceField(
        label=_("User to merge into this one"),
        queryset=clients(),
        widget=forms.NumberInput,
        help_text=_("Their tickets, addresses and collaborations move here; they are deleted."),
    )
    other_email = forms.EmailField(label=_("or their email address"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["other"].required = False

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if not data.get("other") and data.get("other_email"):
            data["other"] = clients().filter(email__iexact=data["other_email"]).first()
            if data["other"] is None:
                self.add_error("other_email", _("No user has this address."))
        elif not data.get("other"):
            self.add_error("other_email", _("Choose the user to merge."))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), required=False)
    text = forms.CharField(
        label=_("or paste the rows"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "email,name,phone,organization"}),
    )
    skip_invalid = forms.BooleanField(
        label=_("Skip invalid rows (import the valid ones)"), required=False
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    MAX_BYTES = 2 * 1024 * 1024

    def clean(self):
        super().clean()
        data = self.cleaned_data
        upload = data.get("file")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError(_("The file is larger than 2 MB."))
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        if not (data.get("text") or "").strip():
            raise forms.ValidationError(_("Choose a CSV file or paste its rows."))
        return data


class OrganizationForm(CustomFieldsMixin):
    name = forms.CharField(label=_("Name"), max_length=128)
    domains = forms.CharField(
        label=_("Email domains"),
        required=False,
        help_text=_("Comma or space separated; new users with these domains join."),
    )
    sharing = forms.ChoiceField(label=_("Ticket sharing"), choices=Organization.Sharing.choices)
    manager = forms.ChoiceField(label=_("Account manager"), required=False)
    primary_contacts = forms.ModelMultipleChoiceField(
        label=_("Primary contacts"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    collab_all_members = forms.BooleanField(
        label=_("Add all members as collaborators of their tickets"), required=False
    )
    collab_primary_contacts = forms.BooleanField(
        label=_("Add primary contacts as collaborators of members' tickets"), required=False
    )
    auto_assign_manager = forms.BooleanField(
        label=_("Auto-assign new tickets to the account manager"), required=False
    )
    notes = forms.CharField(
        label=_("Internal notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self, *args, user: User, organization: Organization | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)  # custom_fields= too (CustomFieldsMixin)
        # the agents `user` may see (visibility.agents), like every agent picker; the
        # organization's current manager stays offered so an edit does not drop it
        visible = Q(pk__in=agents_visible_to(user=user).values("pk"))
        if organization is not None and organization.manager_agent_id:
            visible |= Q(pk=organization.manager_agent_id)
        agents = User.objects.filter(visible, is_agent=True, is_active=True).order_by(
            "name", "email"
        )
        teams = Team.objects.filter(is_active=True).order_by("name")
        field_of(self, "manager", forms.ChoiceField).choices = [
            ("", _("— none —")),
            (_("Agents"), [(f"a{a.pk}", a.display_name) for a in agents]),
            (_("Teams"), [(f"t{t.pk}", t.name) for t in teams]),
        ]
        if organization is not None:
            contacts = field_of(self, "primary_contacts", forms.ModelMultipleChoiceField)
            contacts.queryset = organization.members.order_by("name", "email")
        else:
            del self.fields["primary_contacts"]

    def clean_domains(self) -> list[str]:
        raw = self.cleaned_data["domains"].replace(",", " ").split()
        return list(dict.fromkeys(d.strip().lower().lstrip("@") for d in raw if d.strip()))

    def settings(self) -> dict:
        """The organization's fields beside name, domains and contacts."""
        data = self.cleaned_data
        choice = data.get("manager") or ""
        agent = team = None
        # only an offered choice gets here (ChoiceField), so a hidden agent never does
        if choice.startswith("a"):
            agent = User.objects.filter(is_agent=True, pk=choice[1:]).first()
        elif choice.startswith("t"):
            team = Team.objects.filter(pk=choice[1:]).first()
        return {
            "manager_agent": agent,
            "manager_team": team,
            "collab_all_members": data["collab_all_members"],
            "collab_primary_contacts": data["collab_primary_contacts"],
            "auto_assign_manager": data["auto_assign_manager"],
        }

    @staticmethod
    def initial_for(org: Organization) -> dict:
        manager = ""
        if org.manager_agent_id:
            manager = f"a{org.manager_agent_id}"
        elif org.manager_team_id:
            manager = f"t{org.manager_team_id}"
        return {
            "name": org.name,
            "domains": " ".join(org.domains.values_list("domain", flat=True)),
            "sharing": org.sharing,
            "manager": manager,
            "primary_contacts": list(org.members.filter(is_primary_contact=True)),
            "collab_all_members": org.collab_all_members,
            "collab_primary_contacts": org.collab_primary_contacts,
            "auto_assign_manager": org.auto_assign_manager,
            "notes": org.notes,
        }
