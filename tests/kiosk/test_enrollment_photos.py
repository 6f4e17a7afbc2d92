"""The officers' photos a kiosk keeps: downloaded once, and downloaded again when the
file on the kiosk's disk is damaged (a power cut) or gone, at the next roster pull."""

from __future__ import annotations

from pathlib import Path

from stack import enroll_kiosk, processes, start_server, write_kiosk_settings

from hailong.config.loader import load_kiosk
from hailong.kiosk.enrollment import refresh
from hailong.sync.store import KioskStore


def test_a_damaged_or_missing_photo_is_downloaded_again(tmp_path: Path) -> None:
    with processes() as started:
        server = start_server(tmp_path / "server", started)
        kiosk_toml = write_kiosk_settings(
            tmp_path / "kiosk.toml", data_dir=tmp_path / "kiosk", box_link=tmp_path / "no-box",
            server_url=server.url,
        )
        roster = enroll_kiosk(kiosk_toml, server.enroll_code(counter=1))
        settings = load_kiosk(kiosk_toml).kiosk
        photo = settings.photo_dir / f"{roster[0]}.png"
        good = photo.read_bytes()
        assert good.startswith(b"\x89PNG")
        with KioskStore(settings.database_path) as store:

            def pull() -> None:
                refresh(store, server.url, settings.photo_dir, 10)

            # Unchanged: not fetched again (the file is not rewritten).
            written = photo.stat().st_mtime_ns
            pull()
            assert photo.stat().st_mtime_ns == written

            photo.write_bytes(good[:300])
            pull()
            assert photo.read_bytes() == good

            photo.unlink()
            pull()
            assert photo.read_bytes() == good
