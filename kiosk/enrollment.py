"""Enrolling a kiosk with the central server and keeping its roster.

The server trades a one-time code for the kiosk's own credential; the kiosk keeps
the credential, its counter and the officer roster (with photos) in its store, so
it can start and rate with no network at all.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from hailong import __version__
from hailong.sync import client
from hailong.sync.store import KioskStore
from hailong.sync.wire import KioskConfig

log = logging.getLogger(__name__)


def enroll(
    store: KioskStore, server_url: str, code: str, photo_dir: Path, timeout: float
) -> KioskConfig:
    response = client.enroll(
        server_url, code.strip(), app_version=__version__, hostname=platform.node(), timeout=timeout
    )
    store.set_state("kiosk_id", str(response.kiosk_id))
    store.set_state("token", response.token)
    save_config(store, server_url, response.config, photo_dir, timeout)
    return response.config


def refresh(store: KioskStore, server_url: str, photo_dir: Path, timeout: float) -> KioskConfig:
    token = store.get_state("token")
    if not token:
        raise client.NotEnrolledError()
    config = client.fetch_config(server_url, token, timeout=timeout)
    save_config(store, server_url, config, photo_dir, timeout)
    return config


def load_config(store: KioskStore) -> KioskConfig | None:
    """The roster this kiosk last downloaded, or None before it is enrolled."""
    raw = store.get_state("config")
    return KioskConfig.model_validate_json(raw) if raw else None


def _photo_is_current(target: Path, url: str, kept_url: str | None) -> bool:
    """Whether `target` holds the photo `url` names. The server's photo URLs carry the
    start of the photo's SHA-256 (`?v=`), so a file damaged on the kiosk's disk is found
    and fetched again; without it, an unchanged URL means an unchanged photo."""
    if not target.exists():
        return False
    version = parse_qs(urlsplit(url).query).get("v")
    if not version:
        return kept_url == url
    return hashlib.sha256(target.read_bytes()).hexdigest().startswith(version[0])


def save_config(
    store: KioskStore, server_url: str, config: KioskConfig, photo_dir: Path, timeout: float
) -> None:
    """Photos first, then the roster: a roster is never saved pointing at missing photos."""
    token = store.get_state("token") or ""
    photo_dir.mkdir(parents=True, exist_ok=True)
    previous = load_config(store)
    kept = {o.id: o.photo_url for o in previous.officers} if previous else {}
    for officer in config.officers:
        if not officer.photo_url:
            continue
        target = photo_dir / f"{officer.id}.png"
        if _photo_is_current(target, officer.photo_url, kept.get(officer.id)):
            continue
        url = officer.photo_url
        if url.startswith("/"):
            url = server_url.rstrip("/") + url
        data = client.fetch_photo(url, token, timeout=timeout)
        partial = target.with_suffix(".part")
        with partial.open("wb") as file:
            file.write(data)
            # On disk before the rename: a power cut must not leave an empty photo.
            file.flush()
            os.fsync(file.fileno())
        partial.replace(target)
    store.set_state("config", config.model_dump_json())
    officer = store.get_state("officer_id")
    if officer and int(officer) not in {o.id for o in config.officers}:
        store.set_state("officer_id", "")
