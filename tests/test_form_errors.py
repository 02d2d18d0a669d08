"""The one translator of a service's refusal onto a form (`voipbin_admin.form_errors`): by the
field error's path, to a field, to a row of a list, or on top."""

from __future__ import annotations

from django import forms

from voipbin_admin.errors import FieldError, InvalidArgument
from voipbin_admin.form_errors import add_domain_error


class AgentForm(forms.Form):
    username = forms.CharField(required=False)
    tags = forms.CharField(required=False)


class AddressForm(forms.Form):
    type = forms.CharField(required=False)
    target = forms.CharField(required=False)


def bound(form_class: type[forms.Form]) -> forms.Form:
    form = form_class({})
    form.is_valid()
    return form


def test_field_error_keeps_the_contract_string_and_a_path():
    detail = FieldError.at(("addresses", 3, "target"), "is required")
    assert detail.field == "addresses[3].target"
    assert detail.path == ("addresses", 3, "target")
    assert detail.row_in("addresses") == (3, "target")
    assert FieldError("username", "is required").path == ("username",)
    assert FieldError("username", "is required").row_in("addresses") is None


def test_a_path_goes_to_its_form_field_under_the_forms_name():
    form = bound(AgentForm)
    error = InvalidArgument("INVALID_TAG_IDS", "Unknown tags.", [FieldError("tag_ids", "unknown tag id 7")])
    add_domain_error(form, error, field_names={"tag_ids": "tags"})
    assert form.errors == {"tags": ["unknown tag id 7"]}


def test_a_row_path_goes_next_to_that_rows_field():
    rows = [bound(AddressForm) for _ in range(4)]
    top = bound(AgentForm)
    error = InvalidArgument(
        "INVALID_ADDRESSES", "Invalid addresses.", [FieldError.at(("addresses", 3, "target"), "is required")]
    )
    add_domain_error(top, error, rows=rows)
    assert rows[3].errors == {"target": ["is required"]}
    assert [row.errors for row in rows[:3]] == [{}, {}, {}]
    assert top.errors == {}


def test_a_row_that_is_not_shown_is_named_on_top_counting_from_one():
    top = bound(AgentForm)
    error = InvalidArgument(
        "INVALID_ADDRESSES", "Invalid addresses.", [FieldError.at(("addresses", 3, "target"), "is required")]
    )
    add_domain_error(top, error, rows=[bound(AddressForm)])
    assert top.non_field_errors() == ["Invalid addresses.", "Row 4 target: is required"]


def test_an_unknown_field_goes_to_the_non_field_errors():
    form = bound(AgentForm)
    error = InvalidArgument("INVALID_EXPIRE", "expire is too short.", [FieldError("expire", "is too short")])
    add_domain_error(form, error)
    assert form.non_field_errors() == ["expire is too short.", "expire: is too short"]


def test_an_error_without_details_goes_next_to_its_reasons_field():
    form = bound(AgentForm)
    add_domain_error(
        form,
        InvalidArgument("AGENT_ALREADY_EXISTS", "An agent with this username already exists."),
        reason_fields={"AGENT_ALREADY_EXISTS": "username"},
    )
    assert form.errors == {"username": ["An agent with this username already exists."]}
