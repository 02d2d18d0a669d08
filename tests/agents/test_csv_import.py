"""The CSV import: each column of an updating row, every error of a row, a preview that hashes
no password, applying in the background worker (in process, and a real `db_worker` process),
its progress and result pages, and who may see them (issue #11, items 14 and 15)."""

from __future__ import annotations

import io
import time

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse

from agents import csv_format, services
from agents.models import Address, Agent, AgentEvent, AgentImport, AgentStatusChange, Permission
from agents.services import csv_import
from agents.tasks import ACTOR_GONE
from tags.models import AgentTag
from tests.factories import make_agent, make_customer_admin, make_tag
from voipbin_admin.errors import PermissionDenied


class CountingMD5Hasher(MD5PasswordHasher):
    """The suite's fast hasher, counting every hash it computes (making or checking one)."""

    calls = 0

    def encode(self, password, salt):
        CountingMD5Hasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    """`hashes()`: how many passwords were hashed since the test began."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingMD5Hasher"]
    CountingMD5Hasher.calls = 0
    return lambda: CountingMD5Hasher.calls


def url(name, *args):
    return reverse(f"console:{name}", args=args)


@pytest.fixture
def console(client, admin_a):
    client.force_login(admin_a)
    return client


def upload(client, text):
    file = io.BytesIO(text.encode())
    file.name = "agents.csv"
    return client.post(url("agent_import"), {"step": "preview", "file": file})


def apply(client, text):
    return client.post(url("agent_import"), {"step": "apply", "content": text})


def applied(admin, text, run_tasks) -> AgentImport:
    """Apply `text` as `admin` through the background task; the finished import."""
    agent_import = csv_import.agent_import_create(actor=admin, customer_id=admin.customer_id, content=text)
    run_tasks()
    agent_import.refresh_from_db()
    return agent_import


def only_row(agent_import: AgentImport) -> dict:
    assert agent_import.state == "done", (agent_import.errors, agent_import.rows)
    [row] = agent_import.rows
    return row


# --- every column of an updating row: each one's service call must happen --------------------


@pytest.fixture
def pat(admin_a, agent_a):
    """A plain agent with a name, a tag and an address, to be updated by a file."""
    services.agent_update(actor=admin_a, agent=agent_a, name="Pat", detail="day shift")
    services.agent_replace_tags(
        actor=admin_a, agent=agent_a, tag_ids=[make_tag(agent_a.customer_id, name="en").id]
    )
    services.agent_replace_addresses(
        actor=admin_a, agent=agent_a, addresses=[{"type": "extension", "target": "2001", "name": "desk"}]
    )
    make_tag(agent_a.customer_id, name="fr")
    return Agent.objects.get(pk=agent_a.pk)


def test_name(admin_a, pat, run_tasks):
    row = only_row(applied(admin_a, "username,name\npat-agent,Pat Renamed\n", run_tasks))
    pat.refresh_from_db()
    assert pat.name == "Pat Renamed"
    assert row["changes"] == ["name: 'Pat' → 'Pat Renamed'"]


def test_detail_shows_the_new_value(admin_a, pat, run_tasks):
    row = only_row(applied(admin_a, "username,detail\npat-agent,night shift\n", run_tasks))
    pat.refresh_from_db()
    assert pat.detail == "night shift"
    assert row["changes"] == ["detail changed: 'night shift'"]


def test_ring_method(admin_a, pat, run_tasks):
    row = only_row(applied(admin_a, "username,ring_method\npat-agent,linear\n", run_tasks))
    pat.refresh_from_db()
    assert pat.ring_method == "linear"
    assert row["changes"] == ["ring method: ringall → linear"]


def test_status_with_its_history(admin_a, pat, run_tasks):
    row = only_row(applied(admin_a, "username,status\npat-agent,available\n", run_tasks))
    pat.refresh_from_db()
    assert pat.status == "available"
    change = AgentStatusChange.objects.filter(agent=pat).first()
    assert (change.to_status, change.reason, change.changed_by_agent_id) == (
        "available",
        "CSV import",
        admin_a.pk,
    )
    assert row["changes"] == ["status: offline → available"]


def test_an_applied_import_records_each_change_as_an_event_in_row_order(admin_a, pat, run_tasks):
    """The rows' events are written together at the end of the import's transaction (the event
    order lock is then held for the commit only), in the order of the rows, each with the agent
    as it was after its row."""
    before = AgentEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    text = "username,name,status,password\npat-agent,Pat Night,busy,\nnew-agent,New One,,first-pass\n"
    agent_import = applied(admin_a, text, run_tasks)
    assert [row["action"] for row in agent_import.rows] == ["update", "create"]
    events = list(AgentEvent.objects.filter(id__gt=before).order_by("id"))
    new = Agent.objects.get(username="new-agent")
    assert [event.agent_id for event in events] == [pat.pk, pat.pk, new.pk]
    assert {event.type for event in events[:2]} == {"agent_updated", "agent_status_updated"}
    assert events[2].type == "agent_created"
    assert (events[1].data["name"], events[1].data["status"]) == ("Pat Night", "busy")


def test_permission(admin_a, pat, run_tasks):
    row = only_row(applied(admin_a, "username,permission\npat-agent,64\n", run_tasks))
    pat.refresh_from_db()
    assert pat.permission == Permission.CUSTOMER_MANAGER
    assert row["changes"] == ["permission: 16 → 64"]


def test_tags(admin_a, pat, run_tasks):
    row = only_row(applied(admin_a, "username,tags\npat-agent,FR\n", run_tasks))
    assert list(AgentTag.objects.filter(agent=pat).values_list("tag__name", flat=True)) == ["fr"]
    assert row["changes"] == ["tags: +fr, -en"]


def test_addresses_keep_the_names_of_those_kept(admin_a, pat, run_tasks):
    text = "username,addresses\npat-agent,tel:+1 555 987 6543;extension:2001\n"
    row = only_row(applied(admin_a, text, run_tasks))
    addresses = list(Address.objects.filter(agent=pat).order_by("position").values_list("target", "name"))
    assert addresses == [("+15559876543", ""), ("2001", "desk")]
    assert row["changes"] == ["addresses: extension:2001 → tel:+15559876543; extension:2001"]


def test_password(admin_a, pat, run_tasks):
    row = only_row(applied(admin_a, "username,password\npat-agent,brand-new-pass\n", run_tasks))
    pat.refresh_from_db()
    assert pat.check_password("brand-new-pass")
    assert row["changes"] == ["password reset"]


def test_every_column_at_once_and_empty_cells_keep_or_clear(admin_a, pat, run_tasks):
    text = "username,name,detail,ring_method,status,permission,tags,addresses,password\nPAT-AGENT,,,,,,,,\n"
    row = only_row(applied(admin_a, text, run_tasks))
    pat.refresh_from_db()
    assert (pat.name, pat.detail, pat.ring_method, pat.status, pat.permission) == (
        "",
        "",
        "ringall",
        "offline",
        16,
    )
    assert not pat.tag_links.exists()
    assert not pat.addresses.exists()
    assert row["changes"] == [
        "name: 'Pat' → ''",
        "detail changed: ''",
        "tags: -en",
        "addresses: extension:2001 → none",
    ]


def test_a_column_left_out_is_left_alone(admin_a, pat, run_tasks):
    row = only_row(applied(admin_a, "username,status\npat-agent,\n", run_tasks))
    assert row["action"] == "unchanged"
    assert Agent.objects.get(pk=pat.pk).name == "Pat"
    assert pat.addresses.count() == 1


def test_a_new_agent_gets_every_column(admin_a, pat, run_tasks):
    text = (
        "username,name,detail,ring_method,status,permission,tags,addresses,password\n"
        "newbie,New Bie,nights,linear,available,64,fr;en,sip:newbie@sip.example.com,first-pass\n"
    )
    row = only_row(applied(admin_a, text, run_tasks))
    newbie = Agent.objects.get(username="newbie")
    assert (newbie.name, newbie.detail, newbie.ring_method, newbie.status, newbie.permission) == (
        "New Bie",
        "nights",
        "linear",
        "available",
        Permission.CUSTOMER_MANAGER,
    )
    assert sorted(newbie.tag_links.values_list("tag__name", flat=True)) == ["en", "fr"]
    assert newbie.addresses.get().target == "newbie@sip.example.com"
    assert newbie.check_password("first-pass")
    assert row["changes"] == [
        "new agent",
        "permission: 64",
        "tags: fr, en",
        "addresses: sip:newbie@sip.example.com",
        "status: available",
    ]


# --- every error of a row ------------------------------------------------------------------------


def test_a_new_row_lists_all_its_errors(console, admin_a):
    text = (
        "username,name,ring_method,status,permission,tags,addresses,password\n"
        f"newbie,{'x' * 256},loud,sleeping,3,nosuch,tel:12ab;extension:a b,\n"
    )
    [row] = upload(console, text).context["result"].rows
    assert row.action == "error"
    assert row.errors == [
        "name: must be at most 255 characters",
        "ring_method: must be one of: ringall, linear",
        "status: must be one of: available, away, busy, offline, ringing",
        "permission: must be an integer made of the bits 1, 16, 32 and 64",
        "tags: no tag named 'nosuch'",
        "address tel:12ab: must be a phone number in E.164 format, e.g. +15559876543",
        "address extension:a b: must be 1 to 20 digits",
        "password: is required",
    ]


def test_an_updating_row_lists_every_refused_service_call(console, admin_a, pat, manager_a):
    services.agent_replace_addresses(
        actor=admin_a, agent=manager_a, addresses=[{"type": "extension", "target": "3001"}]
    )
    text = "username,permission,addresses\nalice-admin,64,extension:3001\n"
    [row] = upload(console, text).context["result"].rows
    assert row.action == "error"
    assert len(row.errors) == 2, row.errors
    assert "at least one admin" in row.errors[0]
    assert row.errors[1].startswith("address extension:3001: ")


def test_the_preview_page_shows_every_error(console, admin_a):
    body = upload(console, "username,status,password\nnewbie,sleeping,\n").content.decode()
    assert "status: must be one of" in body
    assert "password: is required" in body


# --- no web request hashes passwords ------------------------------------------------------------


def test_a_preview_hashes_no_password(console, admin_a, pat, hashes, unchanged_database):
    rows = [f"new-{i},pw-{i}" for i in range(30)] + ["pat-agent,reset-pass", "alice-admin,"]
    with unchanged_database():
        preview = upload(console, "username,password\n" + "\n".join(rows) + "\n")
    result = preview.context["result"]
    assert result.ok, [row.errors for row in result.rows if row.errors]
    assert result.counts == {"create": 30, "update": 1, "unchanged": 1}
    assert hashes() == 0


def test_the_preview_still_checks_the_password_policy(console, admin_a, pat, settings, hashes):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 8},
        }
    ]
    rows = upload(console, "username,password\nnewbie,short\npat-agent,tiny\n").context["result"].rows
    assert ["too short" in " ".join(row.errors) for row in rows] == [True, True]
    assert hashes() == 0


def test_applying_hashes_in_the_worker_only(console, admin_a, pat, hashes, run_tasks):
    text = "username,password\n" + "".join(f"new-{i},pw-{i}\n" for i in range(5)) + "pat-agent,reset-pass\n"
    response = apply(console, text)
    assert response.status_code == 302
    assert hashes() == 0  # the request that applies it
    run_tasks()
    assert hashes() == 6
    assert Agent.objects.get(username="new-3").check_password("pw-3")


# --- applying in the background -----------------------------------------------------------------


def test_applying_stores_the_import_and_forgets_the_file(console, admin_a, run_tasks):
    response = apply(console, "username,password\nnewbie,pw\n")
    agent_import = AgentImport.objects.get()
    assert response.url == url("agent_import_detail", agent_import.pk)
    assert (agent_import.state, agent_import.total_rows, agent_import.started_by_agent_id) == (
        "queued",
        1,
        admin_a.pk,
    )
    assert "newbie,pw" in agent_import.content
    run_tasks()
    agent_import.refresh_from_db()
    assert (agent_import.state, agent_import.rows_done, agent_import.content) == ("done", 1, "")
    assert agent_import.tm_finish is not None
    assert Agent.objects.filter(username="newbie").exists()


def test_a_refused_import_saves_nothing_and_forgets_the_file(admin_a, pat, run_tasks, unchanged_database):
    text = "username,status,password\npat-agent,available,\nnewbie,,\n"
    agent_import = applied(admin_a, text, run_tasks)
    assert (agent_import.state, agent_import.content) == ("failed", "")
    assert [row["action"] for row in agent_import.rows] == ["update", "error"]
    assert agent_import.rows[1]["errors"] == ["password: is required"]
    pat.refresh_from_db()
    assert pat.status == "offline"
    assert not Agent.objects.filter(username="newbie").exists()


def test_a_file_that_cannot_be_imported_is_refused_before_it_is_stored(console, admin_a):
    response = apply(console, "name\nx\n")
    assert response.status_code == 400
    assert "needs a &#x27;username&#x27; column" in response.content.decode()
    assert not AgentImport.objects.exists()


def test_the_task_reads_its_actor_again(admin_a, manager_a, run_tasks):
    agent_import = csv_import.agent_import_create(
        actor=manager_a, customer_id=manager_a.customer_id, content="username,password\nnewbie,pw\n"
    )
    services.agent_delete(actor=admin_a, agent=manager_a)
    run_tasks()
    agent_import.refresh_from_db()
    assert (agent_import.state, agent_import.errors, agent_import.content) == ("failed", [ACTOR_GONE], "")
    assert not Agent.objects.filter(username="newbie").exists()


def test_a_task_run_twice_applies_once(admin_a, run_tasks):
    from agents.tasks import apply_agent_import

    agent_import = applied(admin_a, "username,password\nnewbie,pw\n", run_tasks)
    apply_agent_import.call(str(agent_import.pk))
    agent_import.refresh_from_db()
    assert agent_import.state == "done"
    assert Agent.objects.filter(username="newbie").count() == 1


def test_an_unexpected_error_fails_the_import_and_forgets_the_file(admin_a, run_tasks, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "agent_create", broken)
    agent_import = csv_import.agent_import_create(
        actor=admin_a, customer_id=admin_a.customer_id, content="username,password\nnewbie,pw\n"
    )
    run_tasks(allow_failures=True)
    agent_import.refresh_from_db()
    assert (agent_import.state, agent_import.errors, agent_import.content) == (
        "failed",
        [csv_import.UNEXPECTED_ERROR],
        "",
    )


def test_five_thousand_rows(admin_a, run_tasks):
    """The README's limit: 5,000 new agents, each with a password, a tag and an address."""
    make_tag(admin_a.customer_id, name="bulk")
    rows = "".join(
        f"bulk-{i},Bulk {i},bulk,extension:{10000 + i},pw-{i}\n" for i in range(csv_format.MAX_IMPORT_ROWS)
    )
    started = time.monotonic()
    agent_import = applied(admin_a, "username,name,tags,addresses,password\n" + rows, run_tasks)
    elapsed = time.monotonic() - started
    assert agent_import.state == "done", agent_import.errors
    assert (agent_import.total_rows, agent_import.rows_done) == (5000, 5000)
    assert Agent.objects.filter(username__startswith="bulk-").count() == 5000
    assert Agent.objects.get(username="bulk-4999").addresses.get().target == "14999"
    print(f"5,000-row import applied in {elapsed:.1f} s")


# --- the import's pages -------------------------------------------------------------------------


def test_the_page_shows_progress_until_done_then_every_row(console, admin_a, pat, run_tasks):
    response = apply(console, "username,detail,password\npat-agent,late shift,\nnewbie,,pw\nbad,,\n")
    page = console.get(response.url)
    body = page.content.decode()
    progress_url = url("agent_import_progress", AgentImport.objects.get().pk)
    assert "<progress" in body
    assert f'hx-get="{progress_url}"' in body
    assert "Waiting for the background worker" in body
    assert console.get(response.url).status_code == 200  # a reload finds it again
    assert "<progress" in console.get(progress_url).content.decode()

    run_tasks()

    poll = console.get(progress_url)
    assert (poll.status_code, poll["HX-Redirect"]) == (204, response.url)
    body = console.get(response.url).content.decode()
    assert "Not applied: nothing was saved" in body
    assert "detail changed: &#x27;late shift&#x27;" in body
    assert "password: is required" in body


def test_the_progress_counts_rows_whose_passwords_are_checked(console, admin_a):
    agent_import = csv_import.agent_import_create(
        actor=admin_a, customer_id=admin_a.customer_id, content="username,password\na1,pw\na2,pw\na3,pw\n"
    )
    AgentImport.objects.filter(pk=agent_import.pk).update(state="running", rows_done=2)
    body = console.get(url("agent_import_progress", agent_import.pk)).content.decode()
    assert "Checking passwords: 2 of 3 rows" in body
    assert 'max="3" value="2"' in body
    AgentImport.objects.filter(pk=agent_import.pk).update(rows_done=3)
    assert "Saving all 3 rows" in console.get(url("agent_import_progress", agent_import.pk)).content.decode()


def test_the_upload_page_lists_recent_imports(console, admin_a, admin_b, run_tasks):
    mine = applied(admin_a, "username,password\nnewbie,pw\n", run_tasks)
    theirs = applied(admin_b, "username,password\nother,pw\n", run_tasks)
    body = console.get(url("agent_import")).content.decode()
    assert f'data-import="{mine.pk}"' in body
    assert f'data-import="{theirs.pk}"' not in body


def test_only_the_customers_supervisors_see_an_import(
    client, admin_a, manager_a, agent_a, admin_b, run_tasks
):
    agent_import = applied(admin_a, "username,password\nnewbie,pw\n", run_tasks)
    pages = [url("agent_import_detail", agent_import.pk), url("agent_import_progress", agent_import.pk)]
    client.force_login(manager_a)
    assert [client.get(page).status_code for page in pages] == [200, 204]
    client.force_login(admin_b)
    assert [client.get(page).status_code for page in pages] == [404, 404]
    client.force_login(agent_a)
    assert [client.get(page).status_code for page in pages] == [403, 403]


def test_a_plain_agent_cannot_import(client, agent_a):
    client.force_login(agent_a)
    assert apply(client, "username,password\nintruder,pw\n").status_code == 403
    assert not AgentImport.objects.exists()
    with pytest.raises(PermissionDenied):
        csv_import.agent_import_create(
            actor=agent_a, customer_id=agent_a.customer_id, content="username\nx\n"
        )


def test_operators_see_the_tasks_read_only_in_the_admin_site(client, super_admin, admin_a, run_tasks):
    from django_tasks_db.models import DBTaskResult

    applied(admin_a, "username,password\nnewbie,pw\n", run_tasks)
    task = DBTaskResult.objects.get()
    client.force_login(super_admin)
    changelist = reverse("admin:django_tasks_database_dbtaskresult_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"q": "pat"}).status_code == 200
    assert client.get(reverse("admin:django_tasks_database_dbtaskresult_add")).status_code == 403
    change = client.get(reverse("admin:django_tasks_database_dbtaskresult_change", args=[task.pk]))
    assert change.status_code == 200
    assert "agents.tasks.apply_agent_import" in change.content.decode()
    assert "pw" not in str(task.args_kwargs)  # the task holds the import's id, never the file


# --- a real worker process --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_applies_an_import(client, task_worker):
    admin = make_customer_admin(username="worker-admin")
    make_agent(admin.customer_id, username="worker-agent")
    client.force_login(admin)

    response = apply(
        client, "username,status,password\nworker-agent,available,\nworker-new,,pw-from-worker\n"
    )

    agent_import = AgentImport.objects.get()
    deadline = time.monotonic() + 60
    while agent_import.state in ("queued", "running") and time.monotonic() < deadline:
        assert task_worker.poll() is None, task_worker.log_path.read_text()
        time.sleep(0.2)
        agent_import.refresh_from_db()
    assert agent_import.state == "done", task_worker.log_path.read_text()
    assert response.url == url("agent_import_detail", agent_import.pk)
    assert Agent.objects.get(username="worker-agent").status == "available"
    # Hashed by the worker with the site's own hasher (the tests' is MD5).
    assert Agent.objects.get(username="worker-new").password.startswith("pbkdf2_sha256$")
    assert agent_import.content == ""
