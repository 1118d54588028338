"""A hostile Plex: a proxy in front of the emulator that misbehaves on request, the way a broken
server, a bad reverse proxy or an attacker on the path would. For tests and bench/faults.py.

    with Emulator(...) as emulator, HostilePlex(emulator.url) as plex:
        plex.set("redirect", location="http://elsewhere/")   # a 302 for every path
        plex.set("drip", path_prefix="/photo", interval=1.0)  # images trickle in, a byte a second
        ... point MediaNest at plex.url ...
        plex.seen  # every request it received: method, path, headers

Modes (each for paths under `path_prefix`, "" for all; everything else is passed through):
- ok: pass through.
- redirect: 302 to `location`.
- set_cookie: pass through with a `Set-Cookie` added (a new value each answer).
- huge: 200 image/jpeg of `size` bytes (a real JPEG start, then padding), sent as fast as read.
- drip: the real answer, one byte every `interval` seconds.
- truncate: the first half of the real body, with a Content-Length that matches the half.
- short: the first half of the real body, with the full Content-Length (the peer hangs up).
- mislabel: the real body relabelled `content_type`; with `body="gif"` a real GIF instead.
- broken_json: 200 application/json that is not JSON.
- latency: the real answer after `delay` seconds.
- strip_accept: forwarded without the client's `Accept` (as some reverse proxies do), so Plex
  answers in its default format, XML.
- deep: 200 with one item whose `Media` nests `size` levels deep: JSON, or XML with
  `body="xml"` (a real answer nests about 6 levels).

Control over HTTP too (another process): POST /__hostile__/mode {"mode": ..., ...},
GET /__hostile__/seen, POST /__hostile__/seen/reset.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import logging
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .images import render

CONTROL_PREFIX = "/__hostile__/"
MODES = (
    "ok",
    "redirect",
    "set_cookie",
    "huge",
    "drip",
    "truncate",
    "short",
    "mislabel",
    "broken_json",
    "latency",
    "strip_accept",
    "deep",
)
# Headers that describe one hop of HTTP, not the answer: never copied from upstream.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
}


@dataclass
class Misbehaviour:
    mode: str = "ok"
    path_prefix: str = ""
    location: str = "http://127.0.0.1:9/"
    size: int = 40 * 1024 * 1024
    interval: float = 1.0
    delay: float = 0.0
    content_type: str = "image/svg+xml"
    body: str = ""


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class _State:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.misbehaviour = Misbehaviour()
        self.seen: list[Seen] = []
        self.cookies = itertools.count(1)
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        state = self.server.state
        body = self._request_body()
        path = urlsplit(self.path).path
        if path.startswith(CONTROL_PREFIX):
            self._control(method, path, body)
            return
        with state.lock:
            state.seen.append(Seen(method, self.path, dict(self.headers.items())))
            misbehaviour = state.misbehaviour
        mode = misbehaviour.mode if path.startswith(misbehaviour.path_prefix or "/") else "ok"
        try:
            self._misbehave(mode, misbehaviour, method, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a deadline): routine here

    def _misbehave(self, mode: str, how: Misbehaviour, method: str, body: bytes) -> None:
        if mode == "redirect":
            self._answer(302, b"", {"Location": how.location, "Content-Type": "text/html"})
        elif mode == "huge":
            self._huge(how.size)
        elif mode == "broken_json":
            self._answer(200, b'{"MediaContainer": {"size": 1, "Metadata": [{"rat', _json_type())
        elif mode == "deep":
            self._answer(200, *_deep(how.size, xml=how.body == "xml"))
        else:
            if mode == "latency":
                time.sleep(how.delay)
            status, headers, upstream_body = self._forward(
                method, body, drop=("accept",) if mode == "strip_accept" else ()
            )
            if mode == "set_cookie":
                number = next(self.server.state.cookies)
                headers["Set-Cookie"] = f"plexsession=hostile-{number}; Path=/"
            elif mode == "truncate":
                upstream_body = upstream_body[: len(upstream_body) // 2]
            elif mode == "mislabel":
                headers["Content-Type"] = how.content_type
                if how.body == "gif":
                    upstream_body = render("hostile", 60, 90, "GIF")
            if mode == "drip":
                self._drip(status, headers, upstream_body, how.interval)
            elif mode == "short":
                self._answer(
                    status,
                    upstream_body[: len(upstream_body) // 2],
                    headers,
                    length=len(upstream_body),
                )
                self.close_connection = True
            else:
                self._answer(status, upstream_body, headers)

    # -- plumbing ---------------------------------------------------------------------------

    def _request_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _forward(
        self, method: str, body: bytes, drop: tuple[str, ...] = ()
    ) -> tuple[int, dict[str, str], bytes]:
        state = self.server.state
        connection = http.client.HTTPConnection(
            state.upstream_host, state.upstream_port, timeout=30
        )
        try:
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in _HOP_BY_HOP and k.lower() not in drop
            }
            connection.request(method, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            answer_headers = {
                k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP
            }
            return response.status, answer_headers, data
        finally:
            connection.close()

    def _answer(
        self, status: int, body: bytes, headers: dict[str, str], length: int | None = None
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _huge(self, size: int) -> None:
        start = render("huge", 60, 90)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(start)
        left = size - len(start)
        block = b"\0" * 65536
        while left > 0:
            self.wfile.write(block[: min(left, len(block))])
            left -= len(block)
        self.wfile.flush()

    def _drip(self, status: int, headers: dict[str, str], body: bytes, interval: float) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        for index in range(len(body)):
            self.wfile.write(body[index : index + 1])
            self.wfile.flush()
            time.sleep(interval)

    def _control(self, method: str, path: str, body: bytes) -> None:
        state = self.server.state
        if path == f"{CONTROL_PREFIX}mode" and method == "POST":
            try:
                self.server.owner.set(**json.loads(body or b"{}"))
            except (TypeError, ValueError) as exc:
                self._answer(400, json.dumps({"error": str(exc)}).encode(), _json_type())
                return
            self._answer(200, json.dumps(asdict(state.misbehaviour)).encode(), _json_type())
        elif path == f"{CONTROL_PREFIX}seen" and method == "GET":
            seen = [asdict(entry) for entry in self.server.owner.seen]
            self._answer(200, json.dumps(seen).encode(), _json_type())
        elif path == f"{CONTROL_PREFIX}seen/reset" and method == "POST":
            self.server.owner.reset_seen()
            self._answer(200, b"[]", _json_type())
        else:
            self._answer(404, b"{}", _json_type())


def _deep(levels: int, *, xml: bool) -> tuple[bytes, dict[str, str]]:
    """A well-formed answer with one item whose `Media` nests `levels` deep."""
    if xml:
        body = (
            b'<MediaContainer size="1"><Video ratingKey="1" type="movie" title="Deep">'
            + b"<Media>" * levels
            + b"</Media>" * levels
            + b"</Video></MediaContainer>"
        )
        return body, {"Content-Type": "text/xml;charset=utf-8"}
    body = (
        b'{"MediaContainer": {"size": 1, "Metadata": [{"ratingKey": "1", "type": "movie", '
        b'"title": "Deep", "Media": ' + b"[" * levels + b"]" * levels + b"}]}}"
    )
    return body, _json_type()


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: _State, owner: HostilePlex) -> None:
        self.state = state
        self.owner = owner
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is what half of these modes provoke; anything else is
        # a bug of the proxy's own, and is logged.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        logging.getLogger(__name__).exception("Hostile Plex: error answering %s", client_address)


class HostilePlex:
    """The proxy, on `host:port` (0: a free port), in a background thread of this process."""

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._state = _State(upstream)
        self._server = _Server((host, port), self._state, self)
        self.host, self.port = host, self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def seen(self) -> list[Seen]:
        with self._state.lock:
            return list(self._state.seen)

    def reset_seen(self) -> None:
        with self._state.lock:
            self._state.seen.clear()

    def set(self, mode: str = "ok", **options: Any) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        with self._state.lock:
            self._state.misbehaviour = Misbehaviour(mode=mode, **options)

    def start(self) -> HostilePlex:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"hostile-plex-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HostilePlex:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A misbehaving proxy in front of a Plex server.")
    parser.add_argument("--upstream", required=True, help="the Plex server (the emulator) URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    plex = HostilePlex(args.upstream, host=args.host, port=args.port)
    print(f"Hostile Plex at {plex.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        plex._server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
