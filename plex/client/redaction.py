"""Keep Plex tokens out of every log record, whoever logs it (requests and urllib3 included).

Two layers: tokens the process knows about (every `PlexClient` registers its token) are replaced
wherever they appear, and anything shaped like a token parameter (`X-Plex-Token=...` in a URL,
`'X-Plex-Token': '...'` in a header dump) is replaced even when the token was never registered.
`install()` wraps the log record factory, so records are clean before any handler, filter or
test capture sees them; `RedactTokensFilter` does the same for handlers configured by settings.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import quote

PLACEHOLDER = "<hidden>"

# X-Plex-Token=abc, X-Plex-Token: abc, 'X-Plex-Token': 'abc', "authToken": "abc", accessToken="abc",
# and percent-encoded inside another URL's query: url=%2Fphoto%3FX-Plex-Token%3Dabc%26width%3D1
_PARAM = re.compile(
    r"""(?ix)
    (x-plex-token|authtoken|accesstoken)     # the name, as Plex spells it in URLs, headers, JSON
    (['"]?\s*(?:[:=]|%3[ad])\s*['"]?)        # separator (or its %-encoding), optional quotes
    ((?:[^\s'"&,;}<>%]|%(?!26)[0-9a-f]{2})+) # the value, to a (possibly encoded) "&"
    """
)

MAX_SECRETS = 10_000  # the newest are kept: an old token that comes back is registered again

_lock = threading.Lock()
_secrets: dict[str, None] = {}  # insertion-ordered: the oldest go first past MAX_SECRETS
_installed = False


def register_secret(secret: str) -> None:
    """Remember a token so that it is redacted wherever it shows up, even outside a parameter."""
    global _secrets
    # Very short values would redact ordinary words; real tokens are 20 characters.
    if secret and len(secret) >= 8 and secret not in _secrets:
        with _lock:
            # Copy-on-write: readers iterate without a lock. Its percent-encoded spelling too,
            # as it appears inside another URL's query.
            kept = list(_secrets)[-(MAX_SECRETS - 2) :]
            _secrets = dict.fromkeys([*kept, secret, quote(secret, safe="")])
    install()


def forget_secrets() -> None:
    """Forget every registered token (tests). Token-shaped parameters are still redacted."""
    global _secrets
    with _lock:
        _secrets = {}


def redact(text: str) -> str:
    if not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, PLACEHOLDER)
    if "oken" in text or "OKEN" in text:
        text = _PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}{PLACEHOLDER}", text)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Rewrite a record in place so that no part of it carries a token."""
    if getattr(record, "_plex_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - any str() of any argument may fail; logging reports it
        message = None
    if message is not None:
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        # Render the traceback now, redacted; formatters reuse exc_text instead of re-rendering.
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._plex_redacted = True
    return record


class RedactTokensFilter(logging.Filter):
    """For handlers in LOGGING: redacts records that were made before `install()` ran."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Wrap the log record factory once per process so that every record is redacted at birth."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
