"""OCR of PDF pages without a text layer: Tesseract in a child process, page by page, each within a deadline."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from tram_core.io.extract_common import IngestError
from tram_core.io.limits import InputLimits

Progress = Callable[[int, int], None]  # progress(pages read so far, pages to read)

OCR_PACKAGE = "tesseract-ocr"
OCR_DPI = 300
# A page is rendered at OCR_DPI unless that passes this many pixels (a hostile page may claim to be 200 inches
# wide): one byte a pixel in grey, and Tesseract keeps a few copies.
OCR_MAX_PIXELS = 40_000_000
OCR_MEMORY_BYTES = 3 * 2**30  # the child's address-space limit, Tesseract included
_WORKER = Path(__file__).with_name("pdf_ocr_worker.py")


def tesseract_path() -> str | None:
    """The Tesseract program (``TRAM_TESSERACT`` names another), or None when it is not installed."""
    return shutil.which(os.environ.get("TRAM_TESSERACT") or "tesseract")


def missing_tesseract_hint() -> str:
    """What to install for OCR, in one clause."""
    return f"OCR needs Tesseract, which is not installed (install the {OCR_PACKAGE} package)"


def ocr_pages(data: bytes, indexes: list[int], filename: str, limits: InputLimits,
              progress: Progress | None = None) -> dict[int, str]:
    """The text Tesseract reads on each page of ``indexes`` (0-based): page index -> text ("" for a blank page).

    Every page must finish within ``limits.ocr_page_timeout_s`` (rendering included), or the child is killed and
    the file refused; ``progress(done, len(indexes))`` is called after each page.
    """
    tesseract = tesseract_path()
    if tesseract is None:
        raise IngestError(f"{filename}: {missing_tesseract_hint()}")
    with tempfile.TemporaryDirectory(prefix="tram-ocr-") as folder:
        pdf_path = Path(folder) / "report.pdf"
        pdf_path.write_bytes(data)
        errors = (Path(folder) / "errors.txt").open("wb")
        command = [sys.executable, "-I", str(_WORKER), str(pdf_path), tesseract, str(OCR_MAX_PIXELS), str(OCR_DPI),
                   str(OCR_MEMORY_BYTES), ",".join(str(index) for index in indexes)]
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                 start_new_session=True)  # its own process group: a kill takes Tesseract too
        try:
            return _collect(child, indexes, filename, limits, progress, Path(folder) / "errors.txt")
        finally:
            _stop(child)
            errors.close()


def _collect(child: subprocess.Popen, indexes: list[int], filename: str, limits: InputLimits,
             progress: Progress | None, errors_path: Path) -> dict[int, str]:
    """Read the child's line for each page, each within the page deadline."""
    texts: dict[int, str] = {}
    lines = _LineReader(child.stdout)
    for done, index in enumerate(indexes, start=1):
        line = lines.next_line(deadline=time.monotonic() + limits.ocr_page_timeout_s)
        if line is None:
            if child.poll() is None:
                raise limits.ocr_timeout(index + 1, filename)
            raise IngestError(f"{filename}: OCR failed on page {index + 1} ({_child_failure(child, errors_path)})")
        result = json.loads(line)
        if "error" in result:
            raise IngestError(f"{filename}: OCR failed on page {index + 1} ({result['error']})")
        texts[index] = result["text"]
        if progress is not None:
            progress(done, len(indexes))
    return texts


def _child_failure(child: subprocess.Popen, errors_path: Path) -> str:
    """Why the child stopped early, in a few words: out of memory, killed, or the last line it wrote."""
    code = child.wait()
    tail = errors_path.read_bytes()[-2000:].decode("utf-8", "replace").strip().splitlines()
    last = tail[-1][:200] if tail else ""
    if "MemoryError" in last or code == -signal.SIGKILL or "bad_alloc" in last:
        return f"it needed more than {OCR_MEMORY_BYTES // 2**30} GB of memory"
    return last or f"the OCR process ended with status {code}"


def _stop(child: subprocess.Popen) -> None:
    """Kill the child and everything it started (Tesseract), unless it already ended."""
    if child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


class _LineReader:
    """Lines from a pipe, each awaited until a deadline (a blocking readline could wait forever)."""

    def __init__(self, pipe) -> None:
        self._fd = pipe.fileno()
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._closed = False

    def next_line(self, deadline: float) -> str | None:
        """The next line, or None when the pipe closed or the deadline passed first."""
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if self._closed or left <= 0 or not self._selector.select(timeout=left):
                return None
            chunk = os.read(self._fd, 1 << 16)
            self._buffer += chunk
            self._closed = not chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8")
