"""The event stream's WebSocket routes, at both of VoIPbin's paths (contract section 11)."""

from django.urls import path

from agents.stream.consumer import EventStreamConsumer

# django-stubs types path() for views; Channels routes ASGI applications with it.
websocket_urlpatterns = [
    path("v1.0/ws", EventStreamConsumer.as_asgi()),  # type: ignore[arg-type]
    path("v1.0/service_agents/ws", EventStreamConsumer.as_asgi()),  # type: ignore[arg-type]
]
