"""Typed settings for the kiosk, the rating box and the central server, read from TOML."""

from hailong.config.loader import ConfigError, ConfigProblem, load_kiosk, load_server
from hailong.config.settings import (
    DeviceSettings,
    KioskFile,
    KioskSettings,
    ScaleLevel,
    ServerFile,
    ServerSettings,
    SyncSettings,
)

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "DeviceSettings",
    "KioskFile",
    "KioskSettings",
    "ScaleLevel",
    "ServerFile",
    "ServerSettings",
    "SyncSettings",
    "load_kiosk",
    "load_server",
]
