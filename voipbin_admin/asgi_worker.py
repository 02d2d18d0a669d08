"""gunicorn's worker for the ASGI application (README, "Production"): uvicorn's, with the event
stream's keep-alive of contract section 11. A WebSocket ping goes out every 10 s, and a connection
whose pong has not come 50 s after a ping is closed: at most 60 s without an answer.

Frames are sent uncompressed (no permessage-deflate). Its logs go through gunicorn's handlers,
which redact credentials (voipbin_admin.gunicorn_conf).
"""

from uvicorn_worker import UvicornWorker

PING_INTERVAL_SECONDS = 10.0
PING_TIMEOUT_SECONDS = 50.0


class StreamWorker(UvicornWorker):
    CONFIG_KWARGS = {
        **UvicornWorker.CONFIG_KWARGS,
        "ws_ping_interval": PING_INTERVAL_SECONDS,
        "ws_ping_timeout": PING_TIMEOUT_SECONDS,
        # Compressing each frame once per connection cost more CPU than sending it (about
        # 60 us per frame per connection, measured): frames are small JSON records.
        "ws_per_message_deflate": False,
    }
