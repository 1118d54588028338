"""The connections plex.tv publishes for the emulated server, as a real server's: several,
and not all of them good (plextv.py lists them; docs/plex-api.md, "Published connections").

- dead (local): a port that accepts TCP connections and never sends a byte, like an address
  a firewall swallows or a hung process: a client only learns it by its read timeout;
- impostor (local): another Plex server at an address the server once had (another
  machineIdentifier, friendlyName and library, statistics of its own) that accepts the same
  owner and friend tokens, so only `GET /identity` (or `GET /`) tells it apart;
- live (remote): another port of this very server (the same EmulatorState: library, watch
  state, tokens, faults, statistics). `move()` closes it and listens on a new port, as when a
  router hands out a new public port; plex.tv lists the new one from then on.

The emulator's main port is none of them: plex.tv and the control endpoints stay there.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Any

from .plextv import connection
from .server import EmulatorHTTPServer, EmulatorState

IMPOSTOR_NAME = "Old NAS"  # another server's name, nothing like the emulator's
IMPOSTOR_SEED_OFFSET = 1_000_003  # another seed: another machineIdentifier, other titles
_POLL_INTERVAL = 0.05  # how long stop() or move() waits at most for a listener's loop
_DEAD_HELD_MAX = 64  # connections the dead port keeps open at once; the oldest goes first


class DeadListener:
    """A port on `host` that accepts connections, reads and discards what is sent, and never
    answers. One thread for the listening socket and every connection it holds; a connection
    is closed when its client hangs up, when more than _DEAD_HELD_MAX are open, or at close()."""

    def __init__(self, host: str) -> None:
        self._sock = socket.create_server((host, 0), backlog=_DEAD_HELD_MAX)
        self._sock.setblocking(False)
        self.host, self.port = self._sock.getsockname()[:2]
        # close() writes a byte here to wake the thread at once, rather than it polling.
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._held: dict[socket.socket, None] = {}  # insertion order: oldest first
        self._lock = threading.Lock()
        self.accepted = 0
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"plex-emulator-dead-{self.port}"
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DeadListener:
        self._thread.start()
        return self

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"accepted": self.accepted, "open": len(self._held)}

    def reset_stats(self) -> None:
        with self._lock:
            self.accepted = 0

    def _run(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.fileobj is self._wake_read:
                    return
                if key.fileobj is self._sock:
                    self._accept()
                else:
                    self._drain(key.fileobj)  # type: ignore[arg-type]

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # out of descriptors or the like: the client waits in the backlog
            conn.setblocking(False)
            self._selector.register(conn, selectors.EVENT_READ)
            with self._lock:
                self._held[conn] = None
                self.accepted += 1
                oldest = next(iter(self._held)) if len(self._held) > _DEAD_HELD_MAX else None
            if oldest is not None:
                self._drop(oldest)

    def _drain(self, conn: socket.socket) -> None:
        # Read so that a client's writes never block, and to see it hang up.
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)

    def _drop(self, conn: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn)
        with self._lock:
            self._held.pop(conn, None)
        conn.close()

    def close(self) -> None:
        """Stop the thread, then close the port and every connection it held."""
        if self._thread.is_alive():
            with contextlib.suppress(OSError):
                self._wake_write.send(b"x")
            self._thread.join(timeout=5)
        with self._lock:
            held = list(self._held)
            self._held.clear()
        for conn in held:
            conn.close()
        self._selector.close()
        for sock in (self._sock, self._wake_read, self._wake_write):
            sock.close()


class HTTPListener:
    """An EmulatorHTTPServer for `state` on its own thread. `main=False`: another port of a
    server whose main port is elsewhere (no plex.tv, no control endpoints there)."""

    def __init__(self, state: EmulatorState, host: str, port: int, *, main: bool, name: str):
        self.server = EmulatorHTTPServer((host, port), state, main=main)
        self.host = host
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            daemon=True,
            name=f"plex-emulator-{name}-{self.port}",
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """The port refuses from now on, and its open connections end (a keep-alive client
        must not go on reaching a port that went away)."""
        self.server.shutdown()
        self.server.server_close()
        self.server.close_connections()
        self._thread.join(timeout=5)


class PublishedConnections:
    """The dead port, the impostor and the live port; what plex.tv lists (`listed`), in
    plex.tv's order (local ones first), which is not the order a client should prefer."""

    def __init__(self, state: EmulatorState, impostor: EmulatorState, host: str) -> None:
        self.state = state
        self.impostor_state = impostor
        self.host = host
        self._lock = threading.Lock()  # the listeners, as listed() reads them
        self._change_lock = threading.Lock()  # one start, stop, move or reset at a time
        self._dead: DeadListener | None = None
        self._impostor: HTTPListener | None = None
        self._live: HTTPListener | None = None
        self._first_live_port = 0  # reset() brings the live connection back there

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        with self._change_lock:
            if self._live is not None:
                return
            dead = impostor = None
            try:
                dead = DeadListener(self.host).start()
                impostor = HTTPListener(
                    self.impostor_state, self.host, 0, main=True, name="impostor"
                )
                live = HTTPListener(self.state, self.host, 0, main=False, name="live")
            except BaseException:
                for started in (dead, impostor):
                    if started is not None:
                        started.close()
                raise
            with self._lock:
                self._dead, self._impostor, self._live = dead, impostor, live
            self._first_live_port = live.port

    def stop(self) -> None:
        with self._change_lock:
            with self._lock:
                listeners = (self._live, self._impostor, self._dead)
                self._dead = self._impostor = self._live = None
            for listener in listeners:
                if listener is not None:
                    listener.close()

    def move(self) -> str:
        """The live connection on a new port; the old one refuses. The new URL."""
        with self._change_lock:
            old = self._started_live()
            # Bound while the old port still is, so the new one is another port.
            new = HTTPListener(self.state, self.host, 0, main=False, name="live")
            with self._lock:
                self._live = new
            old.close()
            return new.url

    def reset(self) -> str:
        """Back to the first state, for tests sharing one emulator: the live connection on its
        first port (a fresh one when that is taken), the impostor's statistics, watch state and
        library and the dead port's counter back. Cheap when nothing moved. The live URL."""
        with self._change_lock:
            current = self._started_live()
            if current.port != self._first_live_port:
                try:
                    new = HTTPListener(
                        self.state, self.host, self._first_live_port, main=False, name="live"
                    )
                except OSError:  # someone else took it meanwhile
                    new = HTTPListener(self.state, self.host, 0, main=False, name="live")
                with self._lock:
                    self._live = new
                current.close()
                current = new
            self.reset_stats()
            self.impostor_state.reset_watch()
            self.impostor_state.reset_library()
            return current.url

    def _started_live(self) -> HTTPListener:
        with self._lock:
            if self._live is None:
                raise RuntimeError("the emulator is not started")
            return self._live

    # -- what plex.tv lists, and what tests read -----------------------------------------------

    def listed(self) -> list[dict[str, Any]]:
        """The server's `connections` as plex.tv lists them; [] when not started."""
        with self._lock:
            if self._dead is None or self._impostor is None or self._live is None:
                return []
            return [
                connection(self._dead.host, self._dead.port, local=True),
                connection(self._impostor.host, self._impostor.port, local=True),
                connection(self._live.host, self._live.port, local=False),
            ]

    @property
    def live_url(self) -> str:
        return self._started_live().url

    @property
    def dead_url(self) -> str:
        with self._lock:
            if self._dead is None:
                raise RuntimeError("the emulator is not started")
            return self._dead.url

    @property
    def impostor_url(self) -> str:
        with self._lock:
            if self._impostor is None:
                raise RuntimeError("the emulator is not started")
            return self._impostor.url

    def dead_stats(self) -> dict[str, int]:
        """Connections the dead port accepted (since the last reset) and holds open now."""
        with self._lock:
            dead = self._dead
        return dead.stats() if dead is not None else {"accepted": 0, "open": 0}

    def impostor_stats(self) -> dict[str, Any]:
        """The impostor's counters, as EmulatorState.stats(), and `with_token`: how many of
        its requests carried a token (any is one handed to another server)."""
        return {
            **self.impostor_state.stats(),
            "with_token": self.impostor_state.token_requests(),
        }

    def reset_stats(self) -> None:
        """The impostor's and the dead port's counters back to zero."""
        self.impostor_state.reset_stats()
        with self._lock:
            dead = self._dead
        if dead is not None:
            dead.reset_stats()

    def describe(self) -> dict[str, Any]:
        """What GET /__emulator__/connections answers (uris None when not started)."""
        with self._lock:
            dead, impostor, live = self._dead, self._impostor, self._live
        return {
            "connections": self.listed(),
            "live": live.url if live is not None else None,
            "dead": {
                "uri": dead.url if dead is not None else None,
                **(dead.stats() if dead is not None else {"accepted": 0, "open": 0}),
            },
            "impostor": {
                "uri": impostor.url if impostor is not None else None,
                "machineIdentifier": self.impostor_state.library.machine_identifier,
                "friendlyName": self.impostor_state.friendly_name,
                "stats": self.impostor_stats(),
            },
        }
