"""The central server as an ASGI app: `create_app(settings)`.

The database must already be migrated (`hailong server` does it before serving;
tests call `db.migrate`), so starting several app processes never races on the
schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import text

from hailong import __version__
from hailong.config.settings import KioskPolicy, ServerSettings
from hailong.i18n import _, current_language
from hailong.sync.server import (
    api,
    api_export,
    api_fleet,
    api_scores,
    audit_page,
    fleet_page,
    metrics,
    public,
    web,
    web_analytics,
)
from hailong.sync.server.auth import SessionSigner, load_or_create_secret
from hailong.sync.server.db import make_engine, make_session_factory
from hailong.sync.server.deps import LoginRequired
from hailong.sync.server.limits import BodyLimitMiddleware
from hailong.sync.server.overload import KioskLoadShedder
from hailong.sync.server.ratelimit import KioskRateLimiter, RateLimit
from hailong.sync.wire import API_PREFIX

HERE = Path(__file__).parent


def _percent(value: float | None) -> str:
    if value is None:
        return "—"
    text_value = f"{value:.1f}"
    return (text_value.replace(".", ",") if current_language() == "vi" else text_value) + "%"


def _points(value: float | None) -> str:
    """A gap in percentage points, always signed."""
    if value is None:
        return "—"
    text_value = f"{abs(value):.1f}"
    if current_language() == "vi":
        text_value = text_value.replace(".", ",")
    sign = "+" if value >= 0 else "\u2212"
    return _("{signed} points").format(signed=sign + text_value)


def _interval(bounds: tuple[float, float] | None) -> str:
    if bounds is None:
        return "—"
    return f"{_percent(bounds[0])} – {_percent(bounds[1])}"


def _role_name(role: str) -> str:
    return {
        "admin": _("administrator"),
        "supervisor": _("supervisor"),
        "technician": _("technician"),
    }.get(role, role)


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
    )
    env.globals.update(_=_, role_name=_role_name)
    env.filters.update(pct=_percent, interval=_interval, points=_points)
    return env


def create_app(
    settings: ServerSettings,
    batch_rate: RateLimit | None = None,
    kiosk_policy: KioskPolicy | None = None,
) -> FastAPI:
    """`batch_rate` is the per-kiosk limit of ratings uploads (ratelimit.py's
    defaults when None); `kiosk_policy` is what kiosks pull with their roster (None:
    each kiosk keeps its own file's)."""
    engine = make_engine(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    # Swagger and ReDoc pages load their scripts from a CDN: only /openapi.json is served.
    app = FastAPI(
        title="Hài Lòng",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.kiosk_policy = kiosk_policy
    app.state.sessions = make_session_factory(engine)
    app.state.signer = SessionSigner(load_or_create_secret(settings))
    app.state.templates = make_templates()
    app.state.batch_limiter = KioskRateLimiter(
        batch_rate or RateLimit(settings.upload_batches_per_s, settings.upload_burst)
    )

    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(api_fleet.router, prefix=API_PREFIX)
    app.include_router(api_export.router, prefix=API_PREFIX)
    app.include_router(api_scores.router, prefix=API_PREFIX)
    app.include_router(web.router)
    app.include_router(audit_page.router)
    app.include_router(fleet_page.router)
    app.include_router(public.router)
    app.include_router(web_analytics.router)
    app.include_router(metrics.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Inside the body limit (added before it): it sees the scope the router fills in.
    app.add_middleware(metrics.MetricsMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    # Outermost: a refused request costs no body decoding and no metrics work.
    app.add_middleware(KioskLoadShedder, max_in_flight=settings.max_kiosk_requests_in_flight)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure makes the server unhealthy
            return JSONResponse(
                {"status": "error", "detail": type(exc).__name__},
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return JSONResponse({"status": "ok"})

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(
            f"/login?next={quote(exc.next_path, safe='/')}", status.HTTP_303_SEE_OTHER
        )

    @app.exception_handler(web.PageError)
    async def page_error(request: Request, exc: web.PageError) -> Any:
        return web.render(request, "error.html", exc.status_code, message=exc.message, user=None)

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = api.add_batch_schema(base_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
