"""The OCR child process: renders PDF pages with PDFium and reads them with Tesseract, one JSON line a page.

It runs as a script (``python pdf_ocr_worker.py PDF TESSERACT MAX_PIXELS DPI MEMORY_BYTES PAGES``), never imported
by the server: rendering an attacker's page may take any time and memory, so it happens here, under a memory
limit, where the parent (tram_core.io.pdf_ocr) can kill it at a page's deadline. Only the standard library,
pypdfium2 and Pillow are used, so the script needs nothing from the repository on its path.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys


def main(argv: list[str]) -> int:
    """Read each listed page (0-based indexes, comma-separated) and print ``{"page": i, "text": ...}`` for it."""
    pdf_path, tesseract, max_pixels, dpi, memory_bytes, pages = argv
    resource.setrlimit(resource.RLIMIT_AS, (int(memory_bytes), int(memory_bytes)))  # Tesseract inherits it
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    document = pypdfium2.PdfDocument(pdf_path)
    for index in (int(page) for page in pages.split(",")):
        page = document[index]
        if pdfium_c.FPDFPage_CountObjects(page.raw) == 0:  # nothing drawn: a blank page needs no OCR
            result = {"page": index, "text": ""}
        else:
            result = _read_page(page, index, tesseract, float(max_pixels), float(dpi))
        page.close()
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        if "error" in result:
            return 1
    return 0


def _read_page(page, index: int, tesseract: str, max_pixels: float, dpi: float) -> dict:
    """One page rendered in grey at ``dpi`` (less when that would pass ``max_pixels``) and read by Tesseract."""
    width, height = page.get_size()
    area = max(width * height, 1.0)
    scale = max(min(dpi / 72, math.sqrt(max_pixels / area)), 0.01)
    image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
    portable_graymap = b"P5\n%d %d\n255\n" % image.size + image.tobytes()
    del image
    done = subprocess.run(
        [tesseract, "stdin", "stdout", "-l", "eng", "--psm", "3", "--dpi", str(max(round(scale * 72), 70))],
        input=portable_graymap, capture_output=True, check=False,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},  # one core a page: the server has other users
    )
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return {"page": index, "error": (detail[-1] if detail else f"exit status {done.returncode}")[:200]}
    return {"page": index, "text": done.stdout.decode("utf-8", "replace")}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
