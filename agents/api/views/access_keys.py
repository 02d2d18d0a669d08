"""Access keys (contract section 8)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from agents import permissions, selectors, services
from agents.api.serializers import (
    AccessKeyCreateRequestSerializer,
    AccessKeyPageSerializer,
    AccessKeySerializer,
    AccessKeyUpdateRequestSerializer,
    AccessKeyWithTokenSerializer,
)
from agents.api.views.common import (
    ACCESS_KEY_ID,
    ACCESS_KEYS,
)
from agents.models import AccessKey
from agents.representation import access_key_representation
from voipbin_admin.api.pagination import page_request, paginate, represent_each
from voipbin_admin.api.schema import (
    AUTHENTICATED_ERRORS,
    BODY_ERRORS,
    PAGE_PARAMETERS,
    error_responses,
)
from voipbin_admin.api.views import ApiView, json_body, provided


def managed_access_key(actor, access_key_id) -> AccessKey:
    access_key = selectors.access_key_get(actor=actor, access_key_id=access_key_id)
    permissions.require_admin_of(actor, access_key.customer_id)
    return access_key


class AccessKeyCollectionView(ApiView):
    @extend_schema(
        operation_id="accesskeys_list",
        tags=ACCESS_KEYS,
        summary="List the customer's access keys (admins)",
        parameters=PAGE_PARAMETERS,
        responses={200: AccessKeyPageSerializer, **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request):
        permissions.require_admin_of(self.actor, self.actor.customer_id)
        keys = selectors.access_key_list(customer_id=self.actor.customer_id)
        return Response(paginate(keys, page_request(request), represent_each(access_key_representation)))

    @extend_schema(
        operation_id="accesskeys_create",
        tags=ACCESS_KEYS,
        summary="Create an access key (admins); the key itself is shown only in this response",
        request=AccessKeyCreateRequestSerializer,
        responses={
            200: AccessKeyWithTokenSerializer,
            **error_responses(400, *AUTHENTICATED_ERRORS, *BODY_ERRORS),
        },
    )
    def post(self, request):
        permissions.require_admin_of(self.actor, self.actor.customer_id)
        body = json_body(request)
        access_key, token = services.access_key_create(
            actor=self.actor, customer_id=self.actor.customer_id, **provided(body, "name", "detail", "expire")
        )
        return Response({**access_key_representation(access_key), "token": token})


class AccessKeyDetailView(ApiView):
    @extend_schema(
        operation_id="accesskeys_get",
        tags=ACCESS_KEYS,
        summary="Get an access key (admins)",
        parameters=[ACCESS_KEY_ID],
        responses={200: AccessKeySerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404)},
    )
    def get(self, request, access_key_id):
        return Response(access_key_representation(managed_access_key(self.actor, access_key_id)))

    @extend_schema(
        operation_id="accesskeys_update",
        tags=ACCESS_KEYS,
        summary="Change an access key's name and detail (admins)",
        parameters=[ACCESS_KEY_ID],
        request=AccessKeyUpdateRequestSerializer,
        responses={
            200: AccessKeySerializer,
            **error_responses(400, *AUTHENTICATED_ERRORS, 404, *BODY_ERRORS),
        },
    )
    def put(self, request, access_key_id):
        access_key = managed_access_key(self.actor, access_key_id)
        body = json_body(request)
        access_key = services.access_key_update(
            actor=self.actor, access_key=access_key, **provided(body, "name", "detail")
        )
        return Response(access_key_representation(access_key))

    @extend_schema(
        operation_id="accesskeys_delete",
        tags=ACCESS_KEYS,
        summary="Delete an access key (admins); it stops authenticating at once",
        parameters=[ACCESS_KEY_ID],
        responses={200: AccessKeySerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404)},
    )
    def delete(self, request, access_key_id):
        access_key = managed_access_key(self.actor, access_key_id)
        return Response(
            access_key_representation(services.access_key_delete(actor=self.actor, access_key=access_key))
        )
