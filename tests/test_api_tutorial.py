"""The public tutorial (../shared/TUTORIAL.txt), walked end to end exactly as it is written.

Each request is sent the way the tutorial's curl commands send it: the credential both as the
`token` query parameter and as the `token` cookie (only the query parameter for the direct
hash), the bodies as the tutorial's raw JSON text, and no body at all for the regeneration.
The tutorial allows a login token or an access key as the credential; both are walked.
"""

from __future__ import annotations

import re

import pytest

from agents.models import Agent
from tests.api_support import Api, access_key_for
from tests.factories import PASSWORD
from voipbin_admin.timestamps import UNSET_TIMESTAMP

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

CREATE_AGENT_BODY = """{
"username": "test2",
"password": "test2",
"name": "test tag",
"detail": "test tag example",
"ring_method": "ringall",
"permission": 0,
"tag_ids": ["%s"]
}"""
# The tutorial's answer to the create request, without the values only the server can know.
CREATED_AGENT = {
    "username": "test2",
    "name": "test tag",
    "detail": "test tag example",
    "ring_method": "ringall",
    "status": "offline",
    "permission": 0,
    "addresses": [],
    "tm_update": "9999-01-01 00:00:00.000000",
    "tm_delete": "9999-01-01 00:00:00.000000",
}
STATUS_BODY = """{
"status": "available"
}"""
ADDRESSES_BODY = """{
"addresses": [
{
"type": "tel",
"target": "+15559876543"
}
]
}"""
# The fields of the tutorial's answer to the direct hash regeneration.
REGENERATED_AGENT_FIELDS = {
    "id",
    "username",
    "name",
    "detail",
    "ring_method",
    "status",
    "permission",
    "tag_ids",
    "addresses",
    "direct_hash",
    "tm_create",
    "tm_update",
    "tm_delete",
}


def like_curl(api: Api, method: str, path: str, token: str, *, body: str | None = None, cookie: bool = True):
    """`curl --request METHOD 'https://api.voipbin.net<path>?token=<token>' [--header 'Cookie: token=<token>']
    [--header 'Content-Type: application/json' --data-raw '<body>']`."""
    api.client.cookies.clear()
    if cookie:
        api.client.cookies["token"] = token
    url = f"{path}?token={token}"
    if body is None:
        return api.client.generic(method, url, secure=True)
    return api.client.generic(method, url, body, "application/json", secure=True)


@pytest.mark.parametrize("credential", ["login token", "access key"])
def test_the_tutorial_works_as_written(admin_a, credential):
    api = Api()

    # Prerequisites: an authentication token (POST /auth/login, or an access key) ...
    login = api.post("/auth/login", {"username": "alice-admin", "password": PASSWORD})
    assert login.status_code == 200
    token = login.json()["token"] if credential == "login token" else access_key_for(admin_a.customer_id)
    # ... and tag ids: create one via POST /tags.
    tag = like_curl(api, "POST", "/v1.0/tags", token, body='{"name": "support", "detail": "tutorial"}')
    assert tag.status_code == 200, tag.content
    tag_id = tag.json()["id"]

    # Create a new agent.
    created = like_curl(api, "POST", "/v1.0/agents", token, body=CREATE_AGENT_BODY % tag_id)

    assert created.status_code == 201, created.content
    agent = created.json()
    assert {field: agent[field] for field in CREATED_AGENT} == CREATED_AGENT
    assert agent["tag_ids"] == [tag_id]
    assert UUID.match(agent["id"])
    assert TIMESTAMP.match(agent["tm_create"])
    assert "password" not in agent
    agent_path = f"/v1.0/agents/{agent['id']}"

    # Update agent's status to available.
    status = like_curl(api, "PUT", f"{agent_path}/status", token, body=STATUS_BODY)

    assert status.status_code == 200, status.content
    assert status.json()["status"] == "available"
    assert TIMESTAMP.match(status.json()["tm_update"])

    # Update agent's addresses (replaces all of them).
    addresses = like_curl(api, "PUT", f"{agent_path}/addresses", token, body=ADDRESSES_BODY)

    assert addresses.status_code == 200, addresses.content
    assert addresses.json()["addresses"] == [
        {"type": "tel", "target": "+15559876543", "target_name": "", "name": "", "detail": ""}
    ]

    # Regenerate the direct hash: no body, the token in the query only; twice.
    first_hash = agent["direct_hash"]
    hashes = []
    for _ in range(2):
        regenerated = like_curl(api, "POST", f"{agent_path}/direct-hash-regenerate", token, cookie=False)

        assert regenerated.status_code == 200, regenerated.content
        body = regenerated.json()
        assert set(body) >= REGENERATED_AGENT_FIELDS
        assert re.fullmatch(r"[0-9a-f]{12}", body["direct_hash"])
        assert TIMESTAMP.match(body["tm_update"])
        assert body["tm_delete"] == UNSET_TIMESTAMP
        hashes.append(body["direct_hash"])

    assert len({first_hash, *hashes}) == 3
    assert not Agent.objects.filter(direct_hash__in=[first_hash, hashes[0]]).exists()  # they stop resolving
    reachable = Agent.objects.get(direct_hash=hashes[1])
    assert str(reachable.id) == agent["id"]
    assert reachable.direct_sip_uri == f"sip:direct.{hashes[1]}@sip.voipbin.net"

    # The new agent signs in with the tutorial's own password.
    assert api.post("/auth/login", {"username": "test2", "password": "test2"}).status_code == 200
