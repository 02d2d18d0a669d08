"""What every app's ModelAdmins share: the admin site as a door onto the services.

A ModelAdmin built on `ServiceAdminMixin` and forms built on `ServiceModelForm` write only
through services; a service's refusal (DomainError) comes back as form errors
(`voipbin_admin.form_errors`) and changes nothing. Deleting is the services' soft delete;
deleted rows are read-only. History is shown with `ReadOnlyAdmin`.

(Not named `admin.py`: `voipbin_admin` is an installed app, so the admin's autodiscovery would
import that name.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from voipbin_admin.errors import DomainError
from voipbin_admin.form_errors import add_domain_error

#: Where a service's refusal waits for the second pass over the same POST (see changeform_view).
_SERVICE_ERROR = "admin_service_error"


def pending_service_error(request: HttpRequest) -> DomainError | None:
    """The refusal of the first pass over this POST, for the second pass to show."""
    return getattr(request, _SERVICE_ERROR, None)


class ServiceModelForm(forms.ModelForm):
    """A ModelForm that leaves the rules and the writing to the services.

    Django's model validation (field checks, unique constraints) is skipped and the instance is
    left untouched: the admin calls the services with `cleaned_data`, and the services are the
    one place that knows the rules and their wording. When a service refused an earlier pass
    over this same POST, `service_error` is set (see `ServiceAdminMixin.changeform_view`) and
    the form shows it, which keeps the form invalid so that nothing is written.
    """

    service_error: DomainError | None = None
    service_field_names: dict[str, str] = {}
    service_reason_fields: dict[str, str] = {}
    #: Fields whose details an inline formset shows rather than this form.
    service_skip_fields: tuple[str, ...] = ()

    def _post_clean(self):
        if self.service_error is not None:
            add_domain_error(
                self,
                self.service_error,
                field_names=self.service_field_names,
                reason_fields=self.service_reason_fields,
                skip=self.service_skip_fields,
                message="always",
            )


def adopt(obj: Model, saved: Model) -> None:
    """Make the admin's unsaved form instance stand for the row a service created."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def changed_values(form: forms.ModelForm, *names: str) -> dict:
    """Those of `names` the operator changed: the arguments of an `*_update` service."""
    return {name: form.cleaned_data[name] for name in names if name in form.changed_data}


def _some_names(names: list[str], shown: int = 20) -> str:
    """Names for a message; a long list ends with how many more there are."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def admin_changelist_url(model: type[Model], **filters) -> str:
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") + f"?{query}"


class DeletedListFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "No"), ("yes", "Yes")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(tm_delete__isnull=True)
        if self.value() == "yes":
            return queryset.filter(tm_delete__isnull=False)
        return queryset


class ServiceAdminMixin:
    """A ModelAdmin whose every write is a service call.

    Subclasses implement `save_model` (and `save_related`) and `delete_model` with services,
    and use forms derived from `ServiceModelForm`.

    A service's refusal (DomainError) must reach the operator as form errors and change
    nothing. Django runs a POST to the add/change page inside `transaction.atomic`; the error
    is let out of it, which undoes every write of that pass (an edit that calls several
    services is all or nothing). The same POST is then processed once more with the error
    attached to the request: the form (and the addresses inline) turn it into messages next to
    their fields and are therefore invalid, so this second pass renders the page with the
    operator's input and calls no service.

    Deleting is the services' soft delete: Django's "delete selected" action (which would
    delete rows) is replaced by `soft_delete`, which calls `delete_queryset`: one service call
    per object, each in its own transaction; refusals are reported per object and do not stop
    the others.
    """

    actions = ["soft_delete"]
    #: The add page's form and fieldsets (it calls a `*_create` service, which takes other
    #: fields than the change page's services); nothing on the add page is read-only.
    add_form: type[forms.ModelForm] | None = None
    add_fieldsets: tuple | None = None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            setattr(request, _SERVICE_ERROR, error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None and self.add_form is not None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        error = pending_service_error(request)
        if error is None:
            return form
        return type(form.__name__, (form,), {"service_error": error})

    def get_fieldsets(self, request, obj=None):
        if obj is None and self.add_fieldsets is not None:
            return self.add_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else super().get_readonly_fields(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )

    def get_deleted_objects(self, objs, request):
        """A soft delete changes only the selected rows: nothing cascades, nothing is protected."""
        objs = list(objs)
        return [str(obj) for obj in objs], {self.opts.verbose_name_plural: len(objs)}, set(), []

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None):
        """A deleted row is shown read-only."""
        return super().has_change_permission(request, obj) and (obj is None or obj.tm_delete is None)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.tm_delete is None)

    def construct_change_message(self, request, form, formsets, add=False):
        # The services wrote the changes (the formsets were never saved): name what changed.
        if add:
            return [{"added": {}}]
        fields = [str(form[name].label) for name in form.changed_data]
        fields += [
            str(formset.model._meta.verbose_name_plural) for formset in formsets if formset.has_changed()
        ]
        return [{"changed": {"fields": fields}}] if fields else []

    def run_for_each(
        self,
        request,
        objects: Iterable[Model],
        *,
        call: Callable[[Model], object],
        done: str,
        live_only: bool = True,
    ) -> None:
        """Call a service once per object (each in its own transaction) and report each outcome."""
        succeeded, skipped = [], []
        for obj in objects:
            if live_only and obj.tm_delete is not None:
                skipped.append(str(obj))
                continue
            try:
                call(obj)
            except DomainError as error:
                self.message_user(request, f"{obj}: {error.message}", messages.ERROR)
            else:
                succeeded.append(str(obj))
                self.log_change(request, obj, done)
        if succeeded:
            self.message_user(request, f"{done}: {_some_names(succeeded)}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped, already deleted: {_some_names(skipped)}.", messages.WARNING)

    def action_page(
        self, request, queryset, *, action: str, title: str, submit: str, form=None, destructive=False
    ):
        """The intermediate page of an action: lists the objects, asks for input or confirmation.

        Its form posts back to the changelist with `apply` set; the action then does the work.
        """
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.opts,
            "objects": queryset,
            "form": form,
            "action": action,
            "submit_label": submit,
            "destructive": destructive,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/service_action_confirmation.html", context)

    @admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
    def soft_delete(self, request, queryset):
        if "apply" not in request.POST:
            return self.action_page(
                request,
                queryset,
                action="soft_delete",
                title=f"Delete these {self.opts.verbose_name_plural}?",
                submit="Yes, delete them",
                destructive=True,
            )
        self.delete_queryset(request, queryset)
        return None

    def delete_queryset(self, request, queryset):
        self.run_for_each(request, queryset, call=lambda obj: self.delete_model(request, obj), done="Deleted")

    @admin.display(boolean=True, description="deleted", ordering="tm_delete")
    def is_deleted(self, obj) -> bool:
        return obj.tm_delete is not None


class ReadOnlyAdmin(admin.ModelAdmin):
    """History: operators may look, nobody may add, change or delete."""

    show_full_result_count = False  # no second COUNT(*) over a large table

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
