"""One uploaded document, read from a multipart form within the limits (the API's and the console's upload)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, UploadFile
from starlette.datastructures import UploadFile as FormFile

from phi.errors import BadRequest, PayloadTooLarge
from phi.settings import get_settings

MAX_FILENAME_CHARS = 255


async def count_file_parts(request: Request) -> int:
    """How many files the multipart form carries, under any field name. The form is parsed once per request
    (Starlette keeps it), so this reads what the route's own `File()` parameter was taken from."""
    form = await request.form()
    return sum(1 for _, value in form.multi_items() if isinstance(value, FormFile))


FileParts = Annotated[int, Depends(count_file_parts)]


def read_upload(file: UploadFile | None, file_parts: int, too_large_advice: str = "") -> tuple[str, bytes]:
    """The file's name and bytes. Refused with a reason: no file, more than one (one would otherwise be kept and
    the others dropped without a word), a name over MAX_FILENAME_CHARS, more than the upload limit."""
    if file is None:
        raise BadRequest("Choose a file to upload.")
    if file_parts > 1:
        raise BadRequest(f"The form carries {file_parts} files; upload one file at a time.")
    filename = file.filename or ""
    if len(filename) > MAX_FILENAME_CHARS:
        raise BadRequest(f"The file name is {len(filename):,} characters long; the limit is {MAX_FILENAME_CHARS}.")
    limit = get_settings().max_upload_bytes
    data = file.file.read(limit + 1)  # the body itself was cut off while streaming (phi.api.limits)
    if not filename and not data:  # what a browser sends when no file was chosen
        raise BadRequest("Choose a file to upload.")
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than the {limit:,}-byte limit{too_large_advice}.")
    return filename or "document", data
