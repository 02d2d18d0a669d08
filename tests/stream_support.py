"""Helpers for the event stream's tests (tests/test_event_stream.py): a real ASGI server process
as production runs it (gunicorn with the StreamWorker) on the test database, blocking WebSocket
clients (the `websockets` library), and a raw client that watches the server's pings.

No acknowledgement is ever sent for a subscribe (contract section 11), so a test cannot see when
a subscription is live. The tests subscribe with `since` (the newest stored event id): whatever
committed after it is then either replayed or delivered live, never missed, so a test may write
right after subscribing. A test that must know that a message was handled (an unsubscribe)
waits for a frame that only a later message can produce (`Stream.sync`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = "redis://127.0.0.1:6379/0"
#: Channel-layer prefix of this test run: runs on one Redis never see each other's events.
CHANNEL_PREFIX = f"t{os.getpid()}"
SECRET_KEY = "stream-tests-" + "k" * 50


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamServer:
    """`gunicorn -k voipbin_admin.asgi_worker.StreamWorker voipbin_admin.asgi`, one worker, on
    the given database and the Redis channel layer; its stdout and stderr (access log on) go to
    `log_path`."""

    def __init__(self, *, database_url: str, directory: Path, name: str, recheck_seconds: float) -> None:
        self.port = free_port()
        self.log_path = directory / f"{name}.log"
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "1",
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": database_url,
            "CACHE_URL": "locmemcache://",
            "CHANNEL_LAYER_URL": REDIS_URL,
            "CHANNEL_LAYER_PREFIX": CHANNEL_PREFIX,
            "EVENT_STREAM_RECHECK_SECONDS": str(recheck_seconds),
            "GUNICORN_ACCESS_LOG": "-",
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "voipbin_admin/gunicorn_conf.py",
            "-k",
            "voipbin_admin.asgi_worker.StreamWorker",
            "voipbin_admin.asgi",
        ]
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def wait_until_serving(self) -> StreamServer:
        """Until the worker answers HTTP (gunicorn's master listens before its worker is up)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log()}")
            try:
                status, _ = self.http("GET", "/v1.0/me")
            except OSError:
                time.sleep(0.1)
                continue
            if status == 401:
                return self
            raise RuntimeError(f"the server answered {status}:\n{self.log()}")
        raise RuntimeError(f"the server did not start:\n{self.log()}")

    def url(self, path: str = "/v1.0/ws", **query: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}" + (f"?{urlencode(query)}" if query else "")

    @property
    def origin(self) -> str:
        """The origin of this site's own pages."""
        return f"http://127.0.0.1:{self.port}"

    def http(self, method: str, path: str, body: object = None, headers: dict | None = None):
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            payload = None if body is None else json.dumps(body)
            connection.request(
                method, path, payload, headers={"Content-Type": "application/json", **(headers or {})}
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_once_holding(self, text: str, timeout: float = 10) -> str:
        """The log, once a line holding `text` was written."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- clients ------------------------------------------------------------------------------------


def open_connection(
    url: str, *, origin: str | None = None, headers: dict | None = None, cookies: dict | None = None
) -> ClientConnection:
    """The handshake as a client makes it; raises InvalidStatus when refused."""
    headers = dict(headers or {})
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return connect(
        url,
        origin=origin,  # type: ignore[arg-type]  # a plain string is an Origin
        additional_headers=headers,
        proxy=None,
        open_timeout=10,
        ping_interval=None,
        close_timeout=2,
        compression=None,
        legacy=True,
    )


def refused_status(url: str, **kwargs) -> int:
    """The HTTP status of a handshake that must be refused (fails if it is accepted)."""
    try:
        connection = open_connection(url, **kwargs)
    except InvalidStatus as refused:
        return refused.response.status_code
    connection.close()
    raise AssertionError(f"the handshake to {url} was accepted (101)")


class Closed(Exception):
    """The server closed the connection while a frame was awaited."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code} {reason!r}")
        self.code, self.reason = code, reason


class Stream:
    """One client connection of the event stream, JSON frames in and out."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def send(self, message: object) -> None:
        self.connection.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def subscribe(self, *topics: str, since: int | str | None = None) -> None:
        message: dict = {"type": "subscribe", "topics": list(topics)}
        if since is not None:
            message["since"] = str(since)
        self.send(message)

    def unsubscribe(self, *topics: str) -> None:
        self.send({"type": "unsubscribe", "topics": list(topics)})

    def frame(self, timeout: float = 5.0) -> dict:
        """The next frame; Closed if the server closed, TimeoutError if none came."""
        try:
            text = self.connection.recv(timeout=timeout)
        except ConnectionClosed as closed:
            frame = closed.rcvd
            raise Closed(frame.code if frame else None, frame.reason if frame else "") from None
        return json.loads(text)

    def frames(self, count: int, timeout: float = 5.0) -> list[dict]:
        return [self.frame(timeout) for _ in range(count)]

    def close_code(self, timeout: float = 5.0) -> tuple[int | None, str, list[dict]]:
        """Wait for the server to close: its code, reason, and the frames that came before."""
        received = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"still open after {timeout} s; frames: {received}")
            try:
                received.append(self.frame(timeout=remaining))
            except Closed as closed:
                return closed.code, closed.reason, received
            except TimeoutError:
                continue

    def sync(self, topic: str, event_id: int) -> None:
        """Subscribe to `topic` from just before the stored event `event_id` (one not yet sent
        on this connection) and wait for it: every message sent before is then handled."""
        self.subscribe(topic, since=event_id - 1)
        while True:
            if self.frame()["event_id"] == str(event_id):
                return

    def close(self) -> None:
        self.connection.close()


# --- pings --------------------------------------------------------------------------------------


class PingWatch(threading.Thread):
    """A raw client (websockets' sans-I/O protocol over a socket): it records when each ping
    comes and answers it (the protocol queues the pong), and whether the server closed."""

    def __init__(self, url: str, headers: dict) -> None:
        super().__init__(name="ping-watch", daemon=True)
        self.url, self.headers = url, headers
        self.opened_at: float | None = None
        self.status: int | None = None
        self.pings: list[float] = []
        self.pongs_sent = 0
        self.closed: str | None = None
        self._stop = threading.Event()

    def run(self) -> None:
        protocol = ClientProtocol(parse_uri(self.url))
        request = protocol.connect()
        for name, value in self.headers.items():
            request.headers[name] = value
        protocol.send_request(request)
        with socket.create_connection(("127.0.0.1", parse_uri(self.url).port), timeout=0.2) as sock:
            sock.sendall(b"".join(protocol.data_to_send()))
            while not self._stop.is_set():
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    self.closed = self.closed or "the server closed the socket"
                    return
                protocol.receive_data(data)
                pinged = False
                for event in protocol.events_received():
                    if isinstance(event, Response):
                        self.status = event.status_code
                        self.opened_at = time.monotonic()
                    elif event.opcode is Opcode.PING:
                        self.pings.append(time.monotonic())
                        pinged = True
                    elif event.opcode is Opcode.CLOSE:
                        self.closed = f"close frame {event.data!r}"
                pending = b"".join(protocol.data_to_send())  # the pong, when pinged
                if pending:
                    sock.sendall(pending)
                    self.pongs_sent += pinged

    def stop(self) -> None:
        self._stop.set()
        self.join(timeout=2)
