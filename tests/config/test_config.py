import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from hailong.config.loader import ConfigError, load, load_kiosk, load_server
from hailong.config.settings import KioskFile, ServerFile


def hailong(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hailong", *args], capture_output=True, text=True, timeout=60
    )


def example(kind: str) -> str:
    return files("hailong.config").joinpath("examples", f"{kind}.toml").read_text()


def test_example_files_document_exactly_the_defaults():
    # If a default changes, the commented example must change with it.
    assert KioskFile.model_validate(tomllib.loads(example("kiosk"))) == KioskFile()
    assert ServerFile.model_validate(tomllib.loads(example("server"))) == ServerFile()


def test_no_file_means_embedded_defaults():
    assert load_kiosk(None) == KioskFile()
    assert load_server(None) == ServerFile()


def test_default_scale_is_the_four_button_box():
    labels = [level.label for level in KioskFile().kiosk.scale]
    assert labels == ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng"]
    assert [level.sipas_level for level in KioskFile().kiosk.scale] == [5, 4, 3, 2]


def test_two_mistakes_are_both_reported_with_file_key_expected_found_and_line(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '[kiosk]\nlanguage = "vi"\nresponse_intervall_s = 5\n\n[sync]\ntimeout_s = "ten"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    problems = {p.key: p for p in caught.value.problems}
    assert set(problems) == {"kiosk.response_intervall_s", "sync.timeout_s"}
    typo = problems["kiosk.response_intervall_s"]
    assert typo.line == 3 and "a known key" in typo.expected and typo.found == "5"
    wrong = problems["sync.timeout_s"]
    assert wrong.line == 6 and wrong.expected == "a number" and wrong.found == '"ten"'
    assert str(path) in str(wrong)


def test_config_check_command_lists_every_problem_and_fails(tmp_path: Path):
    path = tmp_path / "server.toml"
    path.write_text("[server]\nport = 70000\nworkrs = 2\n", encoding="utf-8")
    result = hailong("config", "check", str(path))
    assert result.returncode == 1
    assert f"{path}:2: server.port: expected a number ≤ 65535; found 70000" in result.stderr
    assert f"{path}:3: server.workrs: expected a known key" in result.stderr
    assert "2 problem(s)" in result.stderr


def test_config_check_accepts_the_examples(tmp_path: Path):
    for kind in ("kiosk", "server"):
        path = tmp_path / f"{kind}.toml"
        path.write_text(example(kind), encoding="utf-8")
        result = hailong("config", "check", str(path))
        assert result.returncode == 0, result.stderr
        assert "OK" in result.stdout


def test_broken_toml_is_reported_with_its_line(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nlanguage = "vi\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    (problem,) = caught.value.problems
    assert problem.expected == "valid TOML" and problem.line == 2


def test_missing_file_is_a_clear_problem(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "nowhere.toml")
    assert caught.value.problems[0].found == "no such file"


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        (
            [{"button": 1, "label": "A", "sipas_level": 5, "colour": "#000000", "icon": "happy"}],
            "2 to 5 levels",
        ),
        (
            [
                {"button": 1, "label": "A", "sipas_level": 5, "colour": "#000000", "icon": "happy"},
                {
                    "button": 3,
                    "label": "B",
                    "sipas_level": 2,
                    "colour": "#000000",
                    "icon": "unhappy",
                },
            ],
            "numbered 1..2",
        ),
    ],
)
def test_scale_must_be_well_formed(tmp_path: Path, scale, message):
    with pytest.raises(ConfigError) as caught:
        from hailong.config.loader import validate

        validate(KioskFile, {"kiosk": {"scale": scale}}, "kiosk.toml")
    assert message in caught.value.problems[0].expected


def test_three_level_scale_is_accepted():
    levels = [
        {
            "button": 1,
            "label": "Rất hài lòng",
            "sipas_level": 5,
            "colour": "#00aa00",
            "icon": "very_happy",
        },
        {"button": 2, "label": "Hài lòng", "sipas_level": 4, "colour": "#88cc00", "icon": "happy"},
        {
            "button": 3,
            "label": "Không hài lòng",
            "sipas_level": 2,
            "colour": "#cc0000",
            "icon": "unhappy",
        },
    ]
    settings = KioskFile.model_validate({"kiosk": {"scale": levels}})
    assert len(settings.kiosk.scale) == 3


def test_config_example_command_prints_a_valid_file():
    result = hailong("config", "example", "kiosk")
    assert result.returncode == 0
    assert KioskFile.model_validate(tomllib.loads(result.stdout)) == KioskFile()


def test_box_label_is_limited_in_bytes_not_characters(tmp_path: Path):
    from hailong.config.loader import validate

    fits = validate(KioskFile, {"device": {"label": "Quầy 1 – Tầng 2"}}, "kiosk.toml")
    assert fits.device.label == "Quầy 1 – Tầng 2"
    with pytest.raises(ConfigError) as caught:
        # 18 characters, 26 bytes of UTF-8: more than the box's EEPROM field holds.
        validate(KioskFile, {"device": {"label": "Quầy số 1 – Tầng 2"}}, "kiosk.toml")
    (problem,) = caught.value.problems
    assert problem.key == "device.label" and "24 bytes" in problem.expected


def _keys(model: type, documented_elsewhere: tuple[type, ...] = ()) -> set[str]:
    """Every key a settings file may hold, nested sections included."""
    from pydantic import BaseModel

    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for kind in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if (isinstance(kind, type) and issubclass(kind, BaseModel)
                    and kind not in documented_elsewhere):
                names |= _keys(kind)
    return names


def test_example_files_mention_every_key():
    from hailong.config.settings import KioskPolicy

    # The server's kiosk_policy section refers to kiosk.toml for its keys.
    for kind, keys in (("kiosk", _keys(KioskFile)),
                       ("server", _keys(ServerFile, (KioskPolicy,)))):
        text = example(kind)
        missing = sorted(key for key in keys if key not in text)
        assert missing == [], f"{kind}.toml does not document {missing}"
