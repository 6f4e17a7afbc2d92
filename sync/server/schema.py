"""Every table of the central database. The models live in several modules, so
whatever needs the whole schema (Alembic, the schema tests) imports it from here."""

from __future__ import annotations

from hailong.sync.server import models_cases, models_oversight
from hailong.sync.server.models import Base

# Imported for their tables: each module adds its own to Base.metadata.
TABLE_MODULES = (models_cases, models_oversight)
metadata = Base.metadata
