"""The compute service: ``create_app(settings)`` builds it (PROTOCOL §3)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cl_client.models import WorkerCapabilitiesResponse
from cl_client.topics import JOB_EVENTS_TOPIC, WORKER_TOPIC_FILTER
from cl_server import __version__
from cl_server.broker.credentials import service_credentials
from cl_server.compute.created_jobs import CreatedJobs
from cl_server.compute.dependencies import (
    Services,
    get_visible_job,
    require_admin,
    require_jobs_access,
)
from cl_server.compute.errors import ApiError
from cl_server.compute.job_files import JobFiles
from cl_server.compute.public_key import PublicKeySource
from cl_server.compute.revocations import RevocationCache
from cl_server.compute.routes_admin import router as admin_router
from cl_server.compute.routes_job_actions import router as job_actions_router
from cl_server.compute.routes_job_list import router as job_list_router
from cl_server.compute.routes_jobs import router as jobs_router
from cl_server.compute.routes_workers import router as workers_router
from cl_server.compute.services import ComputeServices
from cl_server.compute.upload_limit import UploadLimitMiddleware
from cl_server.lifecycle import requeue_expired_and_notify
from cl_server.live.fanout import fan_out
from cl_server.live.routes import router as live_router
from cl_server.live.service import LiveEvents
from cl_server.metrics.routes import require_metrics_access
from cl_server.metrics.routes import router as metrics_router
from cl_server.metrics.service import ComputeMetrics
from cl_server.mqtt.capabilities import CapabilityTracker
from cl_server.mqtt.connection import MqttConnection
from cl_server.mqtt.events import EventPublisher
from cl_server.openapi import DocumentRules, install_openapi, offline_app
from cl_server.settings import ComputeSettings
from cl_server.store import JobStore
from cl_server.ui import install_dashboard

logger = logging.getLogger(__name__)

SERVICE_NAME = "compute"
API_VERSION = "v1"
LEASE_REAPER_INTERVAL_S = 5.0

OPENAPI_RULES = DocumentRules(
    security=frozenset({require_jobs_access, require_admin, require_metrics_access}),
    dependency_statuses={get_visible_job: (404,)},
    # 400: a form that cannot be parsed; 413: UploadLimitMiddleware.
    body_statuses=(400, 413),
    plugin_route="/jobs/{task_type}",
)


class RootInfo(BaseModel):
    status: str = "healthy"
    service: str = SERVICE_NAME
    version: str = API_VERSION
    guest_mode: str = Field(serialization_alias="guestMode")
    auth_required: bool
    server_version: str = __version__
    mqtt_host: str
    """MQTT broker host clients should use (``CL_MQTT_PUBLIC_HOST``, else ``CL_MQTT_HOST``)."""
    mqtt_port: int
    """MQTT broker port clients should use (``CL_MQTT_PUBLIC_PORT``, else ``CL_MQTT_PORT``)."""


def _start_lease_reaper(services: ComputeServices, stop: threading.Event) -> threading.Thread:
    """Requeue jobs of workers that died, even while no worker is polling."""

    def loop() -> None:
        while not stop.wait(LEASE_REAPER_INTERVAL_S):
            try:
                requeue_expired_and_notify(services.store, services.publisher)
            except Exception:  # keep reaping after a transient database error
                logger.exception("lease reaper failed")

    thread = threading.Thread(target=loop, name="lease-reaper", daemon=True)
    thread.start()
    return thread


def create_app(settings: ComputeSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None]:
        store = await run_in_threadpool(
            JobStore.open,
            settings.database_url,
            lease_seconds=settings.lease_seconds,
            max_attempts=settings.max_attempts,
        )
        settings.jobs_dir.mkdir(parents=True, exist_ok=True)
        tracker = CapabilityTracker()
        mqtt_account = await run_in_threadpool(service_credentials, settings)
        connection = MqttConnection(
            settings.mqtt_host,
            settings.mqtt_port,
            client_id_prefix="cl-compute",
            username=mqtt_account.username,
            password=mqtt_account.password,
        )
        # Each session starts from the retained messages the broker replays, not an old view.
        connection.add_connect_hook(tracker.forget_all)
        connection.subscribe(WORKER_TOPIC_FILTER, tracker.handle_message)
        created = CreatedJobs(store.get_job)
        metrics = ComputeMetrics(store, tracker, facts_lookup=created.facts)
        live = LiveEvents.start(settings, store, tracker, facts_lookup=created.facts)
        # MqttConnection keeps one handler per topic filter: another consumer of job events
        # must share this subscription (a fan-out), not subscribe to the same filter again.
        connection.subscribe(
            JOB_EVENTS_TOPIC, fan_out(metrics.feed.handle_message, live.feed.handle_message)
        )
        connection.start()
        publisher = EventPublisher(connection)
        # Tokens revoked by the auth service (polled; no call to auth per request).
        revocations = (
            None
            if settings.no_auth
            else RevocationCache(
                settings.auth_url, refresh_seconds=settings.revocation_refresh_seconds
            )
        )
        services = ComputeServices(
            settings=settings,
            store=store,
            files=JobFiles(settings.jobs_dir),
            publisher=publisher,
            capabilities=tracker,
            keys=PublicKeySource(
                key_path=settings.public_key_path,
                auth_url=settings.auth_url,
                revocations=revocations,
            ),
            metrics=metrics,
            live=live,
            created=created,
        )
        app.state.services = services
        stop_reaper = threading.Event()
        reaper = _start_lease_reaper(services, stop_reaper)
        if revocations is not None:
            await revocations.start()
        try:
            yield
        finally:
            if revocations is not None:
                await revocations.stop()
            stop_reaper.set()
            reaper.join(timeout=5)
            publisher.close()
            connection.stop()
            metrics.close()
            live.close()
            tracker.close()
            store.close()

    # /docs and /redoc with bundled assets; the document is made exact by OPENAPI_RULES.
    app = offline_app(title="CL Server compute service", version=__version__, lifespan=lifespan)
    app.add_middleware(UploadLimitMiddleware, max_bytes=settings.max_upload_bytes)

    @app.exception_handler(ApiError)
    async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.get("/", response_model=RootInfo, response_model_by_alias=True)
    def root(services: Services) -> RootInfo:
        enforced = services.access_state() == "enforced"
        settings = services.settings
        return RootInfo(
            guest_mode="off" if enforced else "on",
            auth_required=enforced,
            mqtt_host=settings.client_mqtt_host,
            mqtt_port=settings.client_mqtt_port,
        )

    @app.get("/capabilities", response_model=WorkerCapabilitiesResponse)
    def capabilities(services: Services) -> WorkerCapabilitiesResponse:
        return services.capabilities.summary()

    app.include_router(job_list_router)
    app.include_router(jobs_router)
    app.include_router(job_actions_router)
    app.include_router(admin_router)
    app.include_router(workers_router)
    app.include_router(metrics_router)
    app.include_router(live_router)
    install_dashboard(app)
    install_openapi(app, OPENAPI_RULES)
    return app
