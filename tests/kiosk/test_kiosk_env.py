import os
import subprocess
import sys

from hailong.kiosk.kivy_env import WINDOW_CLASS, prepare_kivy_environment


def test_kivy_is_kept_away_from_argv_home_and_logging(tmp_path, monkeypatch):
    for name in ("KIVY_NO_ARGS", "KIVY_HOME", "KIVY_LOG_MODE", "SDL_VIDEO_X11_WMCLASS"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "kivy"
    prepare_kivy_environment(home)
    assert home.is_dir()
    assert os.environ["KIVY_NO_ARGS"] == "1"
    assert os.environ["KIVY_HOME"] == str(home)
    assert os.environ["KIVY_LOG_MODE"] == "PYTHON"
    assert os.environ["SDL_VIDEO_X11_WMCLASS"] == WINDOW_CLASS


def test_kivy_imported_after_preparing_leaves_stderr_argv_and_home_alone(tmp_path):
    # A fresh interpreter: Kivy reads its environment once, at its first import.
    script = (
        "import sys, pathlib\n"
        "from hailong.kiosk.kivy_env import prepare_kivy_environment\n"
        "prepare_kivy_environment(pathlib.Path(sys.argv[1]))\n"
        "stderr = sys.stderr\n"
        "import kivy.app\n"
        "assert sys.stderr is stderr, 'Kivy replaced sys.stderr'\n"
        "print(sys.argv[1:])\n"
    )
    home = tmp_path / "kivy"
    result = subprocess.run(
        [sys.executable, "-c", script, str(home), "--size=10x10"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path / "home")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Kivy would have eaten (or choked on) the unknown option without KIVY_NO_ARGS.
    assert result.stdout.strip() == f"[{str(home)!r}, '--size=10x10']"
    assert (home / "config.ini").exists()
    assert not (tmp_path / "home" / ".kivy").exists()
