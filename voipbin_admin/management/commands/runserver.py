"""`runserver`: Daphne's development server (HTTP and the event stream's WebSocket in one
process), with the keep-alive of the production stream server (`voipbin_admin/asgi_worker.py`,
contract section 11): a ping every 10 s, and a connection closed when its pong has not come
50 s after a ping, so at most 60 s without an answer. Daphne's own defaults are 20 s and 30 s.

This app is listed before `daphne` in INSTALLED_APPS, so this command is the one that runs.
"""

from daphne.management.commands.runserver import Command as DaphneRunserverCommand
from daphne.server import Server

from voipbin_admin.asgi_worker import PING_INTERVAL_SECONDS, PING_TIMEOUT_SECONDS


class StreamKeepAliveServer(Server):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(
            *args, **kwargs, ping_interval=PING_INTERVAL_SECONDS, ping_timeout=PING_TIMEOUT_SECONDS
        )


class Command(DaphneRunserverCommand):
    server_cls = StreamKeepAliveServer
