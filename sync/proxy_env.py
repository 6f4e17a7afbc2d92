"""Which HTTP proxy a request goes through, from the environment as `requests` read it.

`HTTP_PROXY` / `HTTPS_PROXY` name the proxy for http:// and https:// URLs, `NO_PROXY`
the hosts reached directly; the lower-case spelling wins over the upper-case one, as
in `requests` (and curl). Pure: the caller passes the environment in. Parsed by hand
because `urllib.request.getproxies` would pull `urllib.request` (and its imports)
into the kiosk process for three variables.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_DEFAULT_PROXY_PORT = 80


class ProxyConfigError(OSError):
    """The environment names a proxy this client cannot use: no request can be made
    the way the kiosk's operator asked, so it fails like an unreachable server."""


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    # The value of a Proxy-Authorization header when the proxy URL carries user:password.
    authorization: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Proxy-Authorization": self.authorization} if self.authorization else {}


def parse_proxy(value: str) -> Proxy:
    """`http://user:pass@host:port`, or `host:port` (http is assumed, as `requests` does)."""
    parts = urlsplit(value if "://" in value else f"http://{value}")
    if parts.scheme.lower() != "http":
        raise ProxyConfigError(
            f"proxy {value!r}: only http:// proxies are supported, not {parts.scheme}://"
        )
    try:
        port = parts.port or _DEFAULT_PROXY_PORT
    except ValueError:
        raise ProxyConfigError(f"proxy {value!r}: the port is not a number") from None
    if not parts.hostname:
        raise ProxyConfigError(f"proxy {value!r}: no host")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname, port, authorization)


def _variable(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def _split_port(entry: str) -> tuple[str, int | None]:
    """("host", port) from "host:port", "[v6]:port", "host", "v6" or "[v6]"."""
    if entry.startswith("["):
        host, _bracket, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _colon, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def _bypassed_by(entry: str, host: str, port: int) -> bool:
    """Whether one NO_PROXY entry covers `host` (lower case, no brackets) on `port`.
    Entries: "*", a host name and its subdomains (".example.org" and "example.org"
    alike), an IP address or a CIDR network; any of them with ":port"."""
    if entry == "*":
        return True
    name, only_port = _split_port(entry)
    if only_port is not None and only_port != port:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        name = name.lstrip("*").lstrip(".")
        return bool(name) and (host == name or host.endswith("." + name))
    try:
        return address in ipaddress.ip_network(name, strict=False)
    except ValueError:
        return False  # a host name does not cover an address


@dataclass(frozen=True)
class ProxySettings:
    """The environment's proxies; a proxy variable that cannot be used is kept as its
    error and raised for the requests that would need it, so a bad HTTPS_PROXY does
    not stop the kiosk from starting."""

    http: Proxy | ProxyConfigError | None = None
    https: Proxy | ProxyConfigError | None = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ProxySettings:
        def proxy(name: str) -> Proxy | ProxyConfigError | None:
            value = _variable(environ, name)
            if not value:
                return None
            try:
                return parse_proxy(value)
            except ProxyConfigError as exc:
                return exc

        entries = _variable(environ, "no_proxy").lower().split(",")
        return cls(
            http=proxy("http_proxy"),
            https=proxy("https_proxy"),
            no_proxy=tuple(entry.strip() for entry in entries if entry.strip()),
        )

    def for_url(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy for a request to scheme://host:port, None to go direct."""
        chosen = self.https if scheme == "https" else self.http
        if chosen is None:
            return None
        host = host.lower().strip("[]")
        if any(_bypassed_by(entry, host, port) for entry in self.no_proxy):
            return None
        if isinstance(chosen, ProxyConfigError):
            raise ProxyConfigError(str(chosen))
        return chosen
