"""The served OpenAPI document is valid and the API answers exactly as it says.

schemathesis generates requests for every operation of the document (valid and invalid
bodies, parameters and ids) and sends them to the app in-process (WSGI), authenticated as an
admin of customer A; every response must be documented (status code, headers, content type,
body schema) and none may be a 5xx. The example count is bounded so the run stays short; the
examples are derandomized so that CI runs are reproducible.
"""

from __future__ import annotations

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

from agents.services import access_key_create
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
    access_key, _ = access_key_create(actor=None, customer_id=admin_a.customer_id, name="fuzzed")
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
