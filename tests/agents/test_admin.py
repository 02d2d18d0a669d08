"""The Django admin site: only super admins get in, and every write goes through the services.

The tests post the real admin forms (with the inline management form) and check the database,
the status history and the events, as the API tests do for the same services.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents import services
from agents.models import (
    AccessKey,
    Address,
    Agent,
    AgentEvent,
    AgentEventType,
    AgentStatus,
    AgentStatusChange,
    Customer,
    LoginToken,
    Permission,
)
from agents.permissions import SYSTEM
from tags.models import Tag
from tags.services import tag_delete
from tests.factories import PASSWORD, make_agent, make_customer_admin, make_tag
from voipbin_admin.errors import InvalidArgument, PermissionDenied

# --- helpers -------------------------------------------------------------------------------------


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def page_form_data(response) -> dict:
    """What a browser sends back from an add/change page left as it is: every field of the
    form, of each inline formset and of its management form."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data: dict = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            key = form.add_prefix(name)
            if value is True:
                data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            else:
                data[key] = str(value)
    return data


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def event_types(agent) -> list[str]:
    return list(AgentEvent.objects.filter(agent=agent).order_by("id").values_list("type", flat=True))


def run_action(client, model, action: str, objects, **fields):
    """Choose an action on the changelist and, if it asks, answer its intermediate page."""
    url = admin_url(model, "changelist")
    selected = [str(obj.pk) for obj in objects]
    data = {"action": action, "_selected_action": selected, "index": "0"}
    first = client.post(url, data)
    if first.status_code != 200:
        return first
    return client.post(url, {"action": action, "_selected_action": selected, "apply": "yes", **fields})


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.fixture
def tag_a(customer_a):
    return make_tag(customer_a.id, name="billing")


@pytest.fixture
def access_key_a(customer_a):
    access_key, _plaintext = services.access_key_create(actor=SYSTEM, customer_id=customer_a.id, name="crm")
    return access_key


# --- who may use the admin site --------------------------------------------------------------------


def test_super_admin_sees_every_model_on_the_index(operator):
    response = operator.get(reverse("admin:index"))

    assert response.status_code == 200
    for model in (Customer, Agent, AccessKey, AgentStatusChange, AgentEvent, Tag):
        assert admin_url(model, "changelist") in response.content.decode()


def test_super_admin_signs_in_through_the_login_page(client, super_admin):
    response = client.post(
        reverse("admin:login"), {"username": "SAM-superadmin", "password": PASSWORD, "next": "/admin/"}
    )

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("persona", ["admin_a", "manager_a", "agent_a"])
def test_agents_without_the_super_admin_bit_are_refused(client, request, persona):
    agent = request.getfixturevalue(persona)

    response = client.post(reverse("admin:login"), {"username": agent.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors

    client.force_login(agent)
    for url in (reverse("admin:index"), admin_url(Agent, "changelist"), admin_url(Agent, "add")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_a_deleted_super_admin_is_refused(client, customer_a):
    operator = make_agent(customer_a.id, username="old-operator", permission=Permission.PROJECT_SUPER_ADMIN)
    client.force_login(operator)
    services.agent_delete(actor=SYSTEM, agent=operator)

    assert client.get(reverse("admin:index")).status_code == 302
    client.logout()
    response = client.post(reverse("admin:login"), {"username": "old-operator", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# --- every page of every ModelAdmin loads ----------------------------------------------------------


def test_every_registered_model_is_covered_by_these_tests():
    from django_tasks_db.models import DBTaskResult  # read-only; tests/agents/test_csv_import.py

    registered = {Customer, Agent, AccessKey, AgentStatusChange, AgentEvent, Tag, DBTaskResult}
    assert set(admin.site._registry) == registered


@pytest.fixture
def some_of_everything(customer_a, agent_a, tag_a, access_key_a, super_admin):
    services.agent_replace_addresses(
        actor=SYSTEM, agent=agent_a, addresses=[{"type": "extension", "target": "101"}]
    )
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[tag_a.id])
    services.agent_set_status(actor=super_admin, agent=agent_a, status="away", reason="lunch")
    return {
        Customer: customer_a,
        Agent: agent_a,
        AccessKey: access_key_a,
        AgentStatusChange: AgentStatusChange.objects.filter(agent=agent_a).first(),
        AgentEvent: AgentEvent.objects.filter(agent=agent_a).first(),
    }


@pytest.mark.parametrize(
    ("model", "can_add"),
    [(Customer, True), (Agent, True), (AccessKey, True), (AgentStatusChange, False), (AgentEvent, False)],
)
def test_changelist_search_add_and_change_pages_load(operator, some_of_everything, model, can_add):
    obj = some_of_everything[model]

    assert operator.get(admin_url(model, "changelist")).status_code == 200
    search = operator.get(admin_url(model, "changelist"), {"q": "pat"})
    assert search.status_code == 200
    assert operator.get(admin_url(model, "add")).status_code == (200 if can_add else 403)
    assert operator.get(admin_url(model, "change", obj.pk)).status_code == 200


def test_searching_agents_by_username_name_and_address(operator, customer_a, agent_a, manager_a):
    services.agent_replace_addresses(
        actor=SYSTEM,
        agent=agent_a,
        addresses=[{"type": "tel", "target": "+15559876543"}, {"type": "tel", "target": "+15559876544"}],
    )
    services.agent_update(actor=SYSTEM, agent=manager_a, name="Maria Supervisor")

    def found(term):
        response = operator.get(admin_url(Agent, "changelist"), {"q": term})
        return [agent.username for agent in response.context["cl"].result_list]

    # Both addresses match; the agent is listed once.
    assert found("+1555987654") == ["pat-agent"]
    assert found("mike-man") == ["mike-manager"]
    assert found("supervisor") == ["mike-manager"]


def test_agent_list_filters(operator, customer_a, admin_b, agent_a, manager_a, tag_a):
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[tag_a.id])
    services.agent_set_status(actor=SYSTEM, agent=manager_a, status="available")
    services.agent_update(actor=SYSTEM, agent=manager_a, ring_method="linear")
    gone = make_agent(customer_a.id, username="gone")
    services.agent_delete(actor=SYSTEM, agent=gone)

    def listed(**filters):
        response = operator.get(admin_url(Agent, "changelist"), filters)
        return {agent.username for agent in response.context["cl"].result_list}

    assert listed(customer__id__exact=admin_b.customer_id) == {"bob-admin"}
    assert listed(tag=tag_a.id) == {"pat-agent"}
    assert listed(status__exact="available") == {"mike-manager"}
    assert listed(ring_method__exact="linear") == {"mike-manager"}
    assert listed(deleted="yes") == {"gone"}
    assert "gone" not in listed(deleted="no")


# --- lists stay fast --------------------------------------------------------------------------------


def add_rows(customer, count: int) -> None:
    """`count` more of everything: agents with a tag, addresses and history, keys, customers."""
    for _ in range(count):
        tag = make_tag(customer.id)
        agent = make_agent(customer.id, tag_ids=[tag.id])
        services.agent_replace_addresses(
            actor=SYSTEM, agent=agent, addresses=[{"type": "extension", "target": str(agent.pk.int)[:15]}]
        )
        services.agent_set_status(actor=SYSTEM, agent=agent, status="available")
        services.access_key_create(actor=SYSTEM, customer_id=customer.id)
        make_customer_admin()


@pytest.mark.parametrize("model", [Customer, Agent, AccessKey, AgentStatusChange, AgentEvent, Tag])
def test_changelists_use_the_same_number_of_queries_for_5_and_50_rows(operator, customer_a, model):
    url = admin_url(model, "changelist")
    add_rows(customer_a, 5)
    few = query_count(operator, url)

    add_rows(customer_a, 45)
    assert query_count(operator, url) == few
    assert query_count(operator, url + "?q=a") <= few + 2


# --- adding an agent -----------------------------------------------------------------------------------


def add_agent_data(customer, **overrides) -> dict:
    return {
        "customer": str(customer.pk),
        "username": "new-agent",
        "password1": "s3cret-pw",
        "password2": "s3cret-pw",
        "name": "New Agent",
        "detail": "night shift",
        "ring_method": "linear",
        "permission": [str(Permission.CUSTOMER_AGENT), str(Permission.CUSTOMER_MANAGER)],
        **overrides,
    }


def test_adding_an_agent_goes_through_agent_create(operator, customer_a, super_admin, tag_a):
    response = operator.post(admin_url(Agent, "add"), add_agent_data(customer_a, tags=[str(tag_a.pk)]))

    assert response.status_code == 302
    agent = Agent.objects.get(username="new-agent")
    assert (agent.customer_id, agent.name, agent.detail, agent.ring_method) == (
        customer_a.id,
        "New Agent",
        "night shift",
        "linear",
    )
    assert agent.permission == Permission.CUSTOMER_AGENT | Permission.CUSTOMER_MANAGER
    assert agent.status == AgentStatus.OFFLINE
    assert len(agent.direct_hash) == 12
    assert agent.check_password("s3cret-pw")
    assert list(agent.tag_links.values_list("tag_id", flat=True)) == [tag_a.id]
    history = agent.status_changes.get()
    assert (history.from_status, history.to_status, history.reason) == ("", "offline", "created")
    assert history.changed_by_agent == super_admin
    assert event_types(agent) == [AgentEventType.CREATED]
    assert response.url == admin_url(Agent, "changelist")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "PAT-AGENT"}, "username"),  # taken, case-insensitively, by agent_a
        ({"username": "two words"}, "username"),
        ({"password2": "something else"}, "password2"),
        ({"permission": ["2"]}, "permission"),
    ],
)
def test_adding_an_agent_against_a_rule_shows_the_error_and_changes_nothing(
    operator, customer_a, agent_a, unchanged_database, overrides, field
):
    with unchanged_database():
        response = operator.post(admin_url(Agent, "add"), add_agent_data(customer_a, **overrides))

    assert response.status_code == 200
    assert field in form_errors(response)


def test_adding_an_agent_with_another_customers_tag_is_refused(
    operator, customer_a, admin_b, unchanged_database
):
    tag_b = make_tag(admin_b.customer_id, name="b-only")

    with unchanged_database():
        response = operator.post(admin_url(Agent, "add"), add_agent_data(customer_a, tags=[str(tag_b.pk)]))

    assert response.status_code == 200
    assert str(tag_b.pk) in " ".join(form_errors(response)["tags"])


# --- changing an agent ------------------------------------------------------------------------------


def test_change_page_links_to_set_password_and_never_shows_the_hash(operator, agent_a):
    response = operator.get(admin_url(Agent, "change", agent_a.pk))

    content = response.content.decode()
    assert admin_url(Agent, "password", agent_a.pk) in content
    assert agent_a.password not in content
    assert "md5$" not in content


def test_posting_the_change_page_unchanged_changes_nothing(operator, agent_a, unchanged_database):
    services.agent_replace_addresses(
        actor=SYSTEM, agent=agent_a, addresses=[{"type": "extension", "target": "7"}]
    )
    page = operator.get(admin_url(Agent, "change", agent_a.pk))

    with unchanged_database():
        response = operator.post(admin_url(Agent, "change", agent_a.pk), page_form_data(page))

    assert response.status_code == 302


def test_each_changed_field_goes_to_its_service(operator, agent_a, super_admin, tag_a):
    url = admin_url(Agent, "change", agent_a.pk)
    data = page_form_data(operator.get(url))
    events_before = len(event_types(agent_a))
    data.update(
        name="Pat Renamed",
        status="away",
        status_reason="doctor",
        permission=[str(Permission.CUSTOMER_AGENT), str(Permission.CUSTOMER_MANAGER)],
        tags=[str(tag_a.pk)],
    )

    response = operator.post(url, data)

    assert response.status_code == 302
    agent = Agent.objects.get(pk=agent_a.pk)
    assert (agent.name, agent.status) == ("Pat Renamed", "away")
    assert agent.permission == Permission.CUSTOMER_AGENT | Permission.CUSTOMER_MANAGER
    assert list(agent.tag_links.values_list("tag_id", flat=True)) == [tag_a.id]
    change = agent.status_changes.order_by("-id").first()
    assert (change.from_status, change.to_status, change.reason) == ("offline", "away", "doctor")
    assert change.changed_by_agent == super_admin
    assert Counter(event_types(agent)[events_before:]) == Counter(
        [
            AgentEventType.UPDATED,
            AgentEventType.STATUS_UPDATED,
            AgentEventType.UPDATED,
            AgentEventType.UPDATED,
        ]
    )


def test_addresses_inline_replaces_the_list_in_the_order_given(operator, agent_a):
    services.agent_replace_addresses(
        actor=SYSTEM,
        agent=agent_a,
        addresses=[{"type": "extension", "target": "100"}, {"type": "extension", "target": "200"}],
    )
    url = admin_url(Agent, "change", agent_a.pk)
    data = page_form_data(operator.get(url))
    # Delete "100", put the new tel first, keep "200" after it.
    data["addresses-0-DELETE"] = "on"
    data["addresses-1-position"] = "5"
    data.update(
        {
            "addresses-2-position": "1",
            "addresses-2-type": "tel",
            "addresses-2-target": "+1 (555) 987-6543",
            "addresses-2-name": "mobile",
        }
    )
    events_before = len(event_types(agent_a))

    response = operator.post(url, data)

    assert response.status_code == 302
    live = Address.objects.filter(agent=agent_a, tm_delete__isnull=True).order_by("position")
    assert [(a.position, a.type, a.target, a.name) for a in live] == [
        (0, "tel", "+15559876543", "mobile"),
        (1, "extension", "200", ""),
    ]
    assert event_types(agent_a)[events_before:] == [AgentEventType.UPDATED]


def test_the_change_page_writes_its_events_after_its_last_address(operator, agent_a):
    """The page runs several services in one transaction; their events go in at its end, so the
    event order lock (taken with an event) is never held while an address is inserted
    (README, "Event stream": a wait on an address another writer holds would deadlock)."""
    url = admin_url(Agent, "change", agent_a.pk)
    data = page_form_data(operator.get(url))
    data.update(
        {
            "name": "Pat Renamed",
            "addresses-0-position": "0",
            "addresses-0-type": "extension",
            "addresses-0-target": "4321",
        }
    )

    with CaptureQueriesContext(connection) as queries:
        response = operator.post(url, data)

    assert response.status_code == 302
    statements = [query["sql"] for query in queries.captured_queries]
    last_address = max(
        i for i, sql in enumerate(statements) if "INSERT INTO" in sql and "agents_address" in sql
    )
    first_event = min(
        i for i, sql in enumerate(statements) if "INSERT INTO" in sql and "agents_agentevent" in sql
    )
    assert last_address < first_event
    assert Agent.objects.get(pk=agent_a.pk).addresses.get().target == "4321"


def test_taking_another_agents_address_shows_the_error_and_changes_nothing(
    operator, agent_a, manager_a, unchanged_database
):
    services.agent_replace_addresses(
        actor=SYSTEM, agent=agent_a, addresses=[{"type": "tel", "target": "+15559876543"}]
    )
    url = admin_url(Agent, "change", manager_a.pk)
    data = page_form_data(operator.get(url))
    data.update({"name": "Renamed too", "addresses-0-type": "tel", "addresses-0-target": "+1 555 987 6543"})

    with unchanged_database():
        response = operator.post(url, data)

    assert response.status_code == 200
    row = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert row.errors["target"] == ["is already assigned to another agent"]
    assert "An address is already assigned to another agent." in form_errors(response)["__all__"]
    # The operator's input is still on the page.
    assert "Renamed too" in response.content.decode()


def test_an_invalid_address_is_shown_next_to_its_row(operator, agent_a, unchanged_database):
    url = admin_url(Agent, "change", agent_a.pk)
    data = page_form_data(operator.get(url))
    data.update({"addresses-0-type": "tel", "addresses-0-target": "not a number"})

    with unchanged_database():
        response = operator.post(url, data)

    assert response.status_code == 200
    row = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert "E.164" in row.errors["target"][0]


def test_removing_the_last_admin_is_refused_and_nothing_changes(operator, admin_b, unchanged_database):
    url = admin_url(Agent, "change", admin_b.pk)
    data = page_form_data(operator.get(url))
    data.update(name="Bob Renamed", permission=[str(Permission.CUSTOMER_AGENT)])

    with unchanged_database():
        response = operator.post(url, data)

    assert response.status_code == 200
    assert "A customer must keep at least one admin." in form_errors(response)["__all__"]


def test_a_deleted_agent_is_shown_read_only(operator, agent_a):
    services.agent_delete(actor=SYSTEM, agent=agent_a)
    url = admin_url(Agent, "change", agent_a.pk)

    assert operator.get(url).status_code == 200
    assert operator.post(url, {"name": "x"}).status_code == 403
    assert operator.get(admin_url(Agent, "delete", agent_a.pk)).status_code == 403


# --- set password --------------------------------------------------------------------------------------


def test_set_password_page_calls_agent_set_password(operator, agent_a):
    services.login_token_create(username=agent_a.username, password=PASSWORD)
    url = admin_url(Agent, "password", agent_a.pk)
    assert operator.get(url).status_code == 200

    response = operator.post(url, {"password1": "brand-new", "password2": "brand-new"})

    assert response.status_code == 302
    agent = Agent.objects.get(pk=agent_a.pk)
    assert agent.check_password("brand-new")
    assert not LoginToken.objects.filter(agent=agent_a, tm_revoke__isnull=True).exists()
    assert event_types(agent_a)[-1] == AgentEventType.UPDATED


def test_set_password_against_the_policy_is_refused(operator, agent_a, settings, unchanged_database):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 12},
        }
    ]
    url = admin_url(Agent, "password", agent_a.pk)

    with unchanged_database():
        short = operator.post(url, {"password1": "short", "password2": "short"})
        mismatch = operator.post(url, {"password1": "long-enough-pw", "password2": "long-enough-px"})

    assert short.status_code == 200
    assert "at least 12 characters" in short.context["form"].errors["password1"][0]
    assert mismatch.context["form"].errors["password2"]


def test_operator_setting_their_own_password_needs_the_current_one_and_stays_signed_in(operator, super_admin):
    page = admin_url(Agent, "password", super_admin.pk)
    new = {"password1": "mine-now", "password2": "mine-now"}

    refused = operator.post(page, new)
    changed = operator.post(page, {**new, "old_password": PASSWORD})

    assert refused.status_code == 200
    assert refused.context["form"].errors["old_password"]
    assert changed.status_code == 302
    super_admin.refresh_from_db()
    assert super_admin.check_password("mine-now")
    assert operator.get(reverse("admin:index")).status_code == 200


def test_the_headers_change_password_link_leads_to_the_service_backed_page(operator, super_admin):
    response = operator.get(reverse("admin:password_change"))

    assert response.status_code == 302
    assert response.url == admin_url(Agent, "password", super_admin.pk)


# --- deleting -------------------------------------------------------------------------------------------


def test_delete_page_soft_deletes_through_agent_delete(operator, agent_a):
    services.agent_replace_addresses(
        actor=SYSTEM, agent=agent_a, addresses=[{"type": "extension", "target": "55"}]
    )
    url = admin_url(Agent, "delete", agent_a.pk)
    confirmation = operator.get(url)
    assert confirmation.status_code == 200
    # Nothing cascades: the confirmation lists the agent only.
    assert confirmation.context["deleted_objects"] == ["pat-agent"]

    response = operator.post(url, {"post": "yes"})

    assert response.status_code == 302
    agent = Agent.objects.get(pk=agent_a.pk)  # the row is kept
    assert agent.tm_delete is not None
    assert agent.direct_hash is None
    assert not Address.objects.filter(agent=agent_a, tm_delete__isnull=True).exists()
    assert agent.status_changes.exists()
    assert event_types(agent_a)[-1] == AgentEventType.DELETED


def test_deleting_the_last_admin_is_refused_with_a_message(operator, admin_b, unchanged_database):
    with unchanged_database():
        response = operator.post(admin_url(Agent, "delete", admin_b.pk), {"post": "yes"})

    assert response.status_code == 302
    assert response.url == admin_url(Agent, "change", admin_b.pk)
    assert messages_of(response) == ["A customer must keep at least one admin."]


# --- actions ---------------------------------------------------------------------------------------------


def test_set_status_action_asks_for_status_and_reason_then_records_history(
    operator, agent_a, manager_a, super_admin, customer_a
):
    gone = make_agent(customer_a.id, username="gone")
    services.agent_delete(actor=SYSTEM, agent=gone)
    url = admin_url(Agent, "changelist")
    selected = [str(agent_a.pk), str(manager_a.pk), str(gone.pk)]

    page = operator.post(url, {"action": "set_status", "_selected_action": selected, "index": "0"})
    assert page.status_code == 200
    assert "reason" in page.context["form"].fields

    response = operator.post(
        url,
        {
            "action": "set_status",
            "_selected_action": selected,
            "apply": "yes",
            "status": "busy",
            "reason": "meeting",
        },
    )

    assert response.status_code == 302
    for agent in (agent_a, manager_a):
        agent.refresh_from_db()
        assert agent.status == "busy"
        change = agent.status_changes.order_by("-id").first()
        assert (change.from_status, change.to_status, change.reason, change.changed_by_agent) == (
            "offline",
            "busy",
            "meeting",
            super_admin,
        )
        assert event_types(agent)[-1] == AgentEventType.STATUS_UPDATED
    gone.refresh_from_db()
    assert gone.status == "offline"
    assert messages_of(response) == [
        "Set status to busy: mike-manager, pat-agent.",
        "Skipped, already deleted: gone.",
    ]


def test_set_status_action_with_a_bad_status_changes_nothing(operator, agent_a, unchanged_database):
    with unchanged_database():
        response = run_action(operator, Agent, "set_status", [agent_a], status="sleeping", reason="")

    assert response.status_code == 200
    assert response.context["form"].errors["status"]


def test_regenerate_direct_hash_action(operator, agent_a, manager_a):
    old = {agent_a.pk: agent_a.direct_hash, manager_a.pk: manager_a.direct_hash}

    response = run_action(operator, Agent, "regenerate_direct_hash", [agent_a, manager_a])

    assert response.status_code == 302
    for agent in Agent.objects.filter(pk__in=old):
        assert agent.direct_hash != old[agent.pk]
        assert len(agent.direct_hash) == 12
        assert event_types(agent)[-1] == AgentEventType.UPDATED


def test_soft_delete_action_reports_each_agent(operator, agent_a, admin_b):
    response = run_action(operator, Agent, "soft_delete", [agent_a, admin_b])

    assert response.status_code == 302
    assert Agent.objects.get(pk=agent_a.pk).tm_delete is not None
    assert Agent.objects.get(pk=admin_b.pk).tm_delete is None
    assert event_types(agent_a)[-1] == AgentEventType.DELETED
    assert AgentEventType.DELETED not in event_types(admin_b)
    assert sorted(messages_of(response)) == [
        "Deleted: pat-agent.",
        "bob-admin: A customer must keep at least one admin.",
    ]


def test_djangos_hard_delete_action_is_not_offered(operator):
    response = operator.get(admin_url(Agent, "changelist"))

    choices = [name for name, _label in response.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in choices
    assert {"set_status", "regenerate_direct_hash", "soft_delete", "restore"} <= set(choices)


def test_restore_action_brings_back_a_deleted_agent_where_safe(operator, customer_a, agent_a, manager_a):
    services.agent_set_status(actor=SYSTEM, agent=agent_a, status="busy")
    services.agent_delete(actor=SYSTEM, agent=agent_a)
    services.agent_delete(actor=SYSTEM, agent=manager_a)
    make_agent(customer_a.id, username="MIKE-manager")  # takes manager_a's username

    response = run_action(operator, Agent, "restore", [agent_a, manager_a])

    assert response.status_code == 302
    agent = Agent.objects.get(pk=agent_a.pk)
    assert agent.tm_delete is None
    assert agent.status == "offline"
    assert len(agent.direct_hash) == 12
    assert agent.status_changes.order_by("-id").first().reason == "restored"
    assert event_types(agent_a)[-1] == AgentEventType.UPDATED
    assert Agent.objects.get(pk=manager_a.pk).tm_delete is not None
    assert sorted(messages_of(response)) == [
        "Restored: pat-agent.",
        "mike-manager: Another live agent now has this username.",
    ]


def test_restoring_a_live_agent_is_refused(operator, agent_a, unchanged_database):
    with unchanged_database():
        response = run_action(operator, Agent, "restore", [agent_a])

    assert messages_of(response) == ["pat-agent: The agent is not deleted."]


# --- customers ------------------------------------------------------------------------------------------


def test_customer_list_counts_live_agents_and_tags(operator, customer_a, agent_a, manager_a, tag_a, admin_b):
    services.agent_delete(actor=SYSTEM, agent=manager_a)
    tag_delete(actor=SYSTEM, tag=make_tag(customer_a.id, name="old"))
    response = operator.get(admin_url(Customer, "changelist"))

    counts = {c.name: (c.agent_count, c.tag_count) for c in response.context["cl"].result_list}
    # admin_a, super_admin (from the operator fixture) and agent_a are live in A.
    assert counts == {"Customer A": (3, 1), "Customer B": (1, 0)}


def test_adding_a_customer_creates_its_first_admin(operator):
    response = operator.post(
        admin_url(Customer, "add"),
        {
            "name": "Globex",
            "detail": "",
            "admin_username": "globex-admin",
            "password1": "pw-globex",
            "password2": "pw-globex",
        },
    )

    assert response.status_code == 302
    first_admin = Agent.objects.get(username="globex-admin")
    assert first_admin.customer.name == "Globex"
    assert first_admin.permission == Permission.CUSTOMER_ADMIN
    assert event_types(first_admin) == [AgentEventType.CREATED]


def test_adding_a_customer_with_a_taken_username_changes_nothing(operator, agent_a, unchanged_database):
    data = {"name": "Globex", "admin_username": "pat-agent", "password1": "pw", "password2": "pw"}

    with unchanged_database():
        response = operator.post(admin_url(Customer, "add"), data)

    assert response.status_code == 200
    assert form_errors(response)["admin_username"] == ["An agent with this username already exists."]


def test_renaming_a_customer_goes_through_customer_update(operator, customer_a):
    url = admin_url(Customer, "change", customer_a.pk)
    data = page_form_data(operator.get(url))
    data["name"] = "Customer A Renamed"

    assert operator.post(url, data).status_code == 302
    customer_a.refresh_from_db()
    assert customer_a.name == "Customer A Renamed"
    assert customer_a.tm_update is not None


def test_customer_update_is_for_project_super_admins_only(admin_a, customer_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        services.customer_update(actor=admin_a, customer=customer_a, name="Mine now")


def test_customer_update_requires_a_name(super_admin, customer_a, unchanged_database):
    with unchanged_database(), pytest.raises(InvalidArgument) as refused:
        services.customer_update(actor=super_admin, customer=customer_a, name="")
    assert refused.value.reason == "INVALID_NAME"


def test_customers_cannot_be_deleted_from_the_admin(operator, customer_a):
    assert operator.get(admin_url(Customer, "delete", customer_a.pk)).status_code == 403
    assert operator.post(admin_url(Customer, "delete", customer_a.pk), {"post": "yes"}).status_code == 403
    assert Customer.objects.filter(pk=customer_a.pk).exists()


# --- access keys ----------------------------------------------------------------------------------------


def test_adding_an_access_key_shows_the_key_once(operator, customer_a):
    response = operator.post(
        admin_url(AccessKey, "add"),
        {"customer": str(customer_a.pk), "name": "ci", "detail": "", "expire": ""},
    )

    assert response.status_code == 200  # the key's page itself, not a redirect to a message
    access_key = AccessKey.objects.get(name="ci")
    assert not messages_of(response)
    plaintext = response.content.decode().split("data-new-key>")[1].split("</code>")[0]
    assert services.hash_secret(plaintext) == access_key.token_hash
    assert plaintext.startswith(access_key.token_prefix)
    for url in (admin_url(AccessKey, "changelist"), admin_url(AccessKey, "change", access_key.pk)):
        content = operator.get(url).content.decode()
        assert access_key.token_prefix in content
        assert plaintext not in content
        assert access_key.token_hash not in content


def test_an_access_key_lifetime_below_a_day_is_refused(operator, customer_a, unchanged_database):
    data = {"customer": str(customer_a.pk), "name": "ci", "expire": "60"}

    with unchanged_database():
        response = operator.post(admin_url(AccessKey, "add"), data)

    assert response.status_code == 200
    assert "expire" in form_errors(response)


def test_access_key_change_and_delete_go_through_services(operator, access_key_a):
    url = admin_url(AccessKey, "change", access_key_a.pk)
    data = page_form_data(operator.get(url))
    data["name"] = "crm-renamed"
    assert operator.post(url, data).status_code == 302

    assert operator.post(admin_url(AccessKey, "delete", access_key_a.pk), {"post": "yes"}).status_code == 302
    access_key_a.refresh_from_db()
    assert access_key_a.name == "crm-renamed"
    assert access_key_a.tm_delete is not None


# --- history is read-only -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [AgentStatusChange, AgentEvent])
def test_history_cannot_be_added_changed_or_deleted(operator, some_of_everything, model, unchanged_database):
    obj = some_of_everything[model]

    with unchanged_database():
        assert operator.get(admin_url(model, "add")).status_code == 403
        assert operator.post(admin_url(model, "change", obj.pk), {}).status_code == 403
        assert operator.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403


def test_history_lists_filter_by_customer(operator, some_of_everything, admin_b, customer_a):
    changes = operator.get(
        admin_url(AgentStatusChange, "changelist"), {"agent__customer__id__exact": admin_b.customer_id}
    )
    events = operator.get(admin_url(AgentEvent, "changelist"), {"customer__id__exact": customer_a.id})

    assert {change.agent.username for change in changes.context["cl"].result_list} == {"bob-admin"}
    assert "bob-admin" not in {event.agent.username for event in events.context["cl"].result_list}
    assert "pat-agent" in {event.agent.username for event in events.context["cl"].result_list}
