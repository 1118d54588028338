"""Plex tokens never reach log output, whoever logs them (the client, urllib3, requests)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import requests
import responses

from plex.client import PlexClient, PlexUnavailable, redaction
from plex.client.redaction import PLACEHOLDER, RedactTokensFilter, redact, register_secret

BASE = "http://plex.test:32400"
REGISTERED = "registered-token-abcdefgh1234"
UNREGISTERED_URL_TOKEN = "abcdefgh12345"
UNREGISTERED_HEADER_TOKEN = "secret-token-123456"
LOGGERS = ("plex.client", "urllib3", "requests")


pytestmark = pytest.mark.usefixtures("no_backoff")  # retries without their pauses


@pytest.fixture
def stream(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """caplog at DEBUG for the three loggers, plus a real StreamHandler on each of them.

    A client's token is registered first, as it is in the app once any client exists."""
    register_secret(REGISTERED)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
        logging.getLogger(name).addHandler(handler)
    try:
        yield buffer
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(handler)


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
    assert PLACEHOLDER in text


@pytest.fixture
def client() -> PlexClient:
    return PlexClient(BASE, REGISTERED, token_in_query=True)


def test_requests_urls_and_headers_and_exceptions_are_all_redacted(caplog, stream, client) -> None:
    log = logging.getLogger("plex.client")
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/library/sections", json={"MediaContainer": {"size": 0}})
        rsps.get(f"{BASE}/", body=requests.ConnectionError(f"refused: /?X-Plex-Token={REGISTERED}"))
        client.libraries()
        with pytest.raises(PlexUnavailable):
            client.server_info()
    log.info("url %s", f"http://x/?X-Plex-Token={UNREGISTERED_URL_TOKEN}")
    log.debug(
        "headers %r", {"Accept": "application/json", "X-Plex-Token": UNREGISTERED_HEADER_TOKEN}
    )
    try:
        raise RuntimeError(f"Plex refused token {REGISTERED}")
    except RuntimeError:
        log.exception("request failed")
    secrets = (REGISTERED, UNREGISTERED_URL_TOKEN, UNREGISTERED_HEADER_TOKEN)
    assert "GET /library/sections -> 200" in caplog.text
    assert_clean(caplog.text, *secrets)
    assert_clean(stream.getvalue(), *secrets)


def test_unregistered_token_in_a_url_is_hidden(caplog, stream) -> None:
    logging.getLogger("plex.client").info(
        "url %s", f"http://x/?X-Plex-Token={UNREGISTERED_URL_TOKEN}"
    )
    assert_clean(caplog.text, UNREGISTERED_URL_TOKEN)
    assert_clean(stream.getvalue(), UNREGISTERED_URL_TOKEN)
    assert "http://x/?X-Plex-Token=<hidden>" in stream.getvalue()


def test_unregistered_token_in_a_header_dict_repr_is_hidden(caplog, stream) -> None:
    headers = {"Accept": "application/json", "X-Plex-Token": UNREGISTERED_HEADER_TOKEN}
    logging.getLogger("requests").debug("sending headers %r", headers)
    assert_clean(caplog.text, UNREGISTERED_HEADER_TOKEN)
    assert_clean(stream.getvalue(), UNREGISTERED_HEADER_TOKEN)
    assert "'Accept': 'application/json'" in stream.getvalue()


def test_urllib3_style_request_line_with_token_in_query_is_hidden(caplog, stream) -> None:
    # What urllib3's connectionpool logs at DEBUG for a token_in_query client.
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s',
        "http",
        "plex.test",
        32400,
        "GET",
        f"/library/sections?X-Plex-Token={UNREGISTERED_URL_TOKEN}&type=1",
        "HTTP/1.1",
        200,
        512,
    )
    assert_clean(caplog.text, UNREGISTERED_URL_TOKEN)
    assert_clean(stream.getvalue(), UNREGISTERED_URL_TOKEN)
    assert "&type=1" in stream.getvalue()


def test_exception_traceback_with_registered_token_is_hidden(caplog, stream) -> None:
    register_secret(REGISTERED)
    try:
        raise ValueError(f"bad token {REGISTERED} in request")
    except ValueError:
        logging.getLogger("plex.client").exception("it broke")
    assert "Traceback" in caplog.text
    assert "ValueError: bad token <hidden> in request" in caplog.text
    assert_clean(caplog.text, REGISTERED)
    assert_clean(stream.getvalue(), REGISTERED)


def test_registered_token_anywhere_in_a_message_is_hidden(caplog, stream) -> None:
    register_secret(REGISTERED)
    logging.getLogger("plex.client").warning("the value is %s.", REGISTERED)
    assert_clean(caplog.text, REGISTERED)
    assert "the value is <hidden>." in stream.getvalue()


def test_json_auth_token_fields_are_hidden() -> None:
    text = '{"authToken": "abcdef123456", "accessToken":"zyxwvu98765"}'
    clean = redact(text)
    assert "abcdef123456" not in clean
    assert "zyxwvu98765" not in clean
    assert clean.count(PLACEHOLDER) == 2


def test_redact_leaves_text_without_a_token_unchanged() -> None:
    register_secret(REGISTERED)
    for text in ["GET /library/sections -> 200 in 3 ms", "the token expired; sign in", ""]:
        assert redact(text) == text


def test_short_secrets_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc is a word") == "abc is a word"


def test_filter_redacts_records_made_outside_the_factory() -> None:
    # A record built directly (as before install()) still gets cleaned by the settings filter.
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "token %s",
        (f"X-Plex-Token={UNREGISTERED_URL_TOKEN}",),
        None,
    )
    assert RedactTokensFilter().filter(record) is True
    assert record.getMessage() == "token X-Plex-Token=<hidden>"


def test_creating_a_client_installs_the_record_factory(monkeypatch) -> None:
    previous = logging.getLogRecordFactory()
    monkeypatch.setattr(redaction, "_installed", False)
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        PlexClient(BASE, REGISTERED)
        record = logging.getLogRecordFactory()(
            "x", logging.INFO, __file__, 1, "t=%s", (REGISTERED,), None
        )
    finally:
        logging.setLogRecordFactory(previous)
    assert record.getMessage() == f"t={PLACEHOLDER}"


def test_a_token_percent_encoded_inside_another_url_is_hidden(caplog, stream) -> None:
    inner = "%2Flibrary%2Fmetadata%2F1%2Fthumb%3FX-Plex-Token%3Dunregistered9876%26width%3D1"
    logging.getLogger("plex.client").warning("GET /photo/:/transcode?url=%s&width=300", inner)

    assert "unregistered9876" not in stream.getvalue()
    assert "X-Plex-Token%3D<hidden>%26width" in stream.getvalue()


def test_a_registered_token_percent_encoded_is_hidden() -> None:
    redaction.register_secret("tok/en+with=odd?chars")

    assert redaction.redact("url=tok%2Fen%2Bwith%3Dodd%3Fchars") == "url=<hidden>"
