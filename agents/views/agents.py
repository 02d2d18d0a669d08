"""The agents list and what starts from it: filters, bulk actions, a new agent, the CSV export."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents import csv_format, selectors, services
from agents.forms import PAGE_SIZE_CHOICES, AgentCreateForm, AgentFilterForm, BulkActionForm
from agents.models import Agent, Permission
from agents.stream.topics import customer_agents_topic
from agents.views.common import error_text, live_updates, safe_next
from tags.selectors import tag_list
from voipbin_admin.console import add_domain_error, console_customer_id, supervisor_required
from voipbin_admin.errors import DomainError

DEFAULT_PAGE_SIZE = 50


def _list_filters(request: HttpRequest, tags) -> tuple[AgentFilterForm, dict]:
    data = request.GET.copy()
    if data.get("per_page") not in dict(PAGE_SIZE_CHOICES):
        # The select shows the page size the list has (50), not its first choice.
        data["per_page"] = str(DEFAULT_PAGE_SIZE)
    form = AgentFilterForm(data, tags=tags)
    return form, form.filters()


@supervisor_required
@require_GET
def agent_list(request: HttpRequest) -> HttpResponse:
    customer_id = console_customer_id(request)
    live = live_updates(customer_id=customer_id, topic=customer_agents_topic(customer_id))
    tags = list(tag_list(customer_id=customer_id))
    form, filters = _list_filters(request, tags)
    agents = selectors.agent_console_list(customer_id=customer_id, **filters)
    # Keyset pages (next / previous) and a count that stops at 1,000: no page view counts or
    # skips a large customer's rows (README, "Large customers"). A first page with nothing
    # after it is counted already.
    page = selectors.agent_console_page(
        agents,
        ordering=filters["ordering"],
        size=form.page_size(),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    count = len(page.object_list) if page.is_whole_list else selectors.capped_count(agents)
    tag_names = {tag.id: tag.name for tag in tags}
    for agent in page.object_list:
        agent.tag_names = [
            tag_names[link.tag_id] for link in agent.tag_links.all() if link.tag_id in tag_names
        ]
    return render(
        request,
        "agents/agent_list.html",
        {
            "live": live,
            "form": form,
            "page": page,
            "count": f"{selectors.LIST_COUNT_LIMIT:,}+"
            if count > selectors.LIST_COUNT_LIMIT
            else f"{count:,}",
            "filtered": any(v for k, v in filters.items() if k != "ordering"),
            "bulk_form": BulkActionForm(tags=tags),
            "export_query": request.GET.urlencode(),
        },
    )


def _run_bulk_action(actor, agent: Agent, form: BulkActionForm, tag_name: str) -> str:
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
        return f"tag {tag_name} added"
    if action == "remove_tag":
        services.agent_remove_tags(actor=actor, agent=agent, tag_ids=[UUID(data["tag"])])
        return f"tag {tag_name} removed"
    services.agent_delete(actor=actor, agent=agent)
    return "deleted"


@supervisor_required
@require_POST
def agent_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected agents, each on its own; report per agent.

    Each agent's change is its own service call (and transaction): one agent refused (say the
    customer's last admin cannot be deleted) does not stop the others. Delete asks first.
    """
    customer_id = console_customer_id(request)
    tags = list(tag_list(customer_id=customer_id))
    back = safe_next(request, reverse("console:agent_list"))
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
                # Said before the delete: one's own agent, deleted, cannot sign in again.
                "includes_self": request.user.pk in found,
                "next": back,
            },
        )
    results = []
    tag_name = form.tag_names.get(form.cleaned_data.get("tag") or "", "")  # the bulk tag's, once
    for agent_id in ids:
        agent = found.get(agent_id)
        if agent is None:
            results.append(
                {"label": str(agent_id), "ok": False, "reason": "AGENT_NOT_FOUND", "text": "No such agent."}
            )
            continue
        label = agent.name or agent.username
        try:
            text = _run_bulk_action(request.user, agent, form, tag_name)
        except DomainError as error:
            results.append(
                {
                    "label": label,
                    "username": agent.username,
                    "ok": False,
                    "reason": error.reason,
                    "text": error_text(error),
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


@supervisor_required
def agent_create(request: HttpRequest) -> HttpResponse:
    customer_id = console_customer_id(request)
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


@supervisor_required
@require_GET
def agent_export(request: HttpRequest) -> HttpResponse:
    """The agents list as CSV, with the list's current filters and order."""
    customer_id = console_customer_id(request)
    tags = list(tag_list(customer_id=customer_id))
    _form, filters = _list_filters(request, tags)
    agents = selectors.agent_console_list(customer_id=customer_id, **filters)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="agents-{stamp}.csv"'
    csv_format.write_agents_csv(response, agents, {tag.id: tag.name for tag in tags})
    return response
