"""Forms of the supervisor console.

Forms only parse what a browser sends into the types the services take; every rule of the
domain (lengths, formats, uniqueness, who may do what) is checked by the services, and their
errors are put back next to the fields by `voipbin_admin.form_errors.add_domain_error`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar
from uuid import UUID

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordMixin

from agents import permissions
from agents.models import AddressType, Agent, AgentStatus, Permission, RingMethod
from agents.sign_in import LimitedSignInFormMixin
from voipbin_admin import form_errors
from voipbin_admin.errors import DomainError

ANY = [("", "Any")]


def _role_choice(bit: Permission) -> tuple[str, str]:
    return (str(bit.value), bit.label.capitalize())


# Console roles, least powerful first; the project super admin bit only to those who have it.
ROLE_CHOICES = [
    _role_choice(bit) for bit in reversed(Permission.ranked()) if bit != Permission.PROJECT_SUPER_ADMIN
]
SUPER_ADMIN_CHOICE = _role_choice(Permission.PROJECT_SUPER_ADMIN)

PERMISSION_FILTER_CHOICES = [
    ("", "Any"),
    *(_role_choice(bit) for bit in Permission.ranked() if bit != Permission.PROJECT_SUPER_ADMIN),
    ("0", "No permission"),
]

SORT_CHOICES = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("name", "Name A-Z"),
    ("-name", "Name Z-A"),
    ("username", "Username A-Z"),
    ("-username", "Username Z-A"),
    ("status", "Status"),
    ("-status_since", "Most recent status change"),
    ("status_since", "Longest in status"),
]

PAGE_SIZE_CHOICES = [("25", "25"), ("50", "50"), ("100", "100"), ("200", "200")]


def _tag_choices(tags) -> list[tuple[str, str]]:
    """The tags in the order given: `tags.selectors.tag_list`'s, the one order of every list."""
    return [(str(tag.id), tag.name) for tag in tags]


def role_choices_for(actor: Agent) -> list[tuple[str, str]]:
    return [*ROLE_CHOICES, SUPER_ADMIN_CHOICE] if actor.is_project_super_admin else list(ROLE_CHOICES)


def roles_to_permission(roles: list[str]) -> int:
    permission = 0
    for role in roles:
        permission |= int(role)
    return permission


def permission_to_roles(permission: int) -> list[str]:
    return [str(bit.value) for bit in Permission.bits_of(permission)]


class SignInForm(LimitedSignInFormMixin, AuthenticationForm):
    """Django's sign-in form with labels that match the domain (agents sign in by username),
    under the failed-login limit of every door."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class BoardFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(required=False, choices=ANY + AgentStatus.choices)
    tag = forms.ChoiceField(required=False, choices=ANY)

    def __init__(self, *args, tags=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = ANY + _tag_choices(tags)
        self.fields["q"].widget.attrs.update(
            {"placeholder": "Name or username", "data-search": "", "type": "search", "autocomplete": "off"}
        )

    def filters(self) -> dict:
        """The selector arguments for the valid fields (an invalid value is ignored, not an error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        tag = data.get("tag")
        return {
            "q": (data.get("q") or "").strip() or None,
            "status": data.get("status") or None,
            "tag_ids": [UUID(tag)] if tag else None,
        }


class AgentFilterForm(BoardFilterForm):
    ring_method = forms.ChoiceField(required=False, choices=ANY + RingMethod.choices, label="Ring method")
    permission = forms.ChoiceField(required=False, choices=PERMISSION_FILTER_CHOICES)
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)
    per_page = forms.ChoiceField(required=False, choices=PAGE_SIZE_CHOICES, label="Per page")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = "Name, username or detail"

    def filters(self) -> dict:
        filters = super().filters()
        data = self.cleaned_data
        permission = data.get("permission")
        filters.update(
            ring_method=data.get("ring_method") or None,
            permission_bit=int(permission) if permission else None,
            ordering=data.get("sort") or "-created",
        )
        return filters

    def page_size(self) -> int:
        self.is_valid()
        return int(getattr(self, "cleaned_data", {}).get("per_page") or 50)


class AgentCreateForm(forms.Form):
    username = forms.CharField(strip=False)
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    name = forms.CharField(required=False, strip=False)
    detail = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}))
    ring_method = forms.ChoiceField(
        choices=RingMethod.choices, initial=RingMethod.RINGALL, label="Ring method"
    )
    roles = forms.MultipleChoiceField(
        required=False, choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, label="Permission"
    )
    tags = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, actor: Agent, tags=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = role_choices_for(actor)
        self.fields["tags"].choices = _tag_choices(tags)
        self.fields["username"].widget.attrs.update({"autocomplete": "off", "autofocus": True})

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "username": data["username"],
            "password": data["password"],
            "name": data["name"],
            "detail": data["detail"],
            "ring_method": data["ring_method"],
            "permission": roles_to_permission(data["roles"]),
            "tag_ids": [UUID(tag_id) for tag_id in data["tags"]],
        }


class AgentProfileForm(forms.Form):
    name = forms.CharField(required=False, strip=False)
    detail = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}))
    ring_method = forms.ChoiceField(choices=RingMethod.choices, label="Ring method")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=AgentStatus.choices, widget=forms.RadioSelect)
    reason = forms.CharField(required=False, strip=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs.update({"placeholder": "Optional: lunch, training, shift start…"})


class AgentTagsForm(forms.Form):
    tags = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, tags=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].choices = _tag_choices(tags)


class PermissionForm(forms.Form):
    roles = forms.MultipleChoiceField(
        required=False, choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, label="Permission"
    )

    def __init__(self, *args, actor: Agent, customer_id, **kwargs):
        super().__init__(*args, **kwargs)
        offered = permissions.permission_bits_offered(actor, customer_id)
        self.fields["roles"].choices = [
            (value, label) for value, label in [*ROLE_CHOICES, SUPER_ADMIN_CHOICE] if int(value) & offered
        ]

    def permission(self, *, previous: int, actor: Agent) -> int:
        """The new bitmask; a bit the actor is not offered (`permissions.permission_bits_offered`)
        keeps its value."""
        offered = roles_to_permission([value for value, _label in self.fields["roles"].choices])
        return (previous & ~offered) | roles_to_permission(self.cleaned_data["roles"])


class PasswordResetForm(SetPasswordMixin, forms.Form):
    """A new password twice; for one's own password also the current one (the service asks
    for it: a stolen session must not become the account for good). The password rules are
    the service's: this form only checks that the two agree."""

    error_messages = {"password_mismatch": "The two passwords differ."}

    old_password = forms.CharField(
        strip=False,
        label="Current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    password, password_again = SetPasswordMixin.create_password_fields(
        label1="New password", label2="Repeat it"
    )
    # No help texts: the page shows none, and Django would point aria-describedby at them.
    password.help_text = password_again.help_text = ""

    def __init__(self, *args, own: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not own:
            del self.fields["old_password"]

    def clean(self):
        data = super().clean()
        self.validate_passwords("password", "password_again")
        return data


class UUIDListField(forms.Field):
    """Several ids (checkboxes of the same name); which ones may be touched is the selector's business."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[UUID]:
        ids: list[UUID] = []
        for raw in value or []:
            try:
                agent_id = UUID(str(raw))
            except ValueError:
                raise forms.ValidationError("Unknown agent id.") from None
            if agent_id not in ids:
                ids.append(agent_id)
        return ids


BULK_ACTIONS = [
    ("set_status", "Set status"),
    ("add_tag", "Add tag"),
    ("remove_tag", "Remove tag"),
    ("delete", "Delete"),
]


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    agent_ids = UUIDListField(error_messages={"required": "Select at least one agent."})
    status = forms.ChoiceField(required=False, choices=[("", "Choose a status"), *AgentStatus.choices])
    reason = forms.CharField(required=False)
    tag = forms.ChoiceField(required=False, choices=[("", "Choose a tag")])
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, tags=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "Choose a tag"), *_tag_choices(tags)]
        self.tag_names = {str(tag.id): tag.name for tag in tags}

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "set_status" and not data.get("status"):
            self.add_error("status", "Choose the status to set.")
        if action in ("add_tag", "remove_tag") and not data.get("tag"):
            self.add_error("tag", "Choose a tag.")
        return data


class CsvImportForm(forms.Form):
    """Step 1 uploads a file; step 2 (apply) posts back the same text the preview was made from."""

    file = forms.FileField(required=False, label="CSV file")
    content = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)

    # The text travels back with the apply step, within Django's request size limit (2.5 MB).
    MAX_BYTES = 1024 * 1024

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError("The file is larger than 1 MB; split it.")
            try:
                data["content"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text; save it as 'CSV UTF-8'.") from None
        if not data.get("content"):
            raise forms.ValidationError("Choose a CSV file to import.")
        # Browsers post text fields with CRLF line breaks: make the previewed text and the
        # applied text the same, whichever way it came.
        data["content"] = data["content"].replace("\r\n", "\n")
        return data


class AccessKeyCreateForm(forms.Form):
    name = forms.CharField(required=False)
    detail = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expire_days = forms.IntegerField(
        initial=365, min_value=1, label="Valid for (days)", widget=forms.NumberInput(attrs={"min": 1})
    )

    def expire_seconds(self) -> int:
        return self.cleaned_data["expire_days"] * 86400


# --- the addresses editor --------------------------------------------------------------------

ADDRESS_FIELDS = ("type", "target", "target_name", "name", "detail")
_ROW_REFERENCE = re.compile(r"\baddresses\[(\d+)\]")


@dataclass
class AddressRow:
    type: str = AddressType.TEL
    target: str = ""
    target_name: str = ""
    name: str = ""
    detail: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    fields: ClassVar[tuple[str, ...]] = ADDRESS_FIELDS

    def add_error(self, field: str | None, error: str) -> None:
        """A service's complaint about this row (`voipbin_admin.form_errors`); one about the
        whole row is shown with its target."""
        self.errors[field or "target"] = error

    @property
    def is_blank(self) -> bool:
        return not (self.target.strip() or self.target_name or self.name or self.detail)


class AddressEditor:
    """The rows of the addresses editor, in ring order.

    The browser posts one list per field (`type`, `target`, ...), one item per row, in the order
    the rows are shown, so adding, removing and reordering rows needs no bookkeeping. Blank
    rows are left out. The service's field errors (`addresses[1].target`) are put back on the
    row they came from, even when blank rows before it were left out.
    """

    type_choices = AddressType.values

    def __init__(self, rows: list[AddressRow]):
        self.rows = rows
        self.errors: list[str] = []

    @classmethod
    def from_agent(cls, agent: Agent) -> AddressEditor:
        return cls(
            [
                AddressRow(
                    type=a.type, target=a.target, target_name=a.target_name, name=a.name, detail=a.detail
                )
                for a in agent.addresses.all()
            ]
        )

    @classmethod
    def from_post(cls, data) -> AddressEditor:
        columns = {name: data.getlist(name) for name in ADDRESS_FIELDS}
        count = max((len(values) for values in columns.values()), default=0)
        rows = [
            AddressRow(**{name: (values[i] if i < len(values) else "") for name, values in columns.items()})
            for i in range(count)
        ]
        return cls(rows)

    def _kept(self) -> list[AddressRow]:
        return [row for row in self.rows if not row.is_blank]

    def payload(self) -> list[dict]:
        """The list the service takes (blank rows left out)."""
        return [{name: getattr(row, name) for name in ADDRESS_FIELDS} for row in self._kept()]

    #: The editor's own errors are on top: it has no field of its own.
    fields: ClassVar[tuple[str, ...]] = ()

    def add_error(self, field: str | None, error: str) -> None:
        self.errors.append(error)

    def add_domain_error(self, error: DomainError) -> None:
        """The service's field errors next to their rows (counted without the blank rows the
        payload left out); a collision is also said on top."""
        always = error.reason == "ADDRESS_ALREADY_ASSIGNED"
        kept = self._kept()
        form_errors.add_domain_error(self, error, rows=kept, message="always" if always else "if_unplaced")
        # The service names rows as the API does (`addresses[3]`, from 0, blank rows left out);
        # people read the numbers shown next to the rows.
        positions = {id(row): number for number, row in enumerate(self.rows, start=1)}

        def row_number(match: re.Match) -> str:
            index = int(match.group(1))
            return f"row {positions[id(kept[index])]}" if index < len(kept) else match.group(0)

        for row in self.rows:
            row.errors = {key: _ROW_REFERENCE.sub(row_number, text) for key, text in row.errors.items()}
        self.errors = [_ROW_REFERENCE.sub(row_number, text) for text in self.errors]

    @property
    def blank(self) -> AddressRow:
        """The empty row offered for a new address."""
        return AddressRow()

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(row.errors for row in self.rows)
