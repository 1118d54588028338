"""`manage.py demo` (what `make run` runs): MediaNest on the bundled Plex emulator.

A development command: the emulator (plex_emulator/) is not part of the product and is not in
the Docker image, so it is imported when the command runs, with a message if it is missing.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


class Command(BaseCommand):
    help = (
        "Run MediaNest on the bundled Plex emulator: start the emulator, point MediaNest at it, "
        "create the demo accounts and serve the app (make run)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--emulator-port", type=int, default=32400)
        parser.add_argument("--movies", type=int, default=120)
        parser.add_argument("--shows", type=int, default=12)

    def handle(
        self, *args: Any, port: int, emulator_port: int, movies: int, shows: int, **options: Any
    ) -> None:
        try:
            from plex_emulator import Emulator
        except ImportError:
            raise CommandError(
                "The demo runs on the Plex emulator (plex_emulator/), which this installation "
                "does not have: run it from a clone of the repository (make run)."
            ) from None
        host = "127.0.0.1"
        if not _port_is_free(host, emulator_port):
            emulator_port = 0  # a real Plex may be on 32400; take any free port instead
        # Fresh tokens each run: the demo never depends on a secret written in the code.
        emulator = Emulator(
            owner_token=secrets.token_urlsafe(20),
            friend_token=secrets.token_urlsafe(20),
            stranger_token=secrets.token_urlsafe(20),
            movies=movies,
            shows=shows,
            host=host,
            port=emulator_port,
        ).start()

        # The admin's password is set once; a later run keeps whatever it was changed to.
        password = None if User.objects.filter(username="admin").exists() else "admin"
        call_command(
            "plex_user",
            "admin",
            plex_token=emulator.owner_token,
            staff=True,
            password=password,
            stdout=StringIO(),
        )
        # The owner's token lets the event listener read what the server tells its owner.
        call_command("plex_configure", url=emulator.url, owner_token=emulator.owner_token)

        self.stdout.write(
            self.style.SUCCESS(
                f"\nMediaNest: http://{host}:{port}/\n"
                "  Sign in with Plex, then pick an account on the emulator's Plex page.\n"
                "  Admin site: /admin/ (user admin, password admin).\n"
            )
        )
        # The emulator plays plex.tv as well: "Sign in with Plex" goes through its sign-in page
        # (owner, friend, and a stranger without access). The server runs in a process of its
        # own, told so by the environment as any deployment is; nothing rewrites settings.
        env = {**os.environ, "PLEX_TV_URL": emulator.url, "PLEX_AUTH_URL": f"{emulator.url}/auth"}
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(emulator.stop)
            if not settings.REDIS_URL:
                # Live updates reach the app through a cache both processes share: a private
                # Redis for the demo when this machine has redis-server, as compose has its own.
                env["REDIS_URL"] = self._private_redis(cleanup)
            # The live-updates listener, as compose's `events` service runs it beside the app.
            events = subprocess.Popen([*manage, "plex_events"], env=env)  # noqa: S603 - our own
            cleanup.callback(_stop, events)
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the demo
                subprocess.call([*manage, "runserver", "--noreload", f"{host}:{port}"], env=env)  # noqa: S603

    def _private_redis(self, cleanup: contextlib.ExitStack) -> str:
        """A redis-server of the demo's own (nothing on disk), or "" (the local-memory cache:
        pages keep their usual cache times) when there is none."""
        try:
            from harness.stack import RedisServer

            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="medianest-")))
            redis_server = RedisServer(workdir)
        except (ImportError, OSError, RuntimeError):
            self.stdout.write(
                "  No redis-server here: the listener runs, but without a cache shared with the "
                "app, pages keep their usual cache times. Set REDIS_URL to make it live.\n"
            )
            return ""
        cleanup.callback(redis_server.stop)
        self.stdout.write(f"  Live updates through a private Redis at {redis_server.url}.\n")
        return redis_server.url


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a child as Ctrl-C would (it may say goodbye to Plex), then for good."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
