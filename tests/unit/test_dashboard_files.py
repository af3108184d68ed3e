"""The dashboard's static files: served from its folder only, with the right types."""
import os
import re

import pytest

from services.gateway import dashboard


def test_the_page_is_served_as_html_with_revalidation():
    page = dashboard.asset(None)
    assert page is not None and page == dashboard.asset("index.html")
    assert page.mimetype == "text/html; charset=utf-8"
    assert b'id="rendered"' in page.body and b"/dashboard/vendor/echarts.min.js" in page.body
    assert page.headers["Cache-Control"] == "no-cache" and page.headers["ETag"] == page.etag
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_vendored_library_is_javascript_with_its_licence():
    library = dashboard.asset("vendor/echarts.min.js")
    assert library is not None and library.mimetype.startswith("text/javascript")
    assert len(library.body) > 500_000 and b"Apache" in library.body[:2000]
    assert library.headers["Cache-Control"].startswith("public, max-age=")
    licence = dashboard.asset("vendor/LICENSE")
    assert licence is not None and licence.mimetype.startswith("text/plain") and b"Apache License" in licence.body
    assert dashboard.asset("dashboard.js").mimetype.startswith("text/javascript")
    assert dashboard.asset("dashboard.css").mimetype.startswith("text/css")


@pytest.mark.parametrize("name", [
    "../dashboard.py", "../service.py", "vendor/../../service.py", "..", "../", "/etc/passwd", "vendor/",
    "vendor", "./index.html", "vendor//echarts.min.js", "..\\service.py", "vendor\\echarts.min.js",
    "index.html\x00.js", ".hidden", "vendor/.hidden", "c:/windows/win.ini", "missing.js", "vendor/missing.js",
    "x" * 300,
])
def test_traversal_and_unknown_files_are_refused(name):
    assert dashboard.asset(name) is None


def test_nothing_outside_the_folder_is_reached_through_a_symlink(tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    root = tmp_path / "dashboard"
    root.mkdir()
    (root / "ok.txt").write_text("ok")
    os.symlink(tmp_path / "secret.txt", root / "leak.txt")
    (root / "run.py").write_text("print()")
    assert dashboard.asset("ok.txt", root).body == b"ok"
    assert dashboard.asset("leak.txt", root) is None
    assert dashboard.asset("run.py", root) is None       # not a type the dashboard serves
    assert dashboard.files(root) == ["ok.txt"]


def test_an_unchanged_file_is_not_sent_again():
    page = dashboard.asset("index.html")
    assert page.not_modified(page.etag) and page.not_modified(f'W/{page.etag}, "other"') and page.not_modified("*")
    assert not page.not_modified('"other"') and not page.not_modified(None)


def test_the_page_loads_nothing_from_the_internet():
    for name in ("index.html", "dashboard.js", "dashboard.css"):
        text = dashboard.asset(name).body.decode("utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I), name
        assert not re.search(r"""(fetch|import|url)\s*\(\s*["']?(https?:)?//""", text, re.I), name
    index = dashboard.asset("index.html").body.decode("utf-8")
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", index)
    assert scripts == ["/dashboard/vendor/echarts.min.js", "/dashboard/dashboard.js"]
    for src in scripts + re.findall(r"<link[^>]*\bhref=\"([^\"]+)\"", index):
        assert dashboard.asset(src.removeprefix("/dashboard/")) is not None, src


def test_the_gateway_serves_them_with_404_for_the_rest():
    from services.gateway import service

    class Request:
        def __init__(self, headers=None):
            self.headers = headers or {}

    found = service._dashboard_file(Request(), "vendor/echarts.min.js")
    assert found.status_code == 200 and found.mimetype == "text/javascript"
    assert found.headers["ETag"] and found.headers["X-Content-Type-Options"] == "nosniff"
    again = service._dashboard_file(Request({"If-None-Match": found.headers["ETag"]}), "vendor/echarts.min.js")
    assert again.status_code == 304 and again.data == b""
    missing = service._dashboard_file(Request(), "../service.py")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
