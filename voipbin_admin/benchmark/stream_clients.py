"""The boards of the stream benchmark, in a process of their own, apart from the servers:
`python -m voipbin_admin.benchmark.stream_clients`, driven by `stream.py` (no Django here).

It reads one JSON line of settings on stdin, then opens `k` boards of one `mode`:

- `push`: a WebSocket (the `websockets` library, with its default per-message deflate, as a
  browser negotiates it) signed in with a console session cookie, subscribed to the customer's
  `customer_id:<cid>:agent`;
- `poll`: today's board, `GET /board/live/?v=<version>` every second (setInterval-like: a tick
  that falls while a request is out is skipped), a new connection each time as gunicorn's sync
  workers close every one;
- `raw`: WebSockets as in `push`, counting the frames of events after a given event id.

It prints `subscribed` (WebSockets open and subscribed), `ready` (every board has had its
first frame or fragment) and `complete` (every board has seen every change of the plan), and
answers the commands `mark` (prints `mark <bytes received> <HTTP requests made>`), `go <event id> <n>` (raw:
count the frames of the n events after that id; prints `going`, then `done <json>` once every
connection has them) and
`stop` (prints `results <json>` and exits); `BoardsProcess` is the other end, for `stream.py`.
Times are `time.monotonic()`, the same clock in
every process of the machine, so they compare with the PUT responses timed by `stream.py`.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import queue
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect

from voipbin_admin.benchmark import BenchmarkError

_TILE = re.compile(rb'data-agent="([^"]*)" data-status="([^"]*)"')
_VERSION = re.compile(rb'id="board-version" name="v" value="([^"]*)"')
_EVENT_ID = '"event_id":"'
#: WebSocket handshakes at a time: each one is a session lookup on the server.
_CONNECT_BATCH = 50


class CountingConnection(ClientConnection):
    """A client connection that counts the bytes it receives from the socket (the wire)."""

    received_bytes = 0

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        super().data_received(data)


class Boards:
    """What every board saw: the first time each change of the plan showed, per board."""

    def __init__(self, settings: dict) -> None:
        self.settings = settings
        self.k = settings["k"]
        plan = settings["plan"]  # [agent id, username, new status], in the order they are made
        self.by_agent = {(agent_id, status): index for index, (agent_id, _, status) in enumerate(plan)}
        self.by_username = {
            (username.encode(), status.encode()): index for index, (_, username, status) in enumerate(plan)
        }
        self.seen: list[dict[int, float]] = [{} for _ in range(self.k)]
        self.started = [False] * self.k
        self.counted = [0] * self.k  # raw: frames of events after `after_id`
        self.last_at: list[float | None] = [None] * self.k
        self.after_id: int | None = None
        self.wanted = 0
        self.finished = 0  # raw: connections that have all `wanted` frames
        self.http_bytes = 0
        self.requests = 0
        self.fragments = 0
        self.connections: list[CountingConnection] = []
        self.ready = asyncio.Event()
        self.complete = asyncio.Event()
        self.done = asyncio.Event()
        self.stopping = asyncio.Event()

    def received_bytes(self) -> int:
        return self.http_bytes + sum(conn.received_bytes for conn in self.connections)

    def mark_started(self, board: int) -> None:
        if not self.started[board]:
            self.started[board] = True
            if all(self.started):
                self.ready.set()

    def saw(self, board: int, index: int | None, at: float) -> None:
        if index is not None and index not in self.seen[board]:
            self.seen[board][index] = at
            if len(self.seen[board]) == len(self.by_agent) and all(
                len(seen) == len(self.by_agent) for seen in self.seen
            ):
                self.complete.set()

    def on_frame(self, board: int, text: str, at: float) -> None:
        self.mark_started(board)
        if self.settings["mode"] == "raw":
            if self.after_id is not None and _event_id(text) > self.after_id:
                self.counted[board] += 1
                self.last_at[board] = at
                if self.counted[board] == self.wanted:
                    self.finished += 1
                    if self.finished == self.k:
                        self.done.set()
            return
        data = json.loads(text).get("data") or {}
        self.saw(board, self.by_agent.get((data.get("id"), data.get("status"))), at)

    def on_fragment(self, board: int, html: bytes, at: float) -> bytes:
        """Record the planned changes the fragment shows; its version, for the next poll."""
        self.fragments += 1
        self.mark_started(board)
        for username, status in _TILE.findall(html):
            self.saw(board, self.by_username.get((username, status)), at)
        version = _VERSION.search(html)
        return version.group(1) if version else b""


def _event_id(frame: str) -> int:
    start = frame.rfind(_EVENT_ID) + len(_EVENT_ID)
    return int(frame[start : frame.index('"', start)])


async def open_stream(boards: Boards, cookie: str) -> CountingConnection:
    settings = boards.settings
    conn = await connect(
        settings["ws_url"],
        additional_headers={"Cookie": cookie},
        create_connection=CountingConnection,
        proxy=None,
        max_queue=None,
        open_timeout=60,
    )
    assert isinstance(conn, CountingConnection)  # create_connection above
    await conn.send(json.dumps({"type": "subscribe", "topics": [settings["topic"]]}))
    return conn


async def receive_frames(boards: Boards, board: int, conn: CountingConnection) -> None:
    async for text in conn:
        boards.on_frame(board, text if isinstance(text, str) else text.decode(), time.monotonic())


async def poll_board(boards: Boards, board: int, cookie: str) -> None:
    """Today's board in one browser tab: every second, unless a poll is still out."""
    settings = boards.settings
    await asyncio.sleep(random.random())  # tabs opened at different moments
    version = b""
    tick = time.monotonic()
    while not boards.stopping.is_set():
        target = "/board/live/?q=&status=&tag=&v=" + quote(version.decode())
        status, body = await _http_get(boards, settings["http_host"], settings["http_port"], target, cookie)
        at = time.monotonic()
        if status == 200:
            version = boards.on_fragment(board, body, at)
        elif status != 204:
            raise RuntimeError(f"GET {target}: HTTP {status}")
        while tick <= time.monotonic():
            tick += 1.0
        await asyncio.sleep(tick - time.monotonic())


async def _http_get(boards: Boards, host: str, port: int, target: str, cookie: str) -> tuple[int, bytes]:
    """One GET on a connection of its own, as a browser sends it (gzip accepted); the bytes
    that came back are counted, the body returned inflated."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
            "Accept-Encoding: gzip\r\nHX-Request: true\r\nConnection: close\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        headers = dict(
            line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line
        )  # fmt: skip
        headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
        if b"content-length" in headers:
            body = await reader.readexactly(int(headers[b"content-length"]))
        else:
            body = await reader.read()
    finally:
        writer.close()
    boards.requests += 1
    boards.http_bytes += len(head) + len(body)
    if headers.get(b"content-encoding") == b"gzip":
        body = gzip.decompress(body)
    return status, body


async def open_boards(boards: Boards) -> list[asyncio.Task]:
    settings = boards.settings
    cookies = [f"{settings['cookie_name']}={key}" for key in settings["session_keys"]]
    if settings["mode"] == "poll":
        return [asyncio.create_task(poll_board(boards, board, cookies[board])) for board in range(boards.k)]
    for start in range(0, boards.k, _CONNECT_BATCH):
        batch = cookies[start : start + _CONNECT_BATCH]
        boards.connections += await asyncio.gather(*(open_stream(boards, cookie) for cookie in batch))
    say("subscribed")
    return [
        asyncio.create_task(receive_frames(boards, board, conn))
        for board, conn in enumerate(boards.connections)
    ]


async def announce(boards: Boards) -> None:
    await boards.ready.wait()
    say("ready")
    await boards.complete.wait()
    say("complete")


async def main() -> None:
    loop = asyncio.get_running_loop()
    boards = Boards(json.loads(await loop.run_in_executor(None, sys.stdin.readline)))
    tasks = await open_boards(boards)
    watch = [*tasks, asyncio.create_task(announce(boards))]
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not command or command[0] == "stop":
            break
        if command[0] == "mark":
            say(f"mark {boards.received_bytes()} {boards.requests}")
        elif command[0] == "go":
            boards.after_id, boards.wanted = int(command[1]), int(command[2])
            watch.append(asyncio.create_task(_report_done(boards)))
            say("going")
    failed = [task.exception() for task in tasks if task.done() and not task.cancelled() and task.exception()]
    boards.stopping.set()
    for task in watch:
        task.cancel()
    await asyncio.gather(*(conn.close() for conn in boards.connections), return_exceptions=True)
    say(
        "results "
        + json.dumps(
            {
                "seen": [{str(index): at for index, at in seen.items()} for seen in boards.seen],
                "requests": boards.requests,
                "fragments": boards.fragments,
                "counted": boards.counted,
                "last_at": boards.last_at,
                "errors": [repr(error) for error in failed],
            }
        )
    )


async def _report_done(boards: Boards) -> None:
    await boards.done.wait()
    say("done " + json.dumps({"counted": boards.counted, "last_at": boards.last_at}))


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class BoardsProcess:
    """This module in a process of its own, as `stream.py` drives it: the lines it prints."""

    def __init__(self, config: dict) -> None:
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by close())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voipbin_admin.benchmark.stream_clients"],
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.waiting: dict[str, str] = {}
        threading.Thread(target=self._read, daemon=True).start()
        self.send(json.dumps(config))

    def _read(self) -> None:
        assert self.process.stdout is not None  # started with stdout=PIPE
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # the process has ended

    def send(self, line: str) -> None:
        assert self.process.stdin is not None  # started with stdin=PIPE
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, word: str, *, timeout: float, missing_ok: bool = False) -> str | None:
        """The rest of the next line that starts with `word` (lines of other words are kept)."""
        deadline = time.monotonic() + timeout
        while word not in self.waiting:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                if missing_ok:
                    return None
                raise BenchmarkError(
                    f"the boards did not say {word!r} within {timeout} s: {self.errors()}"
                ) from None
            if not line:
                self.lines.put("")
                raise BenchmarkError(f"the boards' process ended: {self.errors()}")
            first, _, rest = line.partition(" ")
            self.waiting[first] = rest
        return self.waiting.pop(word) or word

    def received(self) -> tuple[int, int]:
        """Bytes received and HTTP requests made by the boards so far."""
        self.send("mark")
        received_bytes, requests = (self.expect("mark", timeout=30) or "").split()
        return int(received_bytes), int(requests)

    def stop(self) -> dict:
        self.send("stop")
        results = json.loads(self.expect("results", timeout=60) or "{}")
        if results["errors"]:
            raise BenchmarkError(f"a board failed: {results['errors'][:3]}")
        return results

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-2000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.stderr.close()


if __name__ == "__main__":
    try:
        import uvloop  # uvicorn's own loop, when installed: the clients cost less CPU
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
