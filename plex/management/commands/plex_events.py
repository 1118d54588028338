from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand

from plex.events import Listener


class Command(BaseCommand):
    help = (
        "Listen to the Plex server's notifications (with the owner's token) and keep "
        "MediaNest's cache true with them, so cached pages can stay warm. One listener in the "
        "deployment holds the stream; run more and they stand by. Stops on SIGTERM or Ctrl-C."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("plex.events").setLevel(logging.INFO)
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        listener = Listener()
        self.stdout.write(f"Plex event listener {listener.holder} started.")
        listener.run(stop)
        self.stdout.write("Plex event listener stopped.")
