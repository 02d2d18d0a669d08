"""The served OpenAPI document is valid and the API answers exactly as it says.

schemathesis generates requests for every operation of the document (valid and invalid
bodies, parameters and ids) and sends them to the app in-process (WSGI), authenticated as an
admin of customer A; every response must be documented (status code, headers, content type,
body schema) and none may be a 5xx. The example count is bounded so the run stays short; the
examples are derandomized so that CI runs are reproducible.
"""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agents.permissions import SYSTEM
from agents.services import access_key_create
from agents.usernames import is_valid_username
from tests.api_support import Api, token_for
from tests.factories import make_agent, make_tag

# The app runs behind a TLS proxy in production; this is what the proxy tells it.
HTTPS = {"X-Forwarded-Proto": "https"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_served_document_is_valid_openapi(db):
    response = Api().get("/v1.0/openapi.json")

    assert response.status_code == 200
    document = response.json()
    validate_schema(document)  # against the OpenAPI 3.0 meta-schema
    assert document["openapi"].startswith("3.")
    assert set(document["components"]["securitySchemes"]) == {
        "bearerAuth",
        "tokenQuery",
        "tokenCookie",
        "accesskeyQuery",
        "accesskeyCookie",
    }
    assert {"ErrorEnvelope", "AgentPage", "TagPage", "AccessKeyPage"} <= set(
        document["components"]["schemas"]
    )


def test_spectacular_generates_the_document_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "openapi.yaml"))


def test_the_docs_page_renders_the_document_with_local_assets(db):
    response = Api().get("/v1.0/docs")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'spec-url="/v1.0/openapi.json"' in page
    assert "/static/vendor/redoc-2.5.2/redoc.standalone.js" in page
    assert "https://" not in page  # nothing from a CDN
    assert "img-src 'self' data:" in response["Content-Security-Policy"]  # nor the logo Redoc would fetch


def _property(document: dict, schema_name: str, field: str) -> dict:
    """A request field's schema, with drf-spectacular's nullable and blank wrappers unwrapped."""
    schema = document["components"]["schemas"][schema_name]["properties"][field]
    for key in ("oneOf", "allOf"):
        if key in schema:
            branches = [branch for branch in schema[key] if branch.get("maxLength") != 0]
            schema = {**schema, **branches[0]}
    if "$ref" in schema:
        schema = {**schema, **document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]}
    return schema


def _parameter(document: dict, path: str, name: str) -> dict:
    return next(p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name)


def test_the_document_carries_the_rules_the_services_enforce(db):
    document = Api().get("/v1.0/openapi.json").json()

    username = _property(document, "AgentCreateRequest", "username")
    assert (username["minLength"], username["maxLength"]) == (1, 255)
    assert username["pattern"].startswith("^[^\\s\\u0000-\\u001f\\u007f-\\u009f")
    assert "unassigned" in username["description"]
    for schema, field, limit in [
        ("AgentCreateRequest", "name", 255),
        ("AgentCreateRequest", "detail", 10_000),
        ("AgentCreateRequest", "password", 1024),
        ("AgentUpdateRequest", "name", 255),
        ("AgentStatusRequest", "reason", 255),
        ("AddressInput", "target_name", 255),
        ("AccessKeyCreateRequest", "name", 255),
        ("TagCreateRequest", "name", 255),
        ("TagUpdateRequest", "detail", 10_000),
    ]:
        rule = _property(document, schema, field)
        assert rule["maxLength"] == limit, (schema, field)
        assert rule["pattern"].startswith("^[^\\u0000]"), (schema, field)  # no NUL
    assert _property(document, "AgentCreateRequest", "password")["minLength"] == 1
    assert _property(document, "TagCreateRequest", "name")["minLength"] == 1
    assert _property(document, "TagUpdateRequest", "name")["nullable"] is True  # null = left out
    assert _property(document, "AgentPasswordRequest", "old_password")["nullable"] is True

    valid_permissions = [0, 1, 16, 17, 32, 33, 48, 49, 64, 65, 80, 81, 96, 97, 112, 113]
    assert _property(document, "AgentPermissionRequest", "permission")["enum"] == valid_permissions
    assert _property(document, "Agent", "permission")["enum"] == valid_permissions
    create_permission = document["components"]["schemas"]["AgentCreateRequest"]["properties"]["permission"]
    assert create_permission["nullable"] is True

    expire = _property(document, "AccessKeyCreateRequest", "expire")
    assert (expire["minimum"], expire["maximum"], expire["format"]) == (86400, 3_153_600_000, "int64")
    assert "between 86400 (one day) and 3153600000 (100 years)" in expire["description"]
    assert _property(document, "AgentCreateRequest", "addresses")["maxItems"] == 20
    assert _property(document, "AgentAddressesRequest", "addresses")["maxItems"] == 20

    for path in ("/v1.0/agents", "/v1.0/service_agents/agents", "/v1.0/tags", "/v1.0/accesskeys"):
        page_size = _parameter(document, path, "page_size")["schema"]
        assert (page_size["minimum"], page_size["maximum"]) == (1, 100), path
    for path in ("/v1.0/agents", "/v1.0/service_agents/agents"):
        tag_ids = _parameter(document, path, "tag_ids")
        assert (tag_ids["style"], tag_ids["explode"]) == ("form", False)  # comma-separated
        assert tag_ids["schema"] == {
            "type": "array",
            "items": {"type": "string", "format": "uuid"},
            "minItems": 1,
            "maxItems": 100,
        }
        assert "" not in _parameter(document, path, "status")["schema"]["enum"]


def test_the_documented_username_pattern_refuses_only_what_the_service_refuses():
    """Every character of the Basic Multilingual Plane: the pattern lets a character through
    if and only if the service accepts it, unassigned code points aside (which the pattern
    cannot name and the description mentions)."""
    document = schemathesis_free_document()
    pattern = re.compile(_property(document, "AgentCreateRequest", "username")["pattern"])
    disagreements = [
        hex(code)
        for code in range(0x10000)
        if unicodedata.category(chr(code)) != "Cn"
        and bool(pattern.match(chr(code))) != is_valid_username(chr(code))
    ]
    assert disagreements == []


def schemathesis_free_document() -> dict:
    """The document as drf-spectacular generates it, without a request or a database."""
    from drf_spectacular.generators import SchemaGenerator

    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


@pytest.fixture
def _keep_the_tests_connection():
    """schemathesis calls the WSGI app directly, not through Django's test client, so do what the
    test client does: keep the end of a request from closing the connection that holds the test's
    transaction (PostgreSQL would lose the test data)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_data(admin_a, agent_a, admin_b, _keep_the_tests_connection):
    """Something to find: an agent, a tag and an access key of customer A (and another customer)."""
    access_key, _ = access_key_create(actor=SYSTEM, customer_id=admin_a.customer_id, name="fuzzed")
    return {
        "agent_id": make_agent(admin_a.customer_id, username="second-agent").id,
        "tag_id": make_tag(admin_a.customer_id, name="support").id,
        "access_key_id": access_key.id,
    }


def aim_at_existing_objects(case, known_ids: dict) -> None:
    """Send about half of the generated ids to objects that exist, so that success paths are
    fuzzed too (random ids only ever find nothing)."""
    for name, existing_id in known_ids.items():
        value = (case.path_parameters or {}).get(name)
        if isinstance(value, str) and value[:1] in "01234567":
            case.path_parameters[name] = str(existing_id)


# Loaded from the app at collection (no database needed to generate the document).
schema = schemathesis.openapi.from_wsgi("/v1.0/openapi.json", get_wsgi_application(), headers=HTTPS)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(db, case, admin_a, fuzz_data):
    aim_at_existing_objects(case, fuzz_data)
    # A fresh token each time: a generated logout or password change may revoke the previous one.
    token = token_for(admin_a)
    response = case.call(headers={**HTTPS, "Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=CHECKS)
