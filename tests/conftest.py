import os

# Tests read English messages; the Vietnamese catalogue is checked on its own.
os.environ.setdefault("HAILONG_LANG", "en")
