"""The dashboard's static files (GET /dashboard and /dashboard/<name>), served safely.

Pure: no nameko, no werkzeug. `asset(name)` resolves a requested name inside
the dashboard folder only (no `..`, no hidden files, no absolute paths, no
symlinks leading out, only known file types) and returns its bytes, mimetype
and caching headers; anything else is `None`, which the gateway answers 404.
The page draws with the ECharts copy in `dashboard/vendor/` (no CDN: the
machine that runs it may have no internet).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "dashboard"
INDEX = "index.html"
MAX_NAME = 200

MIMETYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".md": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",          # LICENSE, NOTICE
}
# The page and its own code revalidate on every load (cheap with the ETag), so a
# deploy shows at once; the vendored library changes only when it is upgraded.
NO_CACHE = "no-cache"
VENDOR_CACHE = "public, max-age=86400"
# The page loads nothing from elsewhere, and says so to the browser. ECharts
# writes inline styles (tooltips) and may draw from data: URLs.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    mimetype: str
    etag: str

    @property
    def headers(self) -> dict:
        cache = VENDOR_CACHE if self.name.startswith("vendor/") else NO_CACHE
        headers = {"Cache-Control": cache, "ETag": self.etag, "X-Content-Type-Options": "nosniff"}
        if self.mimetype.startswith("text/html"):
            headers["Content-Security-Policy"] = CSP
        return headers

    def not_modified(self, if_none_match: str | None) -> bool:
        """The client's copy (If-None-Match) is this one."""
        if not if_none_match:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or self.etag in tags


def asset(name: str | None, root: Path = ROOT) -> Asset | None:
    """The file `name` (relative, '/'-separated) under `root`, or None if it is not one we serve."""
    relative = _safe_relative(name if name else INDEX)
    if relative is None:
        return None
    base = root.resolve()
    path = (base / relative).resolve()
    if base not in path.parents or not path.is_file():   # resolve() follows symlinks: nothing leads out
        return None
    mimetype = MIMETYPES.get(path.suffix.lower())
    if mimetype is None:
        return None
    stat = path.stat()
    return _load(str(path), relative, mimetype, stat.st_mtime_ns, stat.st_size)


def _safe_relative(name: str) -> str | None:
    if len(name) > MAX_NAME or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    parts = name.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    if ":" in parts[0]:            # a drive or scheme, never a file of ours
        return None
    return "/".join(parts)


@lru_cache(maxsize=64)
def _load(path: str, name: str, mimetype: str, mtime_ns: int, size: int) -> Asset:
    # Keyed on mtime and size as well, so an edited file is read again.
    with open(path, "rb") as handle:
        body = handle.read()
    return Asset(name=name, body=body, mimetype=mimetype,
                 etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def files(root: Path = ROOT) -> list[str]:
    """Every file served, relative to the dashboard folder (for tests and docs)."""
    out = []
    for directory, _, names in os.walk(root):
        for file_name in names:
            relative = Path(directory, file_name).relative_to(root).as_posix()
            if asset(relative, root) is not None:
                out.append(relative)
    return sorted(out)
