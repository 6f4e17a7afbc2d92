"""Reading settings files, with every problem reported at once.

A problem names the file, the key, what was expected and what was found, and the
line where the key stands when it can be found, so a technician can fix the whole
file in one pass.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from hailong.config.settings import KioskFile, ServerFile
from hailong.i18n import _

Kind = Literal["kiosk", "server"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    key: str
    expected: str
    found: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return _("{where}: {key}: expected {expected}; found {found}").format(
            where=where, key=self.key or _("(file)"), expected=self.expected, found=self.found
        )


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def detect_kind(data: dict[str, Any]) -> Kind:
    return "server" if "server" in data else "kiosk"


def _expected(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _("a known key (this one is misspelt or not used here)")
    if kind == "missing":
        return _("a value (this key is required)")
    simple = {
        "int_type": _("a whole number"),
        "int_parsing": _("a whole number"),
        "float_type": _("a number"),
        "float_parsing": _("a number"),
        "bool_type": _("true or false"),
        "bool_parsing": _("true or false"),
        "string_type": _("text in quotes"),
        "url_parsing": _("a URL such as http://server:8080"),
        "url_scheme": _("a URL starting with http:// or https://"),
        "tuple_type": _("a list"),
        "list_type": _("a list"),
        "model_type": _("a table"),
        "dict_type": _("a table"),
    }
    if kind in simple:
        return simple[kind]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {
            "greater_than_equal": "≥",
            "greater_than": ">",
            "less_than_equal": "≤",
            "less_than": "<",
        }[kind]
        bound = next(iter(ctx.values()))
        return _("a number {sign} {bound}").format(sign=sign, bound=bound)
    if kind == "literal_error":
        return _("one of {choices}").format(choices=ctx.get("expected", ""))
    if kind == "string_pattern_mismatch":
        return _("text matching {pattern}").format(pattern=ctx.get("pattern", ""))
    if kind in ("string_too_long", "too_long"):
        return _("at most {n} characters or items").format(n=ctx.get("max_length", "?"))
    if kind in ("string_too_short", "too_short"):
        return _("at least {n} characters or items").format(n=ctx.get("min_length", "?"))
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def _found(error: dict[str, Any]) -> str:
    if error["type"] == "missing":
        return _("nothing")
    value = error.get("input")
    if isinstance(value, dict):
        return _("a table")
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item + 1}]")
        elif parts:
            parts.append(f".{item}")
        else:
            parts.append(str(item))
    return "".join(parts)


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of a key: the key's line inside its table."""
    names = [str(x) for x in loc if not isinstance(x, int)]
    if not names:
        return None
    key = names[-1]
    table = ".".join(names[:-1])
    in_table = table == ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            in_table = header.group(1) == table
            if header.group(1) == ".".join(names):
                return number
            continue
        if in_table and re.match(rf"^{re.escape(key)}\s*=", line):
            return number
    return None


def validate(model: type[M], data: dict[str, Any], file: str, text: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            ConfigProblem(
                file=file,
                key=_dotted(err["loc"]),
                expected=_expected(err),
                found=_found(err),
                line=_line_of(text, err["loc"]),
            )
            for err in exc.errors()
        ]
        raise ConfigError(problems) from None


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [ConfigProblem(file, "", _("an existing file"), _("no such file"))]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(file, "", _("UTF-8 text"), str(exc))]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(file, "", _("a readable file"), str(exc))]) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            [
                ConfigProblem(
                    file, "", _("valid TOML"), str(exc), int(match.group(1)) if match else None
                )
            ]
        ) from None


def load(path: Path, kind: Kind | None = None) -> KioskFile | ServerFile:
    data, text = read_toml(path)
    chosen = kind or detect_kind(data)
    model: type[KioskFile] | type[ServerFile] = KioskFile if chosen == "kiosk" else ServerFile
    return validate(model, data, str(path), text)


def load_kiosk(path: Path | None) -> KioskFile:
    """The kiosk's settings from `path`, or the embedded defaults when `path` is None."""
    if path is None:
        return KioskFile()
    result = load(path, "kiosk")
    assert isinstance(result, KioskFile)
    return result


def load_server(path: Path | None) -> ServerFile:
    if path is None:
        return ServerFile()
    result = load(path, "server")
    assert isinstance(result, ServerFile)
    return result
