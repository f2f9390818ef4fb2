"""Attachments: osTicket's `attachment` rows (object type H thread entry, C canned
response, F FAQ) with their `file`, whose content is in the database (`file_chunk`,
backend D) or on disk (backend F, under --attachments-dir). Content is stored once per
SHA-256 like ours (`threads.services.file_store`), before the batch's transaction; a
file that cannot be found is a warning, and the entry or article comes over without it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from threads.models import StoredFile, stored_file_path
from threads.services import file_store

from .base import Context


@dataclass(frozen=True)
class SourceFile:
    attachment_id: int
    object_id: int
    file_id: int
    name: str
    type: str
    size: int
    key: str
    backend: str
    inline: bool


def attachments_of(
    ctx: Context, type_code: str, object_ids: list[int]
) -> dict[int, list[SourceFile]]:
    """{object id: its attachments} for objects of one type (one SELECT)."""
    ids = [i for i in dict.fromkeys(object_ids) if i]
    if not ids or not ctx.source.has("attachment"):
        return {}
    ctx.source.require("attachment", ["object_id", "type", "file_id", "name", "inline"])
    ctx.source.require("file", ["type", "size", "key", "bk", "name"])
    out: dict[int, list[SourceFile]] = {}
    marks = ", ".join(["%s"] * len(ids))
    rows = ctx.source.query(
        "SELECT a.id, a.object_id, a.file_id, a.name, a.inline, f.type, f.size, f.`key`, f.bk,"
        f" f.name AS file_name FROM {ctx.source.table('attachment')} a"
        f" JOIN {ctx.source.table('file')} f ON f.id = a.file_id"
        f" WHERE a.type = %s AND a.object_id IN ({marks}) ORDER BY a.id",
        [type_code, *ids],
    )
    for r in rows:
        out.setdefault(r["object_id"], []).append(
            SourceFile(
                attachment_id=r["id"],
                object_id=r["object_id"],
                file_id=r["file_id"],
                name=(r["name"] or r["file_name"] or f"file-{r['file_id']}")[:255],
                type=(r["type"] or "application/octet-stream")[:128],
                size=int(r["size"] or 0),
                key=r["key"] or "",
                backend=r["bk"] or "D",
                inline=bool(r["inline"]),
            )
        )
    return out


def _content(ctx: Context, f: SourceFile) -> bytes | None:
    if f.backend == "D":
        rows = ctx.source.query(
            f"SELECT filedata FROM {ctx.source.table('file_chunk')}"
            " WHERE file_id = %s ORDER BY chunk_id",
            [f.file_id],
            binary=["filedata"],
        )
        if not rows and f.size:
            return None
        return b"".join(bytes(r["filedata"]) for r in rows)
    base = ctx.options.attachments_dir
    if base is None:
        ctx.report.warn(
            f"attachments on disk (backend {f.backend}) need --attachments-dir", f.file_id
        )
        return None
    for candidate in (base / f.key[:1] / f.key, base / f.key):
        if f.key and candidate.is_file():
            return candidate.read_bytes()
    return None


def store(ctx: Context, wanted: list[SourceFile]) -> dict[int, StoredFile]:
    """{osTicket file id: our stored file} for these attachments; each file read and
    stored once (mapped as kind `file`, so a later run reads it no more)."""
    by_id = {f.file_id: f for f in wanted}
    known = ctx.maps.get("file", by_id)
    found = {int(k): m.object_id for k, m in known.items()}
    stored = {s.pk: s for s in StoredFile.objects.filter(pk__in=found.values())}
    out = {fid: stored[oid] for fid, oid in found.items() if oid in stored}
    new: list[tuple[object, int, str]] = []
    for fid, f in by_id.items():
        if fid in out:
            continue
        content = _content(ctx, f)
        if content is None:
            where = "in the database" if f.backend == "D" else "under --attachments-dir"
            ctx.report.warn(
                f"attachment file missing {where}: not imported", f"{f.name} (file {fid})"
            )
            continue
        if f.size and len(content) != f.size:
            ctx.report.warn("attachment size differs from osTicket's record", fid)
        out[fid] = _stored(ctx, content, f.type)
        new.append((fid, out[fid].pk, ""))
    ctx.maps.record("file", StoredFile, new, shared=True)
    return out


def _stored(ctx: Context, content: bytes, content_type: str) -> StoredFile:
    if not ctx.options.dry_run:
        return file_store(content=content, content_type=content_type)
    # a dry run writes the row (rolled back with everything else), never the content
    sha = hashlib.sha256(content).hexdigest()
    existing = StoredFile.objects.filter(sha256=sha).first()
    if existing is not None:
        return existing
    row = StoredFile(sha256=sha, size=len(content), content_type=content_type)
    row.file.name = stored_file_path(row, "")
    row.save()
    return row


def files_dir(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None
