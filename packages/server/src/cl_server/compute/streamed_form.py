"""Reading a job submission's form with its file streamed straight into the job directory.

Starlette's ``request.form()`` spools an upload into a temporary file (in memory up to 1 MiB, then
in the system temporary directory, which is RAM on systems with a tmpfs ``/tmp``) that the job
then has to copy. Here python-multipart's push parser hands the file's bytes to their final place
as they arrive, so a 2 GiB video is written once, on the data directory's disk.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from cl_server.compute.errors import ApiError

MAX_FIELD_BYTES = 1024 * 1024
"""Largest text field accepted (the same bound Starlette applies)."""

FILE_FIELD = "file"
"""The form field that carries the upload (PROTOCOL §3.2); a file under another name is ignored."""
WRITE_BATCH_BYTES = 1024 * 1024
"""Upload bytes held in memory before they are written out (per request)."""

TargetNamer = Callable[[str], Path]
"""Where the upload goes, given the client's file name."""


class MalformedFormError(ApiError):
    """The body is not a form this endpoint can read (400, as Starlette answers)."""


@dataclass
class ReceivedForm:
    """Text fields in arrival order, and the uploaded ``file`` if there was one."""

    fields: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    file_path: Path | None = None


class _FormSink:
    """python-multipart callbacks that collect fields and queue file bytes for writing.

    The callbacks run synchronously inside ``parser.write``; file bytes wait in ``pending`` until
    ``write_pending`` runs them in a worker thread, so the event loop never blocks on the disk.
    """

    def __init__(
        self, form: ReceivedForm, target_for: TargetNamer, *, max_fields: int, charset: str
    ) -> None:
        self.form = form
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self._target_for = target_for
        self._max_fields = max_fields
        self._charset = charset
        self._file: BinaryIO | None = None
        self._files_seen = 0
        self._part: Literal["field", "file", "ignored"] = "field"
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field_name = ""
        self._field_data = bytearray()

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._part = "field"
        self._field_data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise MalformedFormError(
                'The Content-Disposition header field "name" must be provided.'
            )
        self._field_name = self._decode(options[b"name"])
        if b"filename" in options:
            self._files_seen += 1
            if self._files_seen > 1:
                raise MalformedFormError("Too many files. Maximum number of files is 1.")
            if self._field_name != FILE_FIELD:
                self._part = "ignored"
                return
            self._part = "file"
            self.form.file_path = self._target_for(self._decode(options[b"filename"]))
        elif len(self.form.fields) >= self._max_fields:
            raise MalformedFormError(
                f"Too many fields. Maximum number of fields is {self._max_fields}."
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "file":
            self.pending.append(data[start:end])
            self.pending_bytes += end - start
            return
        if self._part == "ignored":
            return
        if len(self._field_data) + end - start > MAX_FIELD_BYTES:
            raise MalformedFormError(f"Part exceeded maximum size of {MAX_FIELD_BYTES // 1024}KB.")
        self._field_data += data[start:end]

    def on_part_end(self) -> None:
        if self._part == "field":
            self.form.fields.append((self._field_name, self._decode(bytes(self._field_data))))

    def write_pending(self) -> None:
        """Append the queued file bytes to the upload's file (opened on first use)."""
        chunks, self.pending = self.pending, []
        self.pending_bytes = 0
        if self._file is None:
            path = self.form.file_path
            assert path is not None  # bytes are queued only inside a file part
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("wb")
        self._file.writelines(chunks)

    def finish(self) -> None:
        """Write what is left (creating the file, even an empty one) and close it."""
        if self.form.file_path is not None:
            self.write_pending()
        self.close()

    @property
    def open(self) -> bool:
        return self._file is not None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _decode(self, raw: bytes) -> str:
        return raw.decode(self._charset, errors="replace")


@dataclass
class StreamedForm:
    """A form read to its end, with the upload's last bytes (all of a small one) not yet on
    disk: ``write_rest`` puts them there. Left to the caller so that it can do this in the same
    trip to the thread pool as its own work (a trip costs about 0.14 ms of CPU)."""

    form: ReceivedForm
    _sink: _FormSink | None = None

    def write_rest(self) -> None:
        """Blocking: write the upload's remaining bytes (creating the file, even an empty one)
        and close it. Call it once, from a worker thread."""
        if self._sink is not None:
            self._sink.finish()

    def discard(self) -> None:
        """Blocking: close the upload's file if it is open; removing it is the caller's."""
        if self._sink is not None:
            self._sink.close()


async def receive_form(
    request: Request, target_for: TargetNamer, *, max_fields: int
) -> StreamedForm:
    """Read the request's form; an uploaded file goes to ``target_for(client_filename)``.

    Bodies that are not multipart (an urlencoded form for a task without a file) are read with
    Starlette. On any error, here or later, the caller removes what was written (after
    ``discard``).
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        async with request.form(max_files=0, max_fields=max_fields) as form:
            return StreamedForm(
                ReceivedForm(fields=[(k, v) for k, v in form.multi_items() if isinstance(v, str)])
            )
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedFormError("Missing boundary in multipart.")
    form = ReceivedForm()
    sink = _FormSink(form, target_for, max_fields=max_fields, charset=_charset(options))
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": sink.on_part_begin,
            "on_part_data": sink.on_part_data,
            "on_part_end": sink.on_part_end,
            "on_header_field": sink.on_header_field,
            "on_header_value": sink.on_header_value,
            "on_header_end": sink.on_header_end,
            "on_headers_finished": sink.on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            # File bytes go to disk from the thread pool, in batches: a trip there per
            # received chunk (64 KiB or less) would cost more than the write itself.
            if sink.pending_bytes >= WRITE_BATCH_BYTES:
                await run_in_threadpool(sink.write_pending)
        parser.finalize()
    except BaseException as exc:
        if sink.open:
            await run_in_threadpool(sink.close)
        if isinstance(exc, FormParserError):
            raise MalformedFormError("Invalid multipart data.") from exc
        raise
    return StreamedForm(form, sink)


def _charset(options: dict[bytes, bytes]) -> str:
    raw = options.get(b"charset", b"utf-8").decode("latin-1")
    try:
        return codecs.lookup(raw).name
    except LookupError:
        return "latin-1"
