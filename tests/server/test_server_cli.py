"""`hailong server` and `hailong admin` as a technician types them."""

from __future__ import annotations

import io
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from server_harness import Http

from hailong.cli import main
from hailong.kiosk.staff.pins import pin_matches
from hailong.sync.server.seed import DEMO_OFFICERS, demo_photo
from hailong.sync.wire import API_PREFIX, EnrollResponse

STARTUP_S = 30.0
# The server speaks its configured language, Vietnamese by default.
DEMO_LOGIN = r"(?:username|tên đăng nhập): (\S+)\s+(?:password|mật khẩu): (\S+)"
DEMO_OFFICER_PIN = r"PIN (\d{6})$"


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    lines: queue.Queue[str | None]
    seen: list[str] = field(default_factory=list)

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r}; output was:\n{''.join(self.seen)}")


@contextmanager
def hailong_server(*args: str) -> Iterator[ServerProcess]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hailong", "server", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield ServerProcess(process, lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def admin(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["admin", "--data-dir", str(data_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_demo_server_prints_a_working_login_and_enrolls_a_kiosk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "server"
    with hailong_server("--demo", "--data-dir", str(data_dir), "--port", "0") as server:
        login = server.wait_for(DEMO_LOGIN)
        officer_pin = server.wait_for(DEMO_OFFICER_PIN).group(1)
        url = server.wait_for(r"^listening on (http://127\.0\.0\.1:\d+)$").group(1)
        assert oct((data_dir / "secret_key").stat().st_mode & 0o777) == "0o600"

        http = Http(url)
        assert http.login(login.group(1), login.group(2)).status_code == 303
        page = http.get("/").text
        for officer in DEMO_OFFICERS:
            assert officer.name in page

        code, out, err = admin(capsys, data_dir, "enroll-code", "--counter", "1")
        assert code == 0, err
        one_time = out.splitlines()[-1]
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", one_time)
        answer = Http(url).post(f"{API_PREFIX}/enroll",
                                json={"code": one_time, "app_version": "demo"})
        assert answer.status_code == 200, answer.text
        config = EnrollResponse.model_validate(answer.json()).config
        assert config.counter.name == "Quầy 1"
        assert config.counter.unit_name.startswith("Bộ phận Một cửa")
        assert len(config.officers) == 4
        token = {"Authorization": f"Bearer {answer.json()['token']}"}
        first = config.officers[0]
        assert first.photo_url is not None
        expected = next(o for o in DEMO_OFFICERS if o.name == first.name)
        assert Http(url).get(first.photo_url, headers=token).content == demo_photo(expected.photo)
        # Every demo officer can sign in at the kiosk with the printed PIN.
        assert all(pin_matches(officer.pin_hash, officer_pin) for officer in config.officers)

        server.process.send_signal(signal.SIGINT)  # Ctrl-C
        server.wait_for(r"Application shutdown complete")
        assert server.process.wait(15) == 130

    # seeding again adds nothing twice and prints a new working password and PIN
    with hailong_server("--demo", "--data-dir", str(data_dir), "--port", "0") as server:
        login = server.wait_for(DEMO_LOGIN)
        new_pin = server.wait_for(DEMO_OFFICER_PIN).group(1)
        url = server.wait_for(r"^listening on (http://127\.0\.0\.1:\d+)$").group(1)
        assert Http(url).login(login.group(1), login.group(2)).status_code == 303
        code, out, err = admin(capsys, data_dir, "enroll-code", "--counter", "2")
        assert code == 0, err
        answer = Http(url).post(f"{API_PREFIX}/enroll",
                                json={"code": out.splitlines()[-1], "app_version": "demo"})
        officers = EnrollResponse.model_validate(answer.json()).config.officers
        assert all(pin_matches(officer.pin_hash, new_pin) for officer in officers)
        assert new_pin == officer_pin or not pin_matches(officers[0].pin_hash, officer_pin)
    code, out, _err = admin(capsys, data_dir, "officer", "list")
    assert len(out.splitlines()) == 4
    code, out, _err = admin(capsys, data_dir, "counter", "list")
    assert [line.split("\t")[1] for line in out.splitlines()] == ["Quầy 1", "Quầy 2"]


def test_server_migrate_only(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hailong", "server", "migrate", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "server.db").exists()


def test_admin_builds_an_organisation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = admin(capsys, tmp_path, "unit", "add", "Sở Nông nghiệp và PTNT")
    assert code == 0, err
    unit = re.search(r"unit (\d+) added", out)
    assert unit
    code, out, err = admin(capsys, tmp_path, "unit", "add", "Chi cục Thủy lợi",
                           "--parent", unit.group(1))
    assert code == 0, err
    code, out, err = admin(capsys, tmp_path, "counter", "add", "Quầy 3", "--unit", unit.group(1))
    assert code == 0 and "counter 1 added: Quầy 3" in out

    photo = tmp_path / "photo.png"
    photo.write_bytes(demo_photo(DEMO_OFFICERS[0].photo))
    # a name typed in decomposed Unicode is stored composed (NFC)
    decomposed = "Nguye\u0302\u0303n Va\u0306n A"
    code, out, err = admin(capsys, tmp_path, "officer", "add", decomposed, "--unit",
                           unit.group(1), "--title", "Chuyên viên", "--photo", str(photo))
    assert code == 0, err
    code, out, _err = admin(capsys, tmp_path, "officer", "list")
    assert out.split("\t")[1] == "Nguyễn Văn A" and out.rstrip().endswith("photo")

    monkeypatch.setattr(sys, "stdin", io.StringIO("mật-khẩu-dài\n"))
    code, out, err = admin(capsys, tmp_path, "user", "add", "lanhdao", "--role", "supervisor",
                           "--unit", unit.group(1), "--password-stdin")
    assert code == 0 and "lanhdao (supervisor)" in out, err

    code, out, _err = admin(capsys, tmp_path, "unit", "list")
    assert out.splitlines() == ["1\tSở Nông nghiệp và PTNT\t", "2\tChi cục Thủy lợi\t1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["counter", "add", "Quầy 9", "--unit", "42"], "no unit with id 42"),
        (["enroll-code", "--counter", "7"], "no counter with id 7"),
        (["unit", "add", "X", "--parent", "5"], "no unit with id 5"),
        (["user", "add", "kt", "--role", "technician", "--password-stdin"], "--unit"),
        (["enroll-code", "--counter", "1", "--ttl-hours", "0"], "--ttl-hours"),
    ],
)
def test_admin_explains_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = admin(capsys, tmp_path, *args)
    assert code == 1
    assert message in err and out == ""


def test_admin_refuses_a_photo_that_is_not_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert admin(capsys, tmp_path, "unit", "add", "Đơn vị")[0] == 0
    text_file = tmp_path / "photo.png"
    text_file.write_text("not an image")
    code, _out, err = admin(capsys, tmp_path, "officer", "add", "Lê Văn B", "--unit", "1",
                            "--photo", str(text_file))
    assert code == 1 and "PNG, JPEG or WebP" in err
    code, _out, err = admin(capsys, tmp_path, "officer", "add", "Lê Văn B", "--unit", "1",
                            "--photo", str(tmp_path / "missing.png"))
    assert code == 1 and "cannot read the photo" in err


def test_a_bad_settings_file_is_reported_whole_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "server.toml"
    settings.write_text('[server]\nprot = 8080\nmax_body_bytes = "big"\n', encoding="utf-8")
    assert main(["server", "--config", str(settings), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "server.prot" in err and "server.max_body_bytes" in err
    assert not (tmp_path / "server.db").exists()


def test_admin_sets_officer_pins_and_badges_that_kiosks_can_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from hailong.sync.server.db import make_engine, make_session_factory
    from hailong.sync.server.models import Officer
    from hailong.sync.server.models_oversight import AuditEntry
    from hailong.sync.wire import badge_digest

    assert admin(capsys, tmp_path, "unit", "add", "Đơn vị")[0] == 0
    for name in ("Lê Văn B", "Trần Thị C"):
        assert admin(capsys, tmp_path, "officer", "add", name, "--unit", "1")[0] == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("2468\n"))
    code, out, err = admin(capsys, tmp_path, "officer", "set-pin", "1", "--pin-stdin")
    assert code == 0 and "PIN set for officer 1" in out, err
    monkeypatch.setattr(sys, "stdin", io.StringIO("12a4\n"))
    code, _out, err = admin(capsys, tmp_path, "officer", "set-pin", "2", "--pin-stdin")
    assert code == 1 and "4 to 8 digits" in err
    assert admin(capsys, tmp_path, "officer", "set-badge", "1", " CB-000123 ")[0] == 0
    code, _out, err = admin(capsys, tmp_path, "officer", "set-badge", "2", "CB-000123")
    assert code == 1 and "already belongs to officer 1" in err

    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    with make_session_factory(engine)() as session:
        first, second = session.scalars(select(Officer).order_by(Officer.id)).all()
        logged = session.execute(
            select(AuditEntry.action, AuditEntry.object, AuditEntry.detail).order_by(AuditEntry.id)
        ).all()
    engine.dispose()
    # What changed is in the audit log; a PIN or a badge's code never is.
    assert ("config", "officer set-pin", "officer=1") in logged
    assert ("config", "officer set-badge", "officer=1") in logged
    assert not any("2468" in row.detail or "CB-000123" in row.detail for row in logged)
    assert len(logged) == 5, "the refused PIN and the taken badge changed nothing"
    assert PasswordHasher().verify(first.pin_hash, "2468")
    assert first.badge_hash == badge_digest("CB-000123")
    assert (second.pin_hash, second.badge_hash) == (None, None)
