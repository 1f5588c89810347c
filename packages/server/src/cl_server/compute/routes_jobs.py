"""``/jobs*`` endpoints of PROTOCOL §3.2: submit, get, delete, download.

With auth enforced each job records its submitter (``created_by``) and non-admins reach only
their own jobs (``VisibleJob``); the list, cancel and retry live in ``routes_job_list`` and
``routes_job_actions``.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from cl_client.models import JobCreatedResponse, JobResponse
from cl_server.compute.dependencies import JobsCaller, Services, VisibleJob, job_not_found
from cl_server.compute.errors import NotFoundError
from cl_server.compute.services import ComputeServices
from cl_server.compute.streamed_form import StreamedForm, receive_form
from cl_server.compute.submission import ParsedSubmission, parse_submission, safe_filename
from cl_server.lifecycle import INPUT_DIR
from cl_server.openapi import content_response, error_responses
from cl_server.plugins.registry import get_spec
from cl_server.store import NewJob
from cl_server.timeutil import now_ms

router = APIRouter()

MAX_FORM_FIELDS = 64


def _create_job(
    services: ComputeServices,
    job_id: str,
    task_type: str,
    submission: ParsedSubmission,
    created_by: str | None,
) -> JobCreatedResponse:
    """Store the job whose upload (if any) is already in its ``input/`` directory."""
    spec = get_spec(task_type)
    assert spec is not None
    params: dict[str, object] = dict(spec.stored_params(submission.params))
    if submission.filename is not None:
        params["input_path"] = f"{INPUT_DIR}/{submission.filename}"
    else:
        services.files.job_dir(job_id).mkdir(parents=True, exist_ok=True)
    params["output_path"] = spec.output_path(submission.params, submission.filename)
    try:
        record = services.store.create_job(
            NewJob(
                job_id=job_id,
                task_type=task_type,
                params=params,
                priority=submission.priority,
                created_at=now_ms(),
                created_by=created_by,
            )
        )
    except BaseException:
        shutil.rmtree(services.files.job_dir(job_id), ignore_errors=True)
        raise
    # Stored: from here on the files belong to the job, whatever happens to this request.
    services.created.remember(record)
    services.publisher.job_event(job_id, "queued", 0)
    return JobCreatedResponse(job_id=job_id, status="queued", task_type=task_type)


@router.post("/jobs/{task_type}", response_model=JobCreatedResponse)
async def submit_job(
    task_type: str, request: Request, services: Services, caller: JobsCaller
) -> JobCreatedResponse:
    # The form is read here, after the access check, so unauthorised uploads are never parsed.
    spec = get_spec(task_type)
    if spec is None:
        raise NotFoundError(f"Unknown task type: {task_type}")
    job_id = str(uuid.uuid4())
    job_dir = services.files.job_dir(job_id)
    received: StreamedForm | None = None
    try:
        received = await receive_form(
            request,
            lambda client_name: job_dir / INPUT_DIR / safe_filename(client_name),
            max_fields=MAX_FORM_FIELDS,
        )
        submission = parse_submission(spec, received.form)
    except BaseException:
        # Bad form, 413 or a client gone mid-upload: keep no partial upload.
        await run_in_threadpool(_discard_upload, received, job_dir)
        raise

    def store() -> JobCreatedResponse:
        # One trip to the thread pool for the upload's last bytes and the job's row.
        try:
            received.write_rest()
        except BaseException:
            _discard_upload(received, job_dir)
            raise
        # caller.user_id is set only when auth is enforced, so other modes store no owner.
        return _create_job(services, job_id, task_type, submission, caller.user_id)

    return await run_in_threadpool(store)


def _discard_upload(received: StreamedForm | None, job_dir: Path) -> None:
    if received is not None:
        received.discard()
    shutil.rmtree(job_dir, ignore_errors=True)


@router.get("/jobs/{job_id}", response_model=JobResponse)
async def get_job(job: VisibleJob, services: Services) -> JobResponse:
    # async: everything here is in memory (VisibleJob read the row in the thread pool).
    response = job.to_response()
    if response.status == "queued":
        # The job keeps waiting (a worker may come); this only says why nothing picks it up.
        response.waiting_reason = services.capabilities.waiting_reason(response.task_type)
    return response


@router.delete("/jobs/{job_id}", status_code=204)
def delete_job(job: VisibleJob, services: Services) -> Response:
    if not services.store.delete_job(job.job_id):
        raise job_not_found(job.job_id)
    # A worker still running it notices at its next lease renewal and stops.
    services.files.remove(job.job_id)
    return Response(status_code=204)


@router.get(
    "/jobs/{job_id}/files/{file_path:path}",
    responses={
        **content_response(
            ("application/octet-stream",),
            {"type": "string", "format": "binary"},
            "The file's bytes, as an attachment named after the file",
        ),
        **error_responses(
            400,
            403,
            404,
            s400="The path is a directory, too long, or cannot be resolved",
            s403="Insufficient permissions, or the path leads outside the job directory",
            s404="No such job, or no such file in it",
        ),
    },
)
def download_job_file(job: VisibleJob, file_path: str, services: Services) -> FileResponse:
    path = services.files.resolve_download(job.job_id, file_path)
    return FileResponse(path, media_type="application/octet-stream", filename=path.name)
