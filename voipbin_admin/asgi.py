"""The ASGI application: Django's HTTP (API, console, admin) and the event stream's WebSocket
(`agents.stream`, contract section 11), one application for runserver (Daphne), uvicorn and
gunicorn's uvicorn workers (README, "Production")."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voipbin_admin.settings")
# PostgreSQL connections from a pool (settings, DB_POOL): under ASGI, Django would otherwise open
# one per request.
os.environ.setdefault("DB_POOL", "1")

# Django first: it sets up the apps the WebSocket routes import.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from agents.stream.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        # Every handshake is authenticated by the consumer itself (the API's credentials, or the
        # console's session from this site only), so no origin validator wraps the routes: API
        # clients may connect from any origin, as they may call the REST API.
        "websocket": URLRouter(websocket_urlpatterns),  # type: ignore[arg-type]  # agents.stream.routing
    }
)
