"""One agent's page and its section forms: profile, status, addresses, tags, permission,
password, the direct hash, deleting it; and the addresses editor's inline check."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents import permissions, services
from agents.addresses import AddressInvalid, canonical_target
from agents.forms import (
    AddressEditor,
    AgentProfileForm,
    AgentTagsForm,
    PasswordResetForm,
    PermissionForm,
    StatusForm,
    permission_to_roles,
)
from agents.models import Agent
from agents.stream.topics import customer_agent_topic
from agents.templatetags.console import section_tag
from agents.views.common import (
    change_status,
    console_agent,
    error_text,
    history_zone,
    live_updates,
    replace_addresses,
    status_history,
)
from tags.selectors import tag_list
from voipbin_admin.console import add_domain_error, signed_in, supervisor_required
from voipbin_admin.errors import DomainError

#: The agent page's sections that always show their messages (templates/agents/agent_detail.html).
AGENT_PAGE_SECTIONS = ("status", "addresses", "direct", "profile", "tags", "password")


def _agent_page_context(request: HttpRequest, agent: Agent, overrides: dict) -> dict:
    tags = list(tag_list(customer_id=agent.customer_id))
    tag_names = {tag.id: tag.name for tag in tags}
    agent_tag_ids = [link.tag_id for link in agent.tag_links.all()]
    is_admin = permissions.is_admin_of(request.user, agent.customer_id)
    may_change_permission = permissions.may_change_permission_of(request.user, agent)
    context = {
        "live": live_updates(
            customer_id=agent.customer_id,
            topic=customer_agent_topic(agent.customer_id, agent.pk),
            agent=agent,
        ),
        "agent": agent,
        "now": timezone.now(),
        "agent_tags": [tag_names[t] for t in agent_tag_ids if t in tag_names],
        "history": status_history(agent),
        "history_zone": history_zone(request),
        "is_admin": is_admin,
        "profile_form": AgentProfileForm(
            initial={"name": agent.name, "detail": agent.detail, "ring_method": agent.ring_method}
        ),
        "status_form": StatusForm(initial={"status": agent.status}),
        "addresses": AddressEditor.from_agent(agent),
        "tags_form": AgentTagsForm(tags=tags, initial={"tags": [str(t) for t in agent_tag_ids]}),
        "permission_form": (
            PermissionForm(
                actor=request.user,
                customer_id=agent.customer_id,
                initial={"roles": permission_to_roles(agent.permission)},
            )
            if may_change_permission
            else None
        ),
        # The sections that show their own messages; the page's top shows the others.
        "message_sections": [*AGENT_PAGE_SECTIONS, *(["permission"] if may_change_permission else [])],
        "password_form": PasswordResetForm(own=agent.pk == request.user.pk),
    }
    context.update(overrides)
    return context


def _render_agent_page(request: HttpRequest, agent: Agent, status: int = 200, **overrides) -> HttpResponse:
    context = _agent_page_context(request, agent, overrides)
    return render(request, "agents/agent_detail.html", context, status=status)


def _agent_page_url(agent: Agent, section: str) -> str:
    return reverse("console:agent_detail", args=[agent.id]) + f"#{section}"


def _save_agent_section(
    request: HttpRequest,
    agent: Agent,
    form: forms.Form,
    *,
    section: str,
    save: Callable[[], object],
    done: str,
) -> HttpResponse:
    """One form of the agent page: `save` calls the service once the form is valid; then back to
    the section, or the page again with the errors in the section's form (`<section>_form`)."""
    if form.is_valid():
        try:
            save()
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, done, extra_tags=section_tag(section))
            return redirect(_agent_page_url(agent, section))
    return _render_agent_page(request, agent, status=400, **{f"{section}_form": form})


@supervisor_required
@require_GET
def agent_detail(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    return _render_agent_page(request, console_agent(request, agent_id))


@supervisor_required
@require_POST
def agent_profile(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = console_agent(request, agent_id)
    form = AgentProfileForm(request.POST)
    return _save_agent_section(
        request,
        agent,
        form,
        section="profile",
        save=lambda: services.agent_update(actor=request.user, agent=agent, **form.cleaned_data),
        done="Profile saved.",
    )


@supervisor_required
@require_POST
def agent_status(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = console_agent(request, agent_id)
    return change_status(request, agent, _render_agent_page, _agent_page_url(agent, "status"))


@supervisor_required
@require_POST
def agent_addresses(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = console_agent(request, agent_id)
    return replace_addresses(request, agent, _render_agent_page, _agent_page_url(agent, "addresses"))


@supervisor_required
@require_POST
def agent_tags(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = console_agent(request, agent_id)
    form = AgentTagsForm(request.POST, tags=list(tag_list(customer_id=agent.customer_id)))
    return _save_agent_section(
        request,
        agent,
        form,
        section="tags",
        save=lambda: services.agent_replace_tags(
            actor=request.user, agent=agent, tag_ids=[UUID(t) for t in form.cleaned_data["tags"]]
        ),
        done="Tags saved.",
    )


@supervisor_required
@require_POST
def agent_permission(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    """Who may change which bit is the service's rule (`permissions.require_may_change_permission`)."""
    agent = console_agent(request, agent_id)
    form = PermissionForm(request.POST, actor=request.user, customer_id=agent.customer_id)
    return _save_agent_section(
        request,
        agent,
        form,
        section="permission",
        save=lambda: services.agent_set_permission(
            actor=request.user,
            agent=agent,
            permission=form.permission(previous=agent.permission, actor=request.user),
        ),
        done="Permission saved. The agent signs in again on its API clients.",
    )


@supervisor_required
@require_POST
def agent_password(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = console_agent(request, agent_id)
    form = PasswordResetForm(request.POST, own=agent.pk == request.user.pk)

    def save() -> None:
        updated = services.agent_set_password(
            actor=request.user,
            agent=agent,
            password=form.cleaned_data["password"],
            old_password=form.cleaned_data.get("old_password"),
        )
        if updated.pk == request.user.pk:
            update_session_auth_hash(request, updated)  # a supervisor resetting its own stays signed in

    return _save_agent_section(
        request,
        agent,
        form,
        section="password",
        save=save,
        done=f"Password of {agent.username} reset; its API tokens were revoked.",
    )


@supervisor_required
def agent_direct_hash(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    """GET asks for confirmation; POST regenerates (the old SIP URI stops working at once)."""
    agent = console_agent(request, agent_id)
    if request.method == "POST":
        try:
            updated = services.agent_regenerate_direct_hash(actor=request.user, agent=agent)
        except DomainError as error:
            messages.error(request, error_text(error), extra_tags=section_tag("direct"))
        else:
            messages.success(
                request,
                f"New direct SIP URI: {updated.direct_sip_uri}. The previous one no longer works.",
                extra_tags=section_tag("direct"),
            )
        return redirect(_agent_page_url(agent, "direct"))
    return render(request, "agents/agent_direct_hash_confirm.html", {"agent": agent})


@supervisor_required
def agent_delete(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = console_agent(request, agent_id)
    if request.method == "POST":
        try:
            services.agent_delete(actor=request.user, agent=agent)
        except DomainError as error:
            messages.error(request, error_text(error))
            return redirect("console:agent_detail", agent_id=agent.id)
        messages.success(
            request, f"Agent {agent.username} deleted; its username, addresses and direct hash are free."
        )
        return redirect("console:agent_list")
    return render(request, "agents/agent_delete_confirm.html", {"agent": agent})


@signed_in
@require_POST
def address_check(request: HttpRequest) -> HttpResponse:
    """Inline check of one address target as it is typed, with the very rule the service applies
    (the editor is on one's own page too, so any signed-in agent may ask)."""
    address_type = request.POST.get("type", "")
    target = request.POST.get("target", "")
    context = {"error": "", "canonical": ""}
    if target.strip():
        try:
            canonical = canonical_target(address_type, target)
        except AddressInvalid as exc:
            context["error"] = str(exc)
        else:
            context["canonical"] = canonical if canonical != target.strip() else ""
            context["ok"] = True
    return render(request, "_partials/address_hint.html", context)
