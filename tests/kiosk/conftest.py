import atexit
import shutil
import tempfile
from pathlib import Path

from hailong.kiosk.kivy_env import prepare_kivy_environment

# Kivy reads its environment once, at its first import: tests that import Kivy in
# this process get a private home and leave argv, stderr and logging alone.
_KIVY_HOME = Path(tempfile.mkdtemp(prefix="hailong-test-kivy-"))
atexit.register(shutil.rmtree, _KIVY_HOME, ignore_errors=True)
prepare_kivy_environment(_KIVY_HOME)
