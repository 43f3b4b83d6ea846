"""A document's names: the one it is shown and cited under (the uploaded file's own name, `document_name`) and
the one its bytes are stored under in S3, `documents/{org_id}/{document_id}/{safe name}` (`object_key`). Shared by
the API (uploads), the ingest pipeline and the workflows that cite documents, so it sits below them all."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePath, PurePosixPath
from uuid import UUID

from phi.names import DOCUMENTS_PREFIX

# How long a pre-signed upload URL stays valid; the sweeper expires a document whose upload never came.
UPLOAD_URL_SECONDS = 900


MAX_DOCUMENT_NAME_CHARS = 255
# Kept in a name's shortened form: an extension of at most this many characters ('.docx', '.markdown').
_MAX_KEPT_SUFFIX_CHARS = 16
# Dropped from names: control characters (a line break would split a report's citation line), format characters
# (a right-to-left override shows 'SOP\u202excod.exe' as 'SOPexe.docx') and lone surrogates (not storable text).
_UNSHOWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def object_key(org_id: UUID, document_id: UUID, filename: str) -> str:
    return f"{DOCUMENTS_PREFIX}{org_id}/{document_id}/{safe_filename(document_name(filename))}"


def document_id_from_key(key: str) -> UUID | None:
    parts = key.removeprefix(DOCUMENTS_PREFIX).split("/")
    try:
        return UUID(parts[1]) if key.startswith(DOCUMENTS_PREFIX) and len(parts) >= 3 else None
    except ValueError:
        return None


def safe_filename(filename: str) -> str:
    """The name as an S3 key's last part: ASCII letters, digits, '.', '_', '-' and blanks only (every other
    character becomes '_'). Only the storage key uses it: documents uploaded before names were kept as uploaded
    were also shown under it, which `matching_names` still accepts."""
    name = PurePath(filename.replace("\\", "/")).name
    return re.sub(r"[^A-Za-z0-9._ -]", "_", name).strip() or "document"


def document_name(filename: str) -> str:
    """The name a document is shown and cited under, and that `threshold_sources` names it by: the uploaded file's
    own name ('Outbound SOP (v2) Zoë & Co.docx'), made one comparable text — NFC (macOS sends 'ë' as 'e' and a
    combining mark; the same name typed into a form is one character), its last path part only (a client may send
    'C:\\SOPs\\x.docx' or '../x.docx': no name leads anywhere), without control and format characters, trimmed,
    and shortened to MAX_DOCUMENT_NAME_CHARS keeping its extension. 'document' when nothing is left."""
    text = "".join(
        " " if char.isspace() else char
        for char in unicodedata.normalize("NFC", filename)
        if char.isspace() or unicodedata.category(char) not in _UNSHOWN_CATEGORIES
    )
    name = PurePosixPath(text.replace("\\", "/")).name.strip()
    return _shortened(name) or "document"


def _shortened(name: str) -> str:
    if len(name) <= MAX_DOCUMENT_NAME_CHARS:
        return name
    suffix = PurePosixPath(name).suffix
    if len(suffix) > _MAX_KEPT_SUFFIX_CHARS:
        suffix = ""
    return name[: MAX_DOCUMENT_NAME_CHARS - len(suffix)].rstrip() + suffix


def matching_names(named: str, stored: Iterable[str]) -> list[str]:
    """The stored document names that `named` (a name typed into the agent's configuration) refers to: the same
    name once both are normalised (document_name); failing that, the same storage-safe form, so that a document
    stored before names were kept as uploaded ('Outbound SOP _v2_ _ Zo_ _ Co.docx') answers to its original name,
    and a configuration that names it that way still finds it uploaded again. The loose form only when no name
    matches exactly (it makes 'Zoë' and 'Zoé' alike), and only where one side is such an old name: 'Outbound SOP
    (draft).md' never answers for 'Outbound SOP [draft].md', another document uploaded since."""
    names = list(stored)
    wanted = document_name(named)
    exact = [name for name in names if document_name(name) == wanted]
    if exact:
        return exact
    safe = safe_filename(wanted)
    named_the_old_way = wanted == safe
    return [
        name for name in names if safe_filename(name) == safe and (named_the_old_way or safe_filename(name) == name)
    ]
