"""The kiosk's HTTP session on the standard library, against real servers and a real
proxy on 127.0.0.1: kept-alive connections, a reconnect only before anything was
sent, timeouts, proxies from the environment, and no `requests` in the kiosk."""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_peers import Answer, ForwardingProxy, Hit, KeepAliveServer, self_signed_certificate
from outbox_helpers import wait_until

from hailong.sync import client
from hailong.sync.http_session import HttpSession
from hailong.sync.wire import Counter, KioskConfig

CONFIG = KioskConfig(
    kiosk_id=5, counter=Counter(id=3, name="Quầy 1", unit_name="UBND"), officers=[]
)
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says which proxy variables are set; none leak in from the shell."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def config_answer(hit: Hit) -> Answer:
    if hit.headers.get("authorization") != "Bearer t":
        return 401, b'{"detail": "bad token"}', {}
    return 200, CONFIG.model_dump_json().encode(), {"Content-Type": "application/json"}


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    with KeepAliveServer(config_answer) as running:
        yield running


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_successive_requests_share_one_kept_alive_connection(server: KeepAliveServer) -> None:
    with HttpSession(environ={}) as session:
        for _ in range(3):
            assert client.fetch_config(server.url(), "t", timeout=2, session=session) == CONFIG
        answer = session.request(
            "POST", server.url() + "/echo", timeout=2, body=b"x" * 5000,
            headers={"Authorization": "Bearer t"},
        )
    assert answer.status == 200
    assert server.connections() == [1, 1, 1, 1]
    assert server.hits[-1].body == b"x" * 5000


def test_requests_at_once_each_get_a_connection_and_one_is_kept() -> None:
    together = threading.Barrier(2, timeout=5)  # both requests in flight at the same time

    def respond(hit: Hit) -> Answer:
        if hit.target == "/together":
            together.wait()
        return 200, hit.target.encode(), {}

    answers: list[bytes] = []
    with KeepAliveServer(respond) as server, HttpSession({}) as session:
        def call() -> None:
            answers.append(session.request("GET", server.url() + "/together", timeout=5).content)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert answers == [b"/together"] * 2
        wait_until(lambda: server.closed == 1)  # the spare connection was not kept
        assert session.request("GET", server.url() + "/after", timeout=2).content == b"/after"
    first, second, after = server.connections()
    assert {first, second} == {1, 2} and after in (1, 2)


def test_a_connection_the_server_closed_while_idle_is_replaced_before_sending() -> None:
    with KeepAliveServer(config_answer, idle_timeout_s=0.2) as server, HttpSession({}) as session:
        client.fetch_config(server.url(), "t", timeout=2, session=session)
        wait_until(lambda: server.closed == 1)  # the server's keep-alive timeout struck
        assert client.fetch_config(server.url(), "t", timeout=2, session=session) == CONFIG
    # Each request reached the server once, the second on a new connection.
    assert server.connections() == [1, 2]


def test_a_request_that_failed_after_it_was_sent_is_not_sent_again() -> None:
    answers = iter([None, (200, b"{}", {})])  # the first upload: hang up without answering
    with KeepAliveServer(lambda _hit: next(answers)) as server, HttpSession({}) as session:
        with pytest.raises(ConnectionError):
            session.request("POST", server.url() + "/batch", timeout=2, body=b"ratings")
        assert len(server.hits) == 1
        again = session.request("POST", server.url() + "/batch", timeout=2, body=b"ratings")
        assert again.status == 200
    assert server.connections() == [1, 2]


def test_an_answer_that_never_comes_times_out_within_the_timeout() -> None:
    accepted: list[socket.socket] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)
        port = listener.getsockname()[1]
        threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
        started = time.monotonic()
        with pytest.raises(client.SyncHTTPError, match="no answer") as failure:
            client.fetch_config(f"http://127.0.0.1:{port}", "t", timeout=0.3)
        waited = time.monotonic() - started
        for conn in accepted:
            conn.close()
    assert accepted, "the server accepted the connection"
    assert failure.value.status is None
    assert 0.3 <= waited < 1.3


def test_a_timed_out_connection_is_never_reused_for_the_next_request() -> None:
    def respond(hit: Hit) -> Answer:
        if hit.target == "/slow":
            server.release.wait(5)
            return 200, b"late answer", {}
        return 200, b"fresh answer", {}

    with KeepAliveServer(respond) as server, HttpSession({}) as session:
        assert session.request("GET", server.url() + "/fast", timeout=2).content == b"fresh answer"
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            session.request("GET", server.url() + "/slow", timeout=0.2)
        assert time.monotonic() - started < 1.3
        server.release.set()  # the late answer goes out on the abandoned connection
        assert session.request("GET", server.url() + "/fast", timeout=2).content == b"fresh answer"
    assert server.connections() == [1, 1, 2]


def test_http_goes_through_the_proxy_the_environment_names(
    server: KeepAliveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ForwardingProxy() as proxy:
        # The lower-case variable wins, as in requests: the upper-case one is a dead end.
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("http_proxy", f"http://kiosk:s%40cret@{proxy.address}")
        assert client.fetch_config(server.url(), "t", timeout=2) == CONFIG
    assert proxy.request_lines() == [f"GET {server.url()}{client.CONFIG_PATH} HTTP/1.1"]
    # Basic base64("kiosk:s@cret"): the proxy's credentials go to the proxy only.
    assert proxy.hits[0].headers["proxy-authorization"] == "Basic a2lvc2s6c0BjcmV0"
    (hit,) = server.hits
    assert hit.target == client.CONFIG_PATH and "proxy-authorization" not in hit.headers


@pytest.mark.parametrize(
    "no_proxy", ["127.0.0.1", "example.org, 127.0.0.0/8", "*", "localhost,127.0.0.1:{port}"]
)
def test_no_proxy_goes_direct(
    server: KeepAliveServer, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    with ForwardingProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
        monkeypatch.setenv("NO_PROXY", no_proxy.format(port=server.port))
        assert client.fetch_config(server.url(), "t", timeout=2) == CONFIG
        monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{server.port + 1}")
        assert client.fetch_config(server.url(), "t", timeout=2) == CONFIG
    assert len(server.hits) == 2
    assert len(proxy.hits) == 1, "only the other port's exception let the request through"


def test_https_goes_through_a_connect_tunnel_and_keeps_it(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    with KeepAliveServer(config_answer, tls=serving) as server, ForwardingProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://kiosk:pw@{proxy.address}")
        with HttpSession(ssl_context=trusting) as session:
            for _ in range(2):
                fetched = client.fetch_config(server.url("https"), "t", timeout=2, session=session)
                assert fetched == CONFIG
    authority = f"127.0.0.1:{server.port}"
    assert proxy.request_lines() == [f"CONNECT {authority} HTTP/1.0"]
    assert proxy.hits[0].headers["host"] == authority
    assert proxy.hits[0].headers["proxy-authorization"] == "Basic a2lvc2s6cHc="
    assert server.connections() == [1, 1]


def test_a_proxy_refusing_the_tunnel_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardingProxy(tunnel=False) as proxy:
        monkeypatch.setenv("https_proxy", proxy.address)  # no scheme: http:// is assumed
        with pytest.raises(client.SyncHTTPError, match="Tunnel connection failed: 403") as failure:
            client.fetch_config("https://127.0.0.1:8443", "t", timeout=2)
    assert failure.value.status is None
    assert proxy.request_lines() == ["CONNECT 127.0.0.1:8443 HTTP/1.0"]


def test_https_is_checked_against_the_system_ca_store(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(cert, key)
    with (
        KeepAliveServer(config_answer, tls=serving) as server,
        pytest.raises(client.SyncHTTPError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.fetch_config(server.url("https"), "t", timeout=2)
    assert server.hits == []


def test_a_proxy_setting_that_cannot_be_used_fails_only_what_needs_it(
    server: KeepAliveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    assert client.fetch_config(server.url(), "t", timeout=2) == CONFIG
    with pytest.raises(client.SyncHTTPError, match="only http:// proxies are supported"):
        client.fetch_config("https://127.0.0.1:8443", "t", timeout=2)


def test_a_url_that_is_not_http_is_a_typed_error() -> None:
    with pytest.raises(client.SyncHTTPError, match="cannot reach ftp://"):
        client.fetch_photo("ftp://127.0.0.1/photo.png", "t", timeout=2)
    with HttpSession({}) as session, pytest.raises(http.client.InvalidURL):
        session.request("GET", "http://127.0.0.1:port/", timeout=2)


def test_paths_are_percent_encoded(server: KeepAliveServer) -> None:
    with HttpSession({}) as session:
        session.request("GET", server.url() + "/photos/ảnh 7.png?v=1", timeout=2)
    assert server.hits[0].target == "/photos/%E1%BA%A3nh%207.png?v=1"


def test_the_kiosk_imports_neither_requests_nor_urllib3() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys, hailong.sync.client, hailong.sync.uploader\n"
         "print(sorted(m for m in ('requests', 'urllib3', 'urllib.request') if m in sys.modules))"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert loaded.stdout.strip() == "[]"
