"""deploy/kiosk/install.sh run into a throwaway root: every file lands where the unit, the
udev rule and the settings expect it; a second run keeps the settings and backs up the
database, with every unsynced rating, before the upgrade."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deploy_support import (
    ENV,
    KIOSK_INSTALL,
    prepare_for_verify,
    run_install,
    stand_in_app,
    stand_in_cage,
    verify,
)

from hailong.config.loader import load_kiosk
from hailong.kiosk.session import NewRating
from hailong.sync.store import KioskStore

UNIT = "etc/systemd/system/hailong-kiosk.service"
UNSYNCED = 200
BOOT_ID = uuid.UUID("0b0e2c1a-5d7f-4e7a-9a11-3c2d1e0f9a88")
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def service_section(root: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(root / UNIT)
    return parser["Service"]


def pending_ids(store: KioskStore) -> list[str]:
    items = store.pending(max_items=UNSYNCED * 2, max_bytes=10_000_000)
    assert store.backlog() == len(items)
    return [str(item.id) for item in items]


def test_files_land_where_the_unit_expects_them(kiosk_root: Path) -> None:
    service = service_section(kiosk_root)
    command = shlex.split(service["ExecStart"])
    assert command[:3] == ["/usr/bin/cage", "-d", "--"]
    app, *args = command[3:]
    assert args == ["kiosk", "--config", "/etc/hailong/kiosk.toml", "run"]
    assert app == "/opt/hailong/venv/bin/hailong"
    assert (kiosk_root / "opt/hailong/venv/bin/python").exists()
    assert (kiosk_root / "etc/hailong/kiosk.toml").is_file()
    assert (kiosk_root / service["WorkingDirectory"].lstrip("/")).is_dir()
    assert (kiosk_root / service["ReadWritePaths"].lstrip("/")).is_dir()
    assert (kiosk_root / "etc/pam.d" / service["PAMName"]).is_file()
    assert service["User"] == "hailong"
    assert service["Restart"] == "always"
    # hailong.kiosk.watchdog: READY=1 and WATCHDOG=1 from the app, cage's child.
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "all"
    assert int(service["WatchdogSec"]) > 0
    assert (kiosk_root / "etc/systemd/system/multi-user.target.wants/hailong-kiosk.service")\
        .is_symlink()
    assert (kiosk_root / "etc/systemd/journald.conf.d/hailong.conf").is_file()


def test_the_screen_is_not_blanked_by_the_console_or_x(kiosk_root: Path) -> None:
    tmpfiles = (kiosk_root / "etc/tmpfiles.d/hailong-screen.conf").read_text()
    rules = [row.split() for row in tmpfiles.splitlines() if row and not row.startswith("#")]
    assert rules == [["w", "/sys/module/kernel/parameters/consoleblank", "-", "-", "-", "-",
                      "0"]]
    xorg = (kiosk_root / "etc/X11/xorg.conf.d/10-hailong-screen.conf").read_text()
    for option in ("BlankTime", "StandbyTime", "SuspendTime", "OffTime"):
        assert f'Option "{option}" "0"' in xorg


def test_the_settings_are_valid_and_keep_the_database_in_the_data_folder(
    kiosk_root: Path,
) -> None:
    settings = load_kiosk(kiosk_root / "etc/hailong/kiosk.toml")
    assert settings.kiosk.database_path == Path("/var/lib/hailong/kiosk/kiosk.db")
    assert (kiosk_root / "var/lib/hailong/kiosk").is_dir()


def test_udev_rule_names_the_box_and_keeps_modemmanager_away(kiosk_root: Path) -> None:
    rule = (kiosk_root / "etc/udev/rules.d/99-hailong-box.rules").read_text()
    line = next(row for row in rule.splitlines() if row and not row.startswith("#"))
    assert 'ATTRS{idVendor}=="2341"' in line and 'ATTRS{idProduct}=="0043"' in line
    assert 'SYMLINK+="hailong-box"' in line
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in line
    assert 'GROUP="dialout"' in line


def test_the_unit_verifies_in_the_installed_root(kiosk_root: Path) -> None:
    prepare_for_verify(kiosk_root)
    stand_in_cage(kiosk_root)
    stand_in_app(kiosk_root)
    done = verify(kiosk_root, "hailong-kiosk.service")
    assert done.returncode == 0, done.stdout + done.stderr
    # The app's command line is accepted by the real app.
    help_run = subprocess.run(
        [str(kiosk_root / "opt/hailong/venv/bin/hailong"), "kiosk", "--config",
         str(kiosk_root / "etc/hailong/kiosk.toml"), "run", "--help"],
        capture_output=True, text=True, timeout=30, env=ENV,
    )
    assert help_run.returncode == 0, help_run.stderr


def test_a_second_run_keeps_settings_and_backs_up_unsynced_ratings(tmp_path: Path) -> None:
    root = tmp_path / "root"
    run_install(KIOSK_INSTALL, root, "--usb-id", "1A86:7523")
    config = root / "etc/hailong/kiosk.toml"
    edited = config.read_text().replace('server_url = "http://127.0.0.1:8080"',
                                        'server_url = "https://hailong.example.org"')
    config.write_text(edited)
    database = root / "var/lib/hailong/kiosk/kiosk.db"
    store = KioskStore(database)
    for n in range(UNSYNCED):
        store.record(
            NewRating(counter_id=3, officer_id=7, button=1 + n % 4, scale_size=4,
                      sipas_level=(5, 4, 3, 2)[n % 4], source="touch", flags=(), box=None),
            wall_time=T0 + timedelta(seconds=n), monotonic_ms=1000 * n, clock_trusted=True,
            boot_id=BOOT_ID,
        )
    unsynced = pending_ids(store)
    store.close()

    backups = root / "var/lib/hailong/kiosk/backups"
    for n in range(6):  # older backups: the install keeps the newest five
        old = backups / f"kiosk-2020010{n}T000000Z.db"
        old.write_bytes(b"old")
        os.utime(old, (1_577_836_800 + n, 1_577_836_800 + n))

    done = run_install(KIOSK_INSTALL, root)

    assert "Backed up the kiosk database before the upgrade" in done.stdout
    assert config.read_text() == edited
    assert "/etc/hailong/kiosk.toml exists: kept as it is" in done.stdout
    kept = sorted(path.name for path in backups.iterdir())
    assert kept[:4] == [f"kiosk-2020010{n}T000000Z.db" for n in range(2, 6)]
    assert len(kept) == 5
    copy = KioskStore(backups / kept[-1])
    assert pending_ids(copy) == unsynced
    copy.close()
    live = KioskStore(database)
    assert pending_ids(live) == unsynced
    live.close()
    # The box's USB id given at the first run stays without being given again.
    rule = (root / "etc/udev/rules.d/99-hailong-box.rules").read_text()
    assert 'ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="7523"' in rule


def test_the_usb_id_option_rewrites_the_rule(tmp_path: Path) -> None:
    run_install(KIOSK_INSTALL, tmp_path, "--usb-id", "1A86:7523")
    rule = (tmp_path / "etc/udev/rules.d/99-hailong-box.rules").read_text()
    assert 'ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="7523"' in rule


def test_a_bad_usb_id_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(KIOSK_INSTALL), "--root", str(tmp_path), "--skip-pip", "--usb-id", "2341"],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 1
    assert "--usb-id must look like 2341:0043" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_missing_app_source_is_named_before_anything_is_written(tmp_path: Path) -> None:
    root = tmp_path / "root"
    done = subprocess.run(
        ["bash", str(KIOSK_INSTALL), "--root", str(root), "--skip-pip", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 1
    assert f"no app to install at {tmp_path / 'none'}" in done.stderr
    assert not root.exists()
