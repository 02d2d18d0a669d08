"""The supervisor console: server-rendered pages over the same services and selectors as the API.

Views only translate: a form parses the request, a service does the work, a `DomainError` goes
back next to the field it is about (or into a message). Supervisors (admins and managers) see
their own customer only, a project super admin included; another customer's agent in a URL is
answered as missing (404). A plain agent gets its own page (status and addresses) and a 403 for
every supervisor page.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_POST

from agents import csv_io, permissions, selectors, services
from agents.addresses import AddressInvalid, canonical_target
from agents.forms import (
    AccessKeyCreateForm,
    AddressEditor,
    AgentCreateForm,
    AgentFilterForm,
    AgentProfileForm,
    AgentTagsForm,
    BoardFilterForm,
    BulkActionForm,
    CsvImportForm,
    PasswordResetForm,
    PermissionForm,
    SignInForm,
    StatusForm,
    add_domain_error,
    permission_to_roles,
)
from agents.models import Agent, AgentImport, AgentImportState, AgentStatus, Permission
from agents.sign_in import limited_sign_in_view
from agents.templatetags.console import format_duration
from tags.selectors import tag_list, tag_list_with_agent_counts
from voipbin_admin.errors import DomainError, InvalidArgument, NotFound

_URL_PLACEHOLDER = UUID(int=0)
_Owned = TypeVar("_Owned")

#: The order statuses are shown in: who can take a call first.
STATUS_ORDER = [
    AgentStatus.AVAILABLE,
    AgentStatus.RINGING,
    AgentStatus.BUSY,
    AgentStatus.AWAY,
    AgentStatus.OFFLINE,
]


# --- access ------------------------------------------------------------------------------------


def _refuse(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "agents/forbidden.html", {"message": message}, status=403)


def _signed_in(view):
    """Like `login_required`, but a background (htmx) request is sent to sign in as a whole page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("console:login")
            return response
        return login_required(view)(request, *args, **kwargs)

    return wrapper


def supervisor_required(view):
    """Admins and managers (and project super admins) only; everyone else gets a 403 page."""

    @_signed_in
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not permissions.can_use_console(request.user):
            return _refuse(request, "This page is for supervisors (admins and managers).")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    """Customer admins (and project super admins) only."""

    @supervisor_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not permissions.is_admin_of(request.user, request.user.customer_id):
            return _refuse(request, "This page is for customer admins.")
        return view(request, *args, **kwargs)

    return wrapper


def _customer_id(request: HttpRequest) -> UUID:
    """The console always works on the signed-in agent's own customer (super admins included)."""
    return request.user.customer_id


def console_object_or_404(request: HttpRequest, get: Callable[[], _Owned], *, what: str) -> _Owned:
    """What the selector call `get` returns, if it is the signed-in agent's customer's; else a 404.

    The selectors let a project super admin reach every customer; the console shows its own
    customer only, to everyone.
    """
    try:
        obj = get()
    except (NotFound, InvalidArgument):
        raise Http404(f"No such {what}.") from None
    if obj.customer_id != _customer_id(request):
        raise Http404(f"No such {what}.")
    return obj


def _console_agent(request: HttpRequest, agent_id: UUID) -> Agent:
    """A live agent of the supervisor's customer; anything else is answered as missing."""
    return console_object_or_404(
        request,
        lambda: selectors.agent_get(actor=request.user, agent_id=agent_id, with_related=True),
        what="agent",
    )


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _error_text(error: DomainError) -> str:
    if error.details:
        return error.message + " " + "; ".join(f"{d.field}: {d.message}" for d in error.details)
    return error.message


# --- sign in, home -------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """Sign in with an agent's username and password.

    Failed attempts count against the same per-username and per-address limit as the API's
    `POST /auth/login`, so the console is no way around it.
    """

    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    @method_decorator(limited_sign_in_view)
    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)


class SignOutView(auth_views.LogoutView):
    pass


@_signed_in
def home(request: HttpRequest) -> HttpResponse:
    if permissions.can_use_console(request.user):
        return redirect("console:board")
    return redirect("console:me")


# --- live status board ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardTile:
    """What one agent's tile shows, worked out once so the board's template stays cheap."""

    url: str
    label: str
    username: str
    status: str
    since_ms: int
    since_text: str
    tags: str


def _board_context(request: HttpRequest) -> dict:
    customer_id = _customer_id(request)
    tags = list(tag_list_with_agent_counts(customer_id=customer_id))
    form = BoardFilterForm(request.GET, tags=tags)
    filters = form.filters()
    tag_names = {tag.id: tag.name for tag in tags}
    now = timezone.now()
    # One reverse() for the whole board rather than one per tile.
    url_pattern = reverse("console:agent_detail", args=[_URL_PLACEHOLDER])
    groups: dict[str, list[BoardTile]] = {status: [] for status in STATUS_ORDER}
    shown = 0
    for agent in selectors.agent_board(customer_id=customer_id, **filters):
        shown += 1
        groups[agent.status].append(
            BoardTile(
                url=url_pattern.replace(str(_URL_PLACEHOLDER), str(agent.id)),
                label=agent.name or agent.username,
                username=agent.username,
                status=agent.status,
                since_ms=int(agent.tm_status.timestamp() * 1000),
                since_text=format_duration(now - agent.tm_status),
                tags=" · ".join(tag_names[tag_id] for tag_id in agent.tag_ids if tag_id in tag_names),
            )
        )
    counts = selectors.agent_status_counts(customer_id=customer_id)
    return {
        "form": form,
        "filtered": any(filters.values()),
        "now": now,
        "groups": [(status, groups[status]) for status in STATUS_ORDER if groups[status]],
        "shown": shown,
        "total": sum(counts.values()),
        "counts": [(status, counts[status]) for status in STATUS_ORDER],
        "tags": tags,
        "uncovered_tags": [tag for tag in tags if not tag.available_count],
        "wall": request.GET.get("wall") == "1",
    }


def _board_version(request: HttpRequest) -> str:
    """The board's data fingerprint plus the filters it was rendered for."""
    filters = "&".join(f"{key}={request.GET.get(key, '')}" for key in ("q", "status", "tag"))
    data = selectors.agent_board_version(customer_id=_customer_id(request))
    return data + "." + hashlib.sha256(filters.encode()).hexdigest()[:8]


@supervisor_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    context = _board_context(request)
    context["version"] = _board_version(request)
    return render(request, "agents/board.html", context)


@supervisor_required
@require_GET
@gzip_page
def board_live(request: HttpRequest) -> HttpResponse:
    """The board's live part, polled every second; 204 (nothing to swap) when nothing changed.

    Everything comes from the database, so a change made by any server process shows up.
    """
    version = _board_version(request)
    if request.GET.get("v") == version:
        return HttpResponse(status=204)
    context = _board_context(request)
    context["version"] = version
    return render(request, "_partials/board_live.html", context)


# --- agents list, bulk actions -----------------------------------------------------------------


def _list_filters(request: HttpRequest, tags) -> tuple[AgentFilterForm, dict]:
    form = AgentFilterForm(request.GET, tags=tags)
    return form, form.filters()


@supervisor_required
@require_GET
def agent_list(request: HttpRequest) -> HttpResponse:
    customer_id = _customer_id(request)
    tags = list(tag_list(customer_id=customer_id))
    form, filters = _list_filters(request, tags)
    agents = selectors.agent_console_list(customer_id=customer_id, **filters)
    page = Paginator(agents, form.page_size()).get_page(request.GET.get("page"))
    tag_names = {tag.id: tag.name for tag in tags}
    for agent in page.object_list:
        agent.tag_names = [
            tag_names[link.tag_id] for link in agent.tag_links.all() if link.tag_id in tag_names
        ]
    return render(
        request,
        "agents/agent_list.html",
        {
            "form": form,
            "page": page,
            "filtered": any(v for k, v in filters.items() if k != "ordering"),
            "bulk_form": BulkActionForm(tags=tags),
            "export_query": request.GET.urlencode(),
        },
    )


def _run_bulk_action(actor, agent: Agent, form: BulkActionForm) -> str:
    """One agent's part of a bulk action; returns what was done (raises DomainError)."""
    data = form.cleaned_data
    action = data["action"]
    if action == "set_status":
        previous = agent.status
        services.agent_set_status(actor=actor, agent=agent, status=data["status"], reason=data["reason"])
        if previous == data["status"]:
            return f"already {previous}"
        return f"{previous} → {data['status']}"
    if action == "add_tag":
        services.agent_add_tags(actor=actor, agent=agent, tag_ids=[UUID(data["tag"])])
        return "tag added"
    if action == "remove_tag":
        services.agent_remove_tags(actor=actor, agent=agent, tag_ids=[UUID(data["tag"])])
        return "tag removed"
    services.agent_delete(actor=actor, agent=agent)
    return "deleted"


@supervisor_required
@require_POST
def agent_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected agents, each on its own; report per agent.

    Each agent's change is its own service call (and transaction): one agent refused (say the
    customer's last admin cannot be deleted) does not stop the others. Delete asks first.
    """
    customer_id = _customer_id(request)
    tags = list(tag_list(customer_id=customer_id))
    back = _safe_next(request, reverse("console:agent_list"))
    form = BulkActionForm(request.POST, tags=tags)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    ids = form.cleaned_data["agent_ids"]
    found = {agent.id: agent for agent in selectors.agent_list(customer_id=customer_id).filter(pk__in=ids)}
    if form.cleaned_data["action"] == "delete" and not form.cleaned_data["confirmed"]:
        return render(
            request,
            "agents/agent_bulk_confirm.html",
            {
                "form": form,
                "agents": [found[i] for i in ids if i in found],
                "missing": len(ids) - len(found),
                "next": back,
            },
        )
    results = []
    for agent_id in ids:
        agent = found.get(agent_id)
        if agent is None:
            results.append(
                {"label": str(agent_id), "ok": False, "reason": "AGENT_NOT_FOUND", "text": "No such agent."}
            )
            continue
        label = agent.name or agent.username
        try:
            text = _run_bulk_action(request.user, agent, form)
        except DomainError as error:
            results.append(
                {
                    "label": label,
                    "username": agent.username,
                    "ok": False,
                    "reason": error.reason,
                    "text": _error_text(error),
                }
            )
        else:
            results.append(
                {"label": label, "username": agent.username, "ok": True, "text": text, "id": str(agent.id)}
            )
    action_label = dict(form.fields["action"].choices)[form.cleaned_data["action"]]
    request.session["bulk_result"] = {"action": action_label, "results": results, "next": back}
    return redirect("console:agent_bulk_result")


@supervisor_required
@require_GET
def agent_bulk_result(request: HttpRequest) -> HttpResponse:
    summary = request.session.pop("bulk_result", None)
    if summary is None:
        return redirect("console:agent_list")
    results = summary["results"]
    return render(
        request,
        "agents/agent_bulk_result.html",
        {
            **summary,
            "succeeded": [r for r in results if r["ok"]],
            "failed": [r for r in results if not r["ok"]],
        },
    )


# --- create --------------------------------------------------------------------------------------


@supervisor_required
def agent_create(request: HttpRequest) -> HttpResponse:
    customer_id = _customer_id(request)
    tags = list(tag_list(customer_id=customer_id))
    if request.method == "POST":
        form = AgentCreateForm(request.POST, actor=request.user, tags=tags)
        if form.is_valid():
            try:
                agent = services.agent_create(
                    actor=request.user, customer_id=customer_id, **form.service_arguments()
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, f"Agent {agent.username} created. Add its addresses below.")
                return redirect("console:agent_detail", agent_id=agent.id)
        return render(request, "agents/agent_create.html", {"form": form}, status=400)
    form = AgentCreateForm(actor=request.user, tags=tags, initial={"roles": [str(Permission.CUSTOMER_AGENT)]})
    return render(request, "agents/agent_create.html", {"form": form})


# --- one agent -----------------------------------------------------------------------------------


def _history(agent: Agent) -> list[dict]:
    """Status changes, newest first, each with how long the agent stayed in that status."""
    rows = []
    until = timezone.now()
    for change in selectors.agent_status_history(agent=agent):
        rows.append({"change": change, "lasted": until - change.tm_create, "current": not rows})
        until = change.tm_create
    return rows


def _agent_page_context(request: HttpRequest, agent: Agent, overrides: dict) -> dict:
    tags = list(tag_list(customer_id=agent.customer_id))
    tag_names = {tag.id: tag.name for tag in tags}
    agent_tag_ids = [link.tag_id for link in agent.tag_links.all()]
    is_admin = permissions.is_admin_of(request.user, agent.customer_id)
    context = {
        "agent": agent,
        "now": timezone.now(),
        "agent_tags": [tag_names[t] for t in agent_tag_ids if t in tag_names],
        "history": _history(agent),
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
            if permissions.may_change_permission_of(request.user, agent)
            else None
        ),
        "password_form": PasswordResetForm(own=agent.pk == request.user.pk),
    }
    context.update(overrides)
    return context


def _render_agent_page(request: HttpRequest, agent: Agent, status: int = 200, **overrides) -> HttpResponse:
    context = _agent_page_context(request, agent, overrides)
    return render(request, "agents/agent_detail.html", context, status=status)


def _render_own_page(request: HttpRequest, agent: Agent, status: int = 200, **overrides) -> HttpResponse:
    context = {
        "agent": agent,
        "now": timezone.now(),
        "history": _history(agent),
        "status_form": StatusForm(initial={"status": agent.status}),
        "addresses": AddressEditor.from_agent(agent),
    }
    context.update(overrides)
    return render(request, "agents/agent_me.html", context, status=status)


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
            messages.success(request, done)
            return redirect(_agent_page_url(agent, section))
    return _render_agent_page(request, agent, status=400, **{f"{section}_form": form})


@supervisor_required
@require_GET
def agent_detail(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    return _render_agent_page(request, _console_agent(request, agent_id))


@supervisor_required
@require_POST
def agent_profile(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = _console_agent(request, agent_id)
    form = AgentProfileForm(request.POST)
    return _save_agent_section(
        request,
        agent,
        form,
        section="profile",
        save=lambda: services.agent_update(actor=request.user, agent=agent, **form.cleaned_data),
        done="Profile saved.",
    )


def _change_status(request: HttpRequest, agent: Agent, render_page, success_url: str) -> HttpResponse:
    form = StatusForm(request.POST)
    if form.is_valid():
        previous = agent.status
        try:
            services.agent_set_status(actor=request.user, agent=agent, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            new = form.cleaned_data["status"]
            if new == previous:
                messages.info(request, f"Status is already {new}.")
            else:
                messages.success(request, f"Status changed from {previous} to {new}.")
            return redirect(success_url)
    return render_page(request, agent, status=400, status_form=form)


def _replace_addresses(request: HttpRequest, agent: Agent, render_page, success_url: str) -> HttpResponse:
    editor = AddressEditor.from_post(request.POST)
    try:
        services.agent_replace_addresses(actor=request.user, agent=agent, addresses=editor.payload())
    except DomainError as error:
        editor.add_domain_error(error)
        return render_page(request, agent, status=400, addresses=editor)
    messages.success(request, "Addresses saved.")
    return redirect(success_url)


@supervisor_required
@require_POST
def agent_status(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = _console_agent(request, agent_id)
    return _change_status(request, agent, _render_agent_page, _agent_page_url(agent, "status"))


@supervisor_required
@require_POST
def agent_addresses(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = _console_agent(request, agent_id)
    return _replace_addresses(request, agent, _render_agent_page, _agent_page_url(agent, "addresses"))


@supervisor_required
@require_POST
def agent_tags(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = _console_agent(request, agent_id)
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
    agent = _console_agent(request, agent_id)
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
    agent = _console_agent(request, agent_id)
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
    agent = _console_agent(request, agent_id)
    if request.method == "POST":
        try:
            updated = services.agent_regenerate_direct_hash(actor=request.user, agent=agent)
        except DomainError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(
                request, f"New direct SIP URI: {updated.direct_sip_uri}. The previous one no longer works."
            )
        return redirect(_agent_page_url(agent, "direct"))
    return render(request, "agents/agent_direct_hash_confirm.html", {"agent": agent})


@supervisor_required
def agent_delete(request: HttpRequest, agent_id: UUID) -> HttpResponse:
    agent = _console_agent(request, agent_id)
    if request.method == "POST":
        try:
            services.agent_delete(actor=request.user, agent=agent)
        except DomainError as error:
            messages.error(request, _error_text(error))
            return redirect("console:agent_detail", agent_id=agent.id)
        messages.success(
            request, f"Agent {agent.username} deleted; its username, addresses and direct hash are free."
        )
        return redirect("console:agent_list")
    return render(request, "agents/agent_delete_confirm.html", {"agent": agent})


@_signed_in
@require_POST
def address_check(request: HttpRequest) -> HttpResponse:
    """Inline check of one address target as it is typed, with the very rule the service applies."""
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


# --- the plain agent's own page -----------------------------------------------------------------


def _me(request: HttpRequest) -> Agent:
    return selectors.agent_get(actor=request.user, agent_id=request.user.pk, with_related=True)


@_signed_in
@require_GET
def me(request: HttpRequest) -> HttpResponse:
    return _render_own_page(request, _me(request))


@_signed_in
@require_POST
def me_status(request: HttpRequest) -> HttpResponse:
    return _change_status(request, _me(request), _render_own_page, reverse("console:me") + "#status")


@_signed_in
@require_POST
def me_addresses(request: HttpRequest) -> HttpResponse:
    return _replace_addresses(request, _me(request), _render_own_page, reverse("console:me") + "#addresses")


# --- CSV ---------------------------------------------------------------------------------------


@supervisor_required
@require_GET
def agent_export(request: HttpRequest) -> HttpResponse:
    """The agents list as CSV, with the list's current filters and order."""
    customer_id = _customer_id(request)
    tags = list(tag_list(customer_id=customer_id))
    _form, filters = _list_filters(request, tags)
    agents = selectors.agent_console_list(customer_id=customer_id, **filters)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="agents-{stamp}.csv"'
    csv_io.write_agents_csv(response, agents, {tag.id: tag.name for tag in tags})
    return response


def _render_import_page(
    request: HttpRequest, form: CsvImportForm, status: int = 200, **context
) -> HttpResponse:
    context = {
        "form": form,
        "columns": csv_io.IMPORT_COLUMNS,
        "recent_imports": selectors.agent_import_list(customer_id=_customer_id(request)),
        **context,
    }
    return render(request, "agents/agent_import.html", context, status=status)


@supervisor_required
def agent_import(request: HttpRequest) -> HttpResponse:
    """Upload -> preview (a dry run, in this request) -> apply (a background task, all or nothing).

    The preview page carries the uploaded text in a hidden field and posts it back to apply;
    applying stores it for the worker (which empties it once done) and sends the supervisor to
    the import's page. The worker runs every rule again, so what is applied is checked as it is
    applied.
    """
    if request.method != "POST":
        return _render_import_page(request, CsvImportForm())
    form = CsvImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_import_page(request, form, status=400)
    content = form.cleaned_data["content"]
    if request.POST.get("step") == "apply":
        try:
            agent_import = csv_io.agent_import_create(
                actor=request.user, customer_id=_customer_id(request), content=content
            )
        except DomainError as error:
            file_errors = [detail.message for detail in error.details] or [error.message]
            return _render_import_page(
                request,
                CsvImportForm(),
                status=400,
                result=csv_io.ImportResult(errors=file_errors),
                tried_apply=True,
            )
        return redirect("console:agent_import_detail", agent_import.pk)
    result = csv_io.preview_agents_csv(actor=request.user, customer_id=_customer_id(request), content=content)
    return _render_import_page(
        request, CsvImportForm(), status=200 if result.ok else 400, result=result, content=content
    )


def _console_import(request: HttpRequest, agent_import_id: UUID, *, with_rows: bool = True) -> AgentImport:
    """An import of the supervisor's customer; anything else is answered as missing."""
    return console_object_or_404(
        request,
        lambda: selectors.agent_import_get(
            actor=request.user, agent_import_id=agent_import_id, with_rows=with_rows
        ),
        what="import",
    )


#: A queued import no worker has taken up for this long gets a hint that none may be running.
WORKER_LATE_AFTER = timedelta(seconds=30)


def _progress_context(agent_import: AgentImport) -> dict:
    waiting = timezone.now() - agent_import.tm_create
    late = agent_import.state == AgentImportState.QUEUED and waiting > WORKER_LATE_AFTER
    return {"agent_import": agent_import, "worker_late": late}


@supervisor_required
@require_GET
def agent_import_detail(request: HttpRequest, agent_import_id: UUID) -> HttpResponse:
    """An import's own page: its progress while the worker applies it (so a reload, or another
    supervisor, finds it again), then each row's outcome."""
    agent_import = _console_import(request, agent_import_id)
    result = csv_io.ImportResult.of(agent_import) if agent_import.is_finished else None
    return render(
        request,
        "agents/agent_import_detail.html",
        {"agent_import": agent_import, "result": result, **_progress_context(agent_import)},
    )


@supervisor_required
@require_GET
def agent_import_progress(request: HttpRequest, agent_import_id: UUID) -> HttpResponse:
    """The progress bar, polled every second (htmx); a finished import sends the browser to
    the page again, which then shows the outcome."""
    agent_import = _console_import(request, agent_import_id, with_rows=False)
    if agent_import.is_finished:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("console:agent_import_detail", args=[agent_import.pk])
        return response
    return render(request, "_partials/import_progress.html", _progress_context(agent_import))


# --- access keys -------------------------------------------------------------------------------


@admin_required
def accesskey_list(request: HttpRequest) -> HttpResponse:
    customer_id = _customer_id(request)
    new_key = None
    if request.method == "POST":
        form = AccessKeyCreateForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                access_key, plaintext = services.access_key_create(
                    actor=request.user,
                    customer_id=customer_id,
                    name=form.cleaned_data["name"],
                    detail=form.cleaned_data["detail"],
                    expire=form.expire_seconds(),
                )
            except DomainError as error:
                add_domain_error(form, error, {"expire": "expire_days"})
            else:
                # Shown once, in this very answer (no redirect): a key parked in the session or
                # in a message for the next page would sit in plain text in the session table.
                new_key = {"id": str(access_key.id), "token": plaintext}
                form = AccessKeyCreateForm()
                status = 200
    else:
        form = AccessKeyCreateForm()
        status = 200
    response = render(
        request,
        "accesskeys/accesskey_list.html",
        {
            "form": form,
            "access_keys": selectors.access_key_list(customer_id=customer_id),
            "new_key": new_key,
            "now": timezone.now(),
            "soon": timezone.now() + timedelta(days=30),
        },
        status=status,
    )
    if new_key:
        add_never_cache_headers(response)  # nor in the browser's cache
    return response


@admin_required
def accesskey_revoke(request: HttpRequest, access_key_id: UUID) -> HttpResponse:
    access_key = console_object_or_404(
        request,
        lambda: selectors.access_key_get(actor=request.user, access_key_id=access_key_id),
        what="access key",
    )
    if request.method == "POST":
        try:
            services.access_key_delete(actor=request.user, access_key=access_key)
        except DomainError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, f"Access key {access_key.name or access_key.token_prefix} revoked.")
        return redirect("console:accesskey_list")
    return render(request, "accesskeys/accesskey_revoke_confirm.html", {"access_key": access_key})
