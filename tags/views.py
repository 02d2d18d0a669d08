"""The console's tag pages: list with agent counts, create, rename, delete."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tags import selectors, services
from tags.forms import TagForm
from tags.models import Tag
from voipbin_admin.console import (
    add_domain_error,
    console_customer_id,
    console_object_or_404,
    supervisor_required,
)
from voipbin_admin.errors import DomainError


def _console_tag(request: HttpRequest, tag_id: UUID) -> Tag:
    """A live tag of the supervisor's customer; anything else is answered as missing."""
    return console_object_or_404(
        request, lambda: selectors.tag_get(actor=request.user, tag_id=tag_id), what="tag"
    )


def _tag_with_counts(tag: Tag) -> Any:  # a Tag with its agent_count and available_count
    return next(
        t for t in selectors.tag_list_with_agent_counts(customer_id=tag.customer_id) if t.pk == tag.pk
    )


@supervisor_required
def tag_list(request: HttpRequest) -> HttpResponse:
    customer_id = console_customer_id(request)
    status = 200
    if request.method == "POST":
        form = TagForm(request.POST)
        if form.is_valid():
            try:
                tag = services.tag_create(actor=request.user, customer_id=customer_id, **form.cleaned_data)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, f"Tag {tag.name} created.")
                return redirect("console:tag_list")
        status = 400
    else:
        form = TagForm()
    tags = list(selectors.tag_list_with_capped_counts(customer_id=customer_id))
    for tag in tags:
        counted: Any = tag  # annotated with its counts
        counted.agent_count, counted.available_count = (
            _capped(counted.agent_count),
            _capped(counted.available_count),
        )
    return render(request, "tags/tag_list.html", {"form": form, "tags": tags}, status=status)


def _capped(count: int) -> int | str:
    """A count as the tags page shows it: "1,000+" past the limit."""
    return f"{selectors.TAG_COUNT_LIMIT:,}+" if count > selectors.TAG_COUNT_LIMIT else count


@supervisor_required
def tag_edit(request: HttpRequest, tag_id: UUID) -> HttpResponse:
    tag = _console_tag(request, tag_id)
    if request.method == "POST":
        form = TagForm(request.POST)
        if form.is_valid():
            try:
                services.tag_update(actor=request.user, tag=tag, **form.cleaned_data)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, f"Tag {form.cleaned_data['name']} saved.")
                return redirect("console:tag_list")
        return render(request, "tags/tag_edit.html", {"form": form, "tag": tag}, status=400)
    form = TagForm(initial={"name": tag.name, "detail": tag.detail})
    return render(request, "tags/tag_edit.html", {"form": form, "tag": _tag_with_counts(tag)})


@supervisor_required
def tag_delete(request: HttpRequest, tag_id: UUID) -> HttpResponse:
    """GET shows how many agents lose the tag; POST deletes it."""
    tag = _tag_with_counts(_console_tag(request, tag_id))
    if request.method == "POST":
        try:
            services.tag_delete(actor=request.user, tag=tag)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            removed = tag.agent_count
            if removed:
                taken_off = f"it was taken off {removed} agent{'s' if removed != 1 else ''}"
            else:
                taken_off = "no agent had it"
            messages.success(request, f"Tag {tag.name} deleted; {taken_off}.")
        return redirect("console:tag_list")
    return render(request, "tags/tag_delete_confirm.html", {"tag": tag})
