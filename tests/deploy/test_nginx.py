"""deploy/server/nginx-hailong.conf: `nginx -t` accepts it, and a real nginx with it in front
of the real server (both on 127.0.0.1) terminates TLS, adds the security headers and
enforces the body-size and rate limits.

The test changes only addresses in a copy of the site: listening ports (free ones instead of
80 and 443), the upstream port (the test server's) and the certificate paths (a
self-signed certificate made here with openssl)."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from deploy_support import REPO, server_test_helpers

from hailong.config.settings import ServerSettings
from hailong.sync.server.db import migrate

server_test_helpers()
from pg_cluster import free_port  # noqa: E402
from server_harness import serve  # noqa: E402

SITE = REPO / "deploy" / "server" / "nginx-hailong.conf"
TIMEOUT_S = 10.0


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def nginx_conf(folder: Path, site_text: str) -> Path:
    """A main nginx.conf that includes the site, with pid, logs and temp files in `folder`."""
    site = folder / "site.conf"
    site.write_text(site_text)
    conf = folder / "nginx.conf"
    conf.write_text(f"""
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{}}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {site};
}}
""")
    return conf


def test_site_passes_nginx_t(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    text = SITE.read_text().replace("/etc/ssl/hailong/fullchain.pem", str(cert))
    text = text.replace("/etc/ssl/hailong/privkey.pem", str(key))
    conf = nginx_conf(tmp_path, text)
    done = subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_body_limit_matches_the_server_setting() -> None:
    found = re.search(r"^\s*client_max_body_size (\d+);", SITE.read_text(), re.MULTILINE)
    assert found is not None
    assert int(found.group(1)) == ServerSettings().max_body_bytes


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """(https base URL, http base URL, CA file) of nginx in front of the real server."""
    folder = tmp_path_factory.mktemp("nginx")
    url = f"sqlite:///{folder / 'server.db'}"
    migrate(url)
    settings = ServerSettings(database_url=url, data_dir=folder)
    with serve(settings) as running:
        upstream = running.base_url.removeprefix("http://")
        cert, key = make_certificate(folder)
        https_port, http_port = free_port(), free_port()
        text = SITE.read_text()
        text = text.replace("/etc/ssl/hailong/fullchain.pem", str(cert))
        text = text.replace("/etc/ssl/hailong/privkey.pem", str(key))
        text = text.replace("server 127.0.0.1:8080;", f"server {upstream};")
        text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
        text = text.replace("listen 443 ", f"listen 127.0.0.1:{https_port} ")
        text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        conf = nginx_conf(folder, text)
        process = subprocess.Popen(
            ["nginx", "-c", str(conf), "-e", str(folder / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                try:
                    socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                    break
                except OSError:
                    assert process.poll() is None, process.stderr.read() if process.stderr else ""
                    assert time.monotonic() < deadline, "nginx did not start listening"
                    time.sleep(0.05)
            yield f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", cert
        finally:
            process.terminate()
            process.wait(TIMEOUT_S)


def test_https_reaches_the_server_with_security_headers(
    proxied: tuple[str, str, Path],
) -> None:
    base, _plain, ca = proxied
    answer = requests.get(f"{base}/healthz", verify=str(ca), timeout=TIMEOUT_S)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Server"] == "nginx"  # no version


def test_plain_http_is_sent_to_https(proxied: tuple[str, str, Path]) -> None:
    _base, plain, _ca = proxied
    answer = requests.get(f"{plain}/login", allow_redirects=False, timeout=TIMEOUT_S)
    assert answer.status_code == 301
    assert answer.headers["Location"].startswith("https://")


def test_a_body_over_the_limit_is_refused_by_nginx(proxied: tuple[str, str, Path]) -> None:
    base, _plain, ca = proxied
    limit = ServerSettings().max_body_bytes
    path = f"{base}/api/v1/ratings/batches"
    headers = {"Content-Type": "application/json"}
    over = requests.post(path, data=b"x" * (limit + 1), headers=headers, verify=str(ca),
                         timeout=TIMEOUT_S)
    assert over.status_code == 413
    assert "nginx" in over.text  # nginx's own page: the app never saw it
    under = requests.post(path, data=b"x" * (limit - 1000), headers=headers, verify=str(ca),
                          timeout=TIMEOUT_S)
    assert under.status_code == 401  # the app's answer: no kiosk token


def test_login_attempts_are_rate_limited(proxied: tuple[str, str, Path]) -> None:
    base, _plain, ca = proxied
    with requests.Session() as session:
        codes = [session.get(f"{base}/login", verify=str(ca), timeout=TIMEOUT_S).status_code
                 for _ in range(10)]
    assert codes[0] == 200
    assert 429 in codes


def get_from(base: str, ca: Path, path: str, source: str) -> tuple[int, str]:
    """GET through nginx from the local address `source` (any of 127.0.0.0/8 reaches
    the loopback listener, and nginx sees it as the client's address)."""
    host, port = base.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(ca))
    connection = http.client.HTTPSConnection(host, int(port), timeout=TIMEOUT_S,
                                             context=context, source_address=(source, 0))
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_metrics_are_served_only_to_this_machine(proxied: tuple[str, str, Path]) -> None:
    base, _plain, ca = proxied
    status, text = get_from(base, ca, "/metrics", "127.0.0.1")
    assert status == 200
    assert "# TYPE hailong_http_requests_total counter" in text
    status, text = get_from(base, ca, "/metrics", "127.0.0.2")
    assert status == 403
    assert "hailong_" not in text
    # The same client is not refused elsewhere.
    assert get_from(base, ca, "/healthz", "127.0.0.2")[0] == 200
