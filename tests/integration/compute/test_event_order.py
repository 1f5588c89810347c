"""A worker never announces ``processing`` ahead of the job's ``queued`` event."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from cl_client.models import JobEvent
from cl_client.topics import JOB_EVENTS_TOPIC
from cl_server.mqtt.events import WORKER_WAKE_TOPIC
from cl_server.plugins.registry import get_spec
from cl_server.settings import ComputeSettings
from cl_server.store import JobStore, NewJob
from cl_server.timeutil import now_ms
from tests.support.event_recorder import recording_events
from tests.support.jobs import wait_for_status
from tests.support.media import make_jpeg
from tests.support.stack import running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def test_processing_waits_for_a_late_queued_event(tmp_path: Path) -> None:
    """The gap between the compute service's commit and its ``queued`` event, made wide.

    The job goes into the store directly and its ``queued`` event is published only once the
    worker has claimed it: the worker must hold ``processing`` back until that event has passed.
    """
    image = make_jpeg(tmp_path / "late.jpg")
    with running_stack(tmp_path, workers=1, tasks=["hash"]) as stack:
        # It stands in for the compute service's late `queued` event: a service publication.
        with recording_events(
            stack.mqtt_host, stack.mqtt_port, credentials=stack.mqtt_credentials
        ) as recorder:
            job_id = str(uuid.uuid4())
            settings = ComputeSettings(data_dir=stack.data_dir)
            (settings.jobs_dir / job_id / "input").mkdir(parents=True)
            shutil.copy(image, settings.jobs_dir / job_id / "input" / "late.jpg")
            spec = get_spec("hash")
            assert spec is not None
            params = spec.params_model()
            stored = {
                **spec.stored_params(params),
                "input_path": "input/late.jpg",
                "output_path": spec.output_path(params, "late.jpg"),
            }
            with JobStore.open(settings.database_url) as store:
                store.create_job(NewJob(job_id, "hash", stored, priority=5, created_at=now_ms()))

                # Idle workers poll the store about once a second: wait for the claim, closely.
                def claimed() -> bool:
                    record = store.get_job(job_id)
                    return record is None or record.status != "queued"

                wait_until(
                    claimed,
                    30,
                    "the worker never claimed the job",
                    interval=0.005,
                )
            queued = JobEvent(job_id=job_id, event_type="queued", timestamp=now_ms(), progress=0)
            # As EventPublisher sends it: the public event, then the workers' wake-up copy.
            recorder.publish(JOB_EVENTS_TOPIC, queued.model_dump_json())
            recorder.publish(WORKER_WAKE_TOPIC, queued.model_dump_json())
            assert wait_for_status(stack.compute_url, job_id, timeout=30)["status"] == "completed"
            assert recorder.wait_for(lambda: "completed" in recorder.kinds(job_id), timeout=10), (
                recorder.events
            )
        kinds = recorder.kinds(job_id)
        assert kinds[:2] == ["queued", "processing"], kinds
