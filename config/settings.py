"""The settings schema: every key, its type, its default.

Unknown keys are errors (`extra="forbid"`): a typo in a config file must never be
silently ignored.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from hailong.config.reasons import REASON_CODES, ReasonCode
from hailong.device.protocol_constants import LABEL_LEN

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScaleLevel(_Strict):
    """One rating button: what it says, how it looks, which SIPAS level it counts as."""

    button: Annotated[int, Field(ge=1, le=5)]
    label: Annotated[str, Field(min_length=1, max_length=40)]
    sipas_level: Annotated[int, Field(ge=1, le=5)]
    colour: Colour
    icon: Annotated[str, Field(min_length=1, max_length=40)]


DEFAULT_SCALE: tuple[ScaleLevel, ...] = (
    ScaleLevel(button=1, label="Rất hài lòng", sipas_level=5, colour="#1b7f3b", icon="very_happy"),
    ScaleLevel(button=2, label="Hài lòng", sipas_level=4, colour="#6aa84f", icon="happy"),
    ScaleLevel(button=3, label="Bình thường", sipas_level=3, colour="#f1c232", icon="neutral"),
    ScaleLevel(button=4, label="Không hài lòng", sipas_level=2, colour="#cc0000", icon="unhappy"),
)


_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class OpeningPeriod(_Strict):
    """Open from `start` to `end` (HH:MM, local time) on each of `days` (1 = Monday …
    7 = Sunday)."""

    days: tuple[Annotated[int, Field(ge=1, le=7)], ...]
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _is_clock_time(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"a time of day as HH:MM (24-hour), got {value!r}")
        return value

    @model_validator(mode="after")
    def _ends_after_start(self) -> OpeningPeriod:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    def covers(self, iso_weekday: int, at: time) -> bool:
        return iso_weekday in self.days and self.start <= at.strftime("%H:%M") < self.end


DEFAULT_PERIODS: tuple[OpeningPeriod, ...] = (
    OpeningPeriod(days=(1, 2, 3, 4, 5), start="07:30", end="11:30"),
    OpeningPeriod(days=(1, 2, 3, 4, 5), start="13:30", end="17:00"),
)


class OpeningHours(_Strict):
    """When the counter serves citizens. Ratings outside these hours are kept but
    flagged, and the screen may sleep."""

    enabled: bool = True
    timezone: str = "Asia/Ho_Chi_Minh"
    periods: tuple[OpeningPeriod, ...] = DEFAULT_PERIODS

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"an IANA time zone such as Asia/Ho_Chi_Minh, got {name!r}") from exc
        return name

    def open_at(self, when: datetime) -> bool:
        """Whether the counter serves at `when` (timezone-aware); always, when disabled."""
        from zoneinfo import ZoneInfo

        if not self.enabled:
            return True
        local = when.astimezone(ZoneInfo(self.timezone))
        return any(period.covers(local.isoweekday(), local.time()) for period in self.periods)


class KioskPolicy(_Strict):
    """What a unit decides about its kiosks: the scale, the follow-up questions, the
    opening hours. A kiosk's file sets them until the server sends its own."""

    scale: tuple[ScaleLevel, ...] = DEFAULT_SCALE
    # A rating at or below this SIPAS level asks for a reason (0: never ask).
    low_rating_max_sipas: Annotated[int, Field(ge=0, le=5)] = 2
    reasons: tuple[ReasonCode, ...] = REASON_CODES
    # Without an answer the rating is kept without a reason after this long.
    reason_timeout_s: Annotated[float, Field(gt=0, le=600)] = 20.0
    comment_enabled: bool = True
    callback_enabled: bool = True
    # The question under the officer's photo; empty keeps the built-in text.
    question_vi: Annotated[str, Field(max_length=200)] = ""
    question_en: Annotated[str, Field(max_length=200)] = ""
    opening_hours: OpeningHours = OpeningHours()

    @field_validator("scale")
    @classmethod
    def _scale_is_well_formed(cls, levels: tuple[ScaleLevel, ...]) -> tuple[ScaleLevel, ...]:
        if not 2 <= len(levels) <= 5:
            raise ValueError(f"a scale has 2 to 5 levels, this one has {len(levels)}")
        buttons = [level.button for level in levels]
        if sorted(buttons) != list(range(1, len(levels) + 1)):
            raise ValueError(f"buttons must be numbered 1..{len(levels)} once each, got {buttons}")
        return levels

    @field_validator("reasons")
    @classmethod
    def _reasons_once_each(cls, codes: tuple[ReasonCode, ...]) -> tuple[ReasonCode, ...]:
        if len(set(codes)) != len(codes):
            raise ValueError(f"each reason may appear once, got {list(codes)}")
        return codes

    @field_validator("question_vi", "question_en")
    @classmethod
    def _nfc(cls, text: str) -> str:
        return unicodedata.normalize("NFC", text)

    def policy(self) -> KioskPolicy:
        """Just the policy part (a kiosk's settings carry more)."""
        return KioskPolicy.model_validate(
            {name: getattr(self, name) for name in KioskPolicy.model_fields}
        )


class KioskSettings(KioskPolicy):
    language: Literal["vi", "en"] = "vi"
    data_dir: Path = Path("/var/lib/hailong/kiosk")
    fullscreen: bool = True
    window_size: tuple[Annotated[int, Field(ge=320)], Annotated[int, Field(ge=240)]] = (1024, 600)
    response_interval_s: Annotated[float, Field(ge=0, le=600)] = 5.0
    thanks_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    # Say a short "thank you" with the thank-you screen (needs a speaker).
    spoken_thanks: bool = False
    # Argon2id hashes (`hailong kiosk set-pin`); empty: that screen cannot be opened.
    supervisor_pin_hash: str = ""
    technician_pin_hash: str = ""

    @property
    def database_path(self) -> Path:
        return self.data_dir / "kiosk.db"

    @property
    def photo_dir(self) -> Path:
        """The officers' photos downloaded with the roster."""
        return self.data_dir / "photos"


class DeviceSettings(_Strict):
    enabled: bool = True
    port: Annotated[str, Field(min_length=1)] = "auto"
    baudrate: Literal[9600, 19200, 38400, 57600, 115200] = 115200
    usb_vid_pid: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$")] = "2341:0043"
    serial_number: str = ""
    label: str = ""
    debounce_ms: Annotated[int, Field(ge=1, le=200)] = 20
    led_brightness: Annotated[int, Field(ge=0, le=255)] = 200


    @field_validator("label")
    @classmethod
    def _label_fits_the_box(cls, label: str) -> str:
        # The box keeps its label in a fixed 24-byte EEPROM field; Vietnamese letters
        # take 2–3 bytes each in UTF-8.
        label = unicodedata.normalize("NFC", label)
        size = len(label.encode("utf-8"))
        if size > LABEL_LEN:
            raise ValueError(
                f"a label of at most {LABEL_LEN} bytes in UTF-8 "
                f"(this one is {size}; Vietnamese letters take 2–3 bytes)"
            )
        return label


class SyncSettings(_Strict):
    server_url: HttpUrl = HttpUrl("http://127.0.0.1:8080")
    interval_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    batch_max_items: Annotated[int, Field(ge=1, le=5000)] = 200
    batch_max_bytes: Annotated[int, Field(ge=1024, le=10_000_000)] = 256 * 1024
    backoff_max_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    heartbeat_interval_s: Annotated[float, Field(gt=0, le=86400)] = 60.0
    config_refresh_s: Annotated[float, Field(gt=0, le=86400)] = 300.0


class KioskFile(_Strict):
    """A kiosk's configuration file: the app, its rating box and its uploader."""

    kiosk: KioskSettings = KioskSettings()
    device: DeviceSettings = DeviceSettings()
    sync: SyncSettings = SyncSettings()


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    database_url: str = ""
    data_dir: Path = Path("/var/lib/hailong/server")
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    max_body_bytes: Annotated[int, Field(ge=1024, le=100_000_000)] = 1_000_000
    max_batch_items: Annotated[int, Field(ge=1, le=10_000)] = 1000
    upload_batches_per_s: Annotated[float, Field(gt=0, le=100_000)] = 50.0
    upload_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    # Kiosk requests one worker answers at once; more are told to come back later (429).
    max_kiosk_requests_in_flight: Annotated[int, Field(ge=1, le=10_000)] = 32
    language: Literal["vi", "en"] = "vi"
    secret_key: str = ""
    # The SIPAS index every unit is held to, and the city's own average (a figure the
    # city publishes; None until configured), drawn on every trend.
    target_index: Annotated[float, Field(ge=0, le=100)] = 85.0
    city_average_index: Annotated[float, Field(ge=0, le=100)] | None = None
    # Ratings an officer needs before being ranked.
    min_ratings_to_rank: Annotated[int, Field(ge=1, le=100_000)] = 30

    @model_validator(mode="after")
    def _url_scheme_is_known(self) -> ServerSettings:
        url = self.database_url
        if url and not url.startswith(("sqlite", "postgresql")):
            raise ValueError(f"database_url must start with sqlite or postgresql, got {url!r}")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'server.db'}"


class ServerFile(_Strict):
    """The central server's configuration file."""

    server: ServerSettings = ServerSettings()
    # What every kiosk pulls with its roster; when absent, each kiosk keeps its own file's.
    kiosk_policy: KioskPolicy | None = None
