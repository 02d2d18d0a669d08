"""Forms of the Django admin site.

They only parse what the browser sends; the services check every rule and do every write.
When a service refuses, its DomainError is put back on the form
(`voipbin_admin.form_errors.add_domain_error`): details next to their fields, the message
on top.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import SetPasswordMixin
from django.forms.models import BaseInlineFormSet

from agents.models import AccessKey, Address, Agent, AgentStatus, Customer, Permission
from agents.sign_in import LimitedSignInFormMixin
from tags.models import Tag
from voipbin_admin.admin_support import ServiceModelForm
from voipbin_admin.errors import DomainError
from voipbin_admin.form_errors import add_domain_error

PERMISSION_CHOICES = [(bit.value, f"{bit.label} ({bit.value})") for bit in Permission]


class OperatorSignInForm(LimitedSignInFormMixin, AdminAuthenticationForm):
    """The admin site's sign-in: the failed-login limit of every door, and a plain word when
    the password was right but the agent is no operator."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Wrong username or password.",
    }

    def confirm_login_allowed(self, user):
        if user.is_active and not user.is_staff:
            raise forms.ValidationError(
                "This agent may not use the admin site: it needs the project super admin permission.",
                code="not_an_operator",
            )
        super().confirm_login_allowed(user)


class PermissionBitsField(forms.TypedMultipleChoiceField):
    """The permission bitmask as one checkbox per bit; cleans to the integer sum."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=PERMISSION_CHOICES, coerce=int, required=False, **kwargs)

    def clean(self, value) -> int:
        return sum(super().clean(value))


class TagChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Tag) -> str:
        return f"{obj.customer.name}: {obj.name}"


class PasswordPairForm(SetPasswordMixin, forms.Form):
    """A new password typed twice (Django's pair of fields and their comparison). List it before
    ServiceModelForm in a ModelForm's bases: BaseModelForm.clean() does not call super().clean().
    The services check the password policy."""

    error_messages = {"password_mismatch": "The two passwords do not match."}

    password1, password2 = SetPasswordMixin.create_password_fields(label2="Password (again)")
    password1.help_text = ""
    password2.help_text = "The same password, to catch typing mistakes."

    def clean(self):
        cleaned = super().clean()
        self.validate_passwords()
        return cleaned


class SetPasswordForm(PasswordPairForm):
    """The admin's "set password" page; `agent_set_password` checks the password policy, and
    asks an operator setting its own password for the current one."""

    old_password = forms.CharField(
        strip=False,
        label="Current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, own: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if own:
            self.order_fields(["old_password"])
        else:
            del self.fields["old_password"]


# --- agents --------------------------------------------------------------------------------------


class AgentAddForm(PasswordPairForm, ServiceModelForm):
    """Everything `agent_create` takes except addresses (added on the change page)."""

    permission = PermissionBitsField()
    tags = TagChoiceField(
        queryset=Tag.objects.live().select_related("customer").order_by("customer__name", "name"),
        required=False,
        help_text="Tags of the agent's customer.",
    )

    service_field_names = {"password": "password1", "tag_ids": "tags"}
    service_reason_fields = {"AGENT_ALREADY_EXISTS": "username"}

    class Meta:
        model = Agent
        fields = ("customer", "username", "name", "detail", "ring_method", "permission")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "customer_id": data["customer"].pk,
            "username": data["username"],
            "password": data["password1"],
            "name": data["name"],
            "detail": data["detail"],
            "ring_method": data["ring_method"],
            "permission": data["permission"],
            "tag_ids": [tag.pk for tag in data["tags"]],
        }


class AgentChangeForm(ServiceModelForm):
    """The change page: each changed group of fields goes to its own service."""

    status_reason = forms.CharField(
        label="Reason", required=False, help_text="Recorded in the status history when the status changes."
    )
    permission = PermissionBitsField()
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    service_field_names = {"tag_ids": "tags", "reason": "status_reason"}
    service_skip_fields = ("addresses",)

    class Meta:
        model = Agent
        fields = ("name", "detail", "ring_method", "status", "permission")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        agent = self.instance
        if "tags" in self.fields:
            self.fields["tags"].queryset = Tag.objects.live().for_customer(agent.customer_id).order_by("name")
            self.initial["tags"] = [link.tag_id for link in agent.tag_links.all()]
        self.initial["permission"] = [bit.value for bit in Permission.bits_of(agent.permission)]


class AddressInlineForm(ServiceModelForm):
    position = forms.IntegerField(
        label="Order",
        required=False,
        min_value=0,
        help_text="Ring order; blank rows go last.",
        widget=forms.NumberInput(attrs={"class": "vIntegerField"}),
    )

    class Meta:
        model = Address
        fields = ("position", "type", "target", "target_name", "name", "detail")
        # Sized to their content, so that the inline fits the agent page at 1440 px (the
        # admin's 20em text fields made it 1776 px wide).
        widgets = {
            "target": forms.TextInput(attrs={"size": 26}),
            "target_name": forms.TextInput(attrs={"size": 14}),
            "name": forms.TextInput(attrs={"size": 14}),
            "detail": forms.TextInput(attrs={"size": 16}),
        }

    def as_service_address(self) -> dict:
        data = self.cleaned_data
        return {field: data.get(field) or "" for field in ("type", "target", "target_name", "name", "detail")}


def kept_address_forms(formset: BaseInlineFormSet) -> list[AddressInlineForm]:
    """The inline's rows the operator kept, in ring order.

    By the order number given; rows without one after the others; ties keep page order.
    """
    kept = [form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]

    def ring_order(form):
        position = form.cleaned_data.get("position")
        return (position is None, position or 0)

    return sorted(kept, key=ring_order)


class AddressFormSet(BaseInlineFormSet):
    """The addresses inline: replaced as one ordered list by `agent_replace_addresses`.

    No model-level uniqueness check here: the service decides (after making targets canonical).
    A refusal from an earlier pass over the same POST is shown next to the rows it names.
    """

    def __init__(self, *args, service_error: DomainError | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.service_error = service_error

    def submitted_addresses(self) -> list[dict]:
        return [form.as_service_address() for form in kept_address_forms(self)]

    def clean(self):
        if self.service_error is None:
            return
        list_errors = _ListErrors()
        add_domain_error(
            list_errors, self.service_error, rows=kept_address_forms(self), only="addresses", message="never"
        )
        if list_errors.messages:
            raise forms.ValidationError(list_errors.messages)


class _ListErrors:
    """The inline's own errors (above its rows), for `add_domain_error`."""

    fields: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add_error(self, field: str | None, error: str) -> None:
        self.messages.append(error)


class SetStatusActionForm(forms.Form):
    """The intermediate page of the "set status" action."""

    status = forms.ChoiceField(choices=AgentStatus.choices)
    reason = forms.CharField(required=False, help_text="Recorded in each agent's status history.")


# --- customers and access keys ------------------------------------------------------------------


class CustomerAddForm(PasswordPairForm, ServiceModelForm):
    """A customer and its first admin agent (`customer_create_with_admin`)."""

    admin_username = forms.CharField(label="First admin's username")

    service_field_names = {"username": "admin_username", "password": "password1"}
    service_reason_fields = {"AGENT_ALREADY_EXISTS": "admin_username"}

    class Meta:
        model = Customer
        fields = ("name", "detail")


class CustomerChangeForm(ServiceModelForm):
    class Meta:
        model = Customer
        fields = ("name", "detail", "time_zone")
        help_texts = {
            "time_zone": "An IANA name (Europe/Berlin): reports and history count days and hours in it."
        }


class AccessKeyAddForm(ServiceModelForm):
    expire = forms.IntegerField(
        required=False,
        label="Lifetime (seconds)",
        help_text="86400 (one day) to 3153600000 (100 years); blank for the default lifetime.",
    )

    class Meta:
        model = AccessKey
        fields = ("customer", "name", "detail")


class AccessKeyChangeForm(ServiceModelForm):
    class Meta:
        model = AccessKey
        fields = ("name", "detail")
