"""REST doors onto tags (contract section 7, and the read-only tags of section 9)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from agents import permissions
from tags import selectors, services
from tags.api.serializers import (
    TagCreateRequestSerializer,
    TagPageSerializer,
    TagSerializer,
    TagUpdateRequestSerializer,
)
from tags.models import Tag
from tags.representation import tag_representation
from voipbin_admin.api.pagination import page_request, paginate, represent_each
from voipbin_admin.api.schema import AUTHENTICATED_ERRORS, BODY_ERRORS, PAGE_PARAMETERS, error_responses
from voipbin_admin.api.views import ApiView, json_body, provided

TAG_ID = OpenApiParameter("tag_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
TAGS = ["tags"]
SELF_SERVICE = ["service_agents"]


def managed_tag(actor, tag_id) -> Tag:
    """A tag of a customer the actor supervises (404 for another customer's, 403 for an agent)."""
    tag = selectors.tag_get(actor=actor, tag_id=tag_id)
    permissions.require_supervisor_of(actor, tag.customer_id)
    return tag


class TagCollectionView(ApiView):
    @extend_schema(
        operation_id="tags_list",
        tags=TAGS,
        summary="List the customer's tags (supervisors)",
        parameters=PAGE_PARAMETERS,
        responses={200: TagPageSerializer, **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request):
        permissions.require_supervisor_of(self.actor, self.actor.customer_id)
        tags = selectors.tag_list(customer_id=self.actor.customer_id)
        return Response(paginate(tags, page_request(request), represent_each(tag_representation)))

    @extend_schema(
        operation_id="tags_create",
        tags=TAGS,
        summary="Create a tag (supervisors)",
        request=TagCreateRequestSerializer,
        responses={200: TagSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 409, *BODY_ERRORS)},
    )
    def post(self, request):
        permissions.require_supervisor_of(self.actor, self.actor.customer_id)
        body = json_body(request)
        tag = services.tag_create(
            actor=self.actor,
            customer_id=self.actor.customer_id,
            name=body.get("name"),
            **provided(body, "detail"),
        )
        return Response(tag_representation(tag))


class TagDetailView(ApiView):
    @extend_schema(
        operation_id="tags_get",
        tags=TAGS,
        summary="Get a tag (supervisors)",
        parameters=[TAG_ID],
        responses={200: TagSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404)},
    )
    def get(self, request, tag_id):
        return Response(tag_representation(managed_tag(self.actor, tag_id)))

    @extend_schema(
        operation_id="tags_update",
        tags=TAGS,
        summary="Change a tag's name or detail (supervisors); fields left out keep their value",
        parameters=[TAG_ID],
        request=TagUpdateRequestSerializer,
        responses={200: TagSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404, 409, *BODY_ERRORS)},
    )
    def put(self, request, tag_id):
        tag = managed_tag(self.actor, tag_id)
        body = json_body(request)
        tag = services.tag_update(actor=self.actor, tag=tag, **provided(body, "name", "detail"))
        return Response(tag_representation(tag))

    @extend_schema(
        operation_id="tags_delete",
        tags=TAGS,
        summary="Delete a tag (supervisors); it is taken off every agent",
        parameters=[TAG_ID],
        responses={200: TagSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404)},
    )
    def delete(self, request, tag_id):
        tag = managed_tag(self.actor, tag_id)
        return Response(tag_representation(services.tag_delete(actor=self.actor, tag=tag)))


class CustomerTagCollectionView(ApiView):
    @extend_schema(
        operation_id="service_agents_tags_list",
        tags=SELF_SERVICE,
        summary="List the tags of one's own customer (any agent)",
        parameters=PAGE_PARAMETERS,
        responses={200: TagPageSerializer, **error_responses(400, 401)},
    )
    def get(self, request):
        tags = selectors.tag_list(customer_id=self.actor.customer_id)
        return Response(paginate(tags, page_request(request), represent_each(tag_representation)))


class CustomerTagDetailView(ApiView):
    @extend_schema(
        operation_id="service_agents_tags_get",
        tags=SELF_SERVICE,
        summary="Get a tag of one's own customer (any agent)",
        parameters=[TAG_ID],
        responses={200: TagSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request, tag_id):
        return Response(tag_representation(selectors.tag_get(actor=self.actor, tag_id=tag_id)))
