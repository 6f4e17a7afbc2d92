"""Reading the proxy variables as `requests` did: which request goes through which proxy."""

from __future__ import annotations

import pytest

from hailong.sync.proxy_env import Proxy, ProxyConfigError, ProxySettings, parse_proxy


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://proxy.lan:3128", Proxy("proxy.lan", 3128)),
        ("proxy.lan:8080", Proxy("proxy.lan", 8080)),
        ("http://proxy.lan", Proxy("proxy.lan", 80)),
        ("HTTP://Proxy.LAN:3128/", Proxy("proxy.lan", 3128)),
        ("http://a%20b:p%3Aw@proxy.lan:3128", Proxy("proxy.lan", 3128, "Basic YSBiOnA6dw==")),
        ("http://[fd00::1]:3128", Proxy("fd00::1", 3128)),
    ],
)
def test_proxy_urls(value: str, expected: Proxy) -> None:
    assert parse_proxy(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("socks5://proxy.lan:1080", "only http:// proxies"),
        ("https://proxy.lan:443", "only http:// proxies"),
        ("http://proxy.lan:port", "not a number"),
        ("http://:3128", "no host"),
    ],
)
def test_unusable_proxy_urls(value: str, message: str) -> None:
    with pytest.raises(ProxyConfigError, match=message):
        parse_proxy(value)


def test_lower_case_wins_and_each_scheme_has_its_own() -> None:
    settings = ProxySettings.from_environ(
        {"HTTP_PROXY": "upper:1", "http_proxy": "lower:2", "HTTPS_PROXY": "tls:3"}
    )
    assert settings.for_url("http", "server.lan", 80) == Proxy("lower", 2)
    assert settings.for_url("https", "server.lan", 443) == Proxy("tls", 3)
    assert ProxySettings.from_environ({"HTTPS_PROXY": "tls:3"}).for_url("http", "a", 80) is None
    assert ProxySettings.from_environ({}).for_url("https", "a", 443) is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypassed"),
    [
        ("*", "server.lan", 443, True),
        ("server.lan", "server.lan", 443, True),
        ("server.lan", "api.server.lan", 443, True),
        (".server.lan", "api.server.lan", 443, True),
        ("server.lan", "myserver.lan", 443, False),
        ("other.lan, SERVER.lan", "server.lan", 443, True),
        ("server.lan:8443", "server.lan", 443, False),
        ("server.lan:443", "server.lan", 443, True),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "192.168.1.1", 443, False),
        ("192.168.1.1", "192.168.1.1", 443, True),
        ("server.lan", "192.168.1.1", 443, False),
        ("::1", "[::1]", 443, True),
        ("[::1]:443", "::1", 443, True),
        ("", "server.lan", 443, False),
    ],
)
def test_no_proxy(no_proxy: str, host: str, port: int, bypassed: bool) -> None:
    settings = ProxySettings.from_environ({"https_proxy": "proxy:3128", "NO_PROXY": no_proxy})
    assert (settings.for_url("https", host, port) is None) is bypassed


def test_an_unusable_proxy_fails_only_the_requests_that_need_it() -> None:
    settings = ProxySettings.from_environ(
        {"HTTPS_PROXY": "socks5://proxy:1080", "no_proxy": "local.lan"}
    )
    assert settings.for_url("http", "server.lan", 80) is None
    assert settings.for_url("https", "local.lan", 443) is None
    with pytest.raises(ProxyConfigError, match="socks5"):
        settings.for_url("https", "server.lan", 443)
