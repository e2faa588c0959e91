"""Hostile input files made on the fly, for the hostile-input tests and benchmarks/hostile_input.py.

Every case is a file as an attacker could upload it: pathological text for the regular expressions and the
sentence splitter, files that expand (zip bombs, a million paragraphs, deep nesting), malformed datasets, and
truncated or bit-flipped copies of valid files of every format.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import dataclass

REFUSED = "refused"
IMPORTED = "imported"
EITHER = "either"


@dataclass(frozen=True)
class Case:
    """One hostile file: its name (the extension picks the parser), its bytes, and what must happen to it."""

    name: str
    data: bytes
    expect: str = EITHER
    reason: str = ""  # a fragment the refusal message must hold (the limit or setting it names)


# --- valid files to start from -------------------------------------------------------------------------------

PROSE = (
    "The actor sent spearphishing emails with malicious attachments. The loader injected code into explorer.exe "
    "and created a scheduled task for persistence. Credentials were dumped from LSASS memory with Mimikatz."
)


def docx_bytes(paragraphs: list[str] | None = None, document_xml: bytes | None = None) -> bytes:
    """A real DOCX written by python-docx; ``document_xml`` replaces its main part when given."""
    import docx

    document = docx.Document()
    for text in paragraphs or PROSE.split(". "):
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    if document_xml is None:
        return buffer.getvalue()
    return _replace_zip_member(buffer.getvalue(), "word/document.xml", document_xml)


def _replace_zip_member(archive: bytes, member: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == member else source.read(info.filename))
    return out.getvalue()


def _document_xml(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        f"{body}</w:body></w:document>"
    ).encode()


def pdf_bytes(lines: list[str] | None = None, pages: int = 1) -> bytes:
    """A small valid PDF whose pages draw ``lines`` in Helvetica (xref offsets computed)."""
    lines = lines or PROSE.split(". ")
    stream_lines = ["BT /F1 11 Tf 72 720 Td 14 TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream_lines.append(f"({escaped}.) Tj T*")
    stream_lines.append("ET")
    stream = "\n".join(stream_lines).encode("latin-1", "replace")
    page_ids = [4 + 2 * i for i in range(pages)]
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(f"{p} 0 R".encode() for p in page_ids) + b"] /Count "
        + str(pages).encode() + b" >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for p in page_ids:
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {p + 1} 0 R >>".encode())
        objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def encrypted_pdf_bytes() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def html_bytes() -> bytes:
    return (f"<html><head><title>Advisory</title></head><body><main><h1>Advisory</h1><p>{PROSE}</p>"
            "<ul><li>Phishing</li><li>Injection</li></ul></main></body></html>").encode()


def mjson_bytes() -> bytes:
    signal = "title: Test\n" + PROSE
    start = signal.index("The loader")
    return json.dumps({"signal": signal, "asets": [
        {"type": "Process Injection (T1055)", "annots": [[start, start + 40]]}]}).encode()


def multilabel_bytes() -> bytes:
    return json.dumps([{"sentence": "The loader injected code.", "labels": ["T1055"], "doc_title": "A"},
                       {"sentence": "Nothing here.", "labels": [], "doc_title": "A"}]).encode()


def csv_bytes() -> bytes:
    return b"sentence,labels\nThe loader injected code.,T1055\nNothing here.,\n"


SEEDS = {
    "seed.docx": docx_bytes, "seed.pdf": pdf_bytes, "seed.html": html_bytes, "seed.mjson": mjson_bytes,
    "seed.json": multilabel_bytes, "seed.csv": csv_bytes, "seed.txt": lambda: PROSE.encode(),
    "seed.md": lambda: ("# Title\n\n" + PROSE).encode(),
}


# --- hostile cases -------------------------------------------------------------------------------------------


def pathological_texts(size: int) -> dict[str, str]:
    """Text that made regular expressions or the splitter backtrack or go quadratic, ``size`` characters each."""
    return {
        "periods": "." * size,
        "spaces": "a" + " " * size + "!",
        "hashes": "#" * size,
        "brackets": "(" * (size // 2) + ")" * (size // 2),
        "giant-line": ("word " * (size // 5)).strip(),
        "md-heading-spaces": "# a" + " " * size + "!",
        "dots-and-spaces": ". " * (size // 2),
        "ellipses": "…" * size,
        "tabs-and-pipes": "a\t|" * (size // 3),
        "newlines": "x\n" + "\n" * size,
        "bullets": "• " * (size // 2),
        "initials": "A. " * (size // 3),
        "abbreviations": "e.g. " * (size // 5),
        "code-fence": "```" + " " * size,
        "closers": ".\"')]" * (size // 5),
        "citations": "a.[1]" * (size // 5),
    }


def expansion_cases(limits) -> list[Case]:
    """Small files that expand past a limit: each must be refused, naming the limit's setting."""
    many_paragraphs = "".join("<w:p><w:r><w:t>a.</w:t></w:r></w:p>" for _ in range(limits.max_sentences + 50))
    empty_paragraphs = "<w:p/>" * (limits.max_sentences * 10 + 50)
    bomb = _zip_bomb(limits.max_unpacked_bytes + 2**20)
    long_text = ("Word " * (limits.max_text_chars // 5 + 100)).encode()
    many_sentences = ("Go. " * (limits.max_sentences + 50)).encode()
    deep_html = min(limits.max_markup_tags // 4, 20_000)  # deep, yet under the tag limit
    rows = [{"sentence": f"Sentence {i}.", "labels": [], "doc_title": "one"} for i in range(limits.max_sentences + 5)]
    return [
        # Whichever limit a DOCX of many paragraphs reaches first (tags or sentences), it names its setting.
        Case("million-paragraphs.docx", docx_bytes(document_xml=_document_xml(many_paragraphs)), REFUSED,
             "the setting is TRAM_MAX_"),
        Case("empty-paragraphs.docx", docx_bytes(document_xml=_document_xml(empty_paragraphs)), REFUSED,
             "the setting is TRAM_MAX_"),
        Case("zip-bomb.docx", bomb, REFUSED, "TRAM_MAX_UNPACKED_MB"),
        Case("long.md", long_text, REFUSED, "TRAM_MAX_TEXT_CHARS"),
        Case("long.html", b"<p>" + long_text + b"</p>", REFUSED, "TRAM_MAX_TEXT_CHARS"),
        Case("many-sentences.txt", many_sentences, REFUSED, "TRAM_MAX_SENTENCES"),
        Case("many-rows.json", json.dumps(rows).encode(), REFUSED, "TRAM_MAX_SENTENCES"),
        Case("deep.json", b"[" * 100_000 + b"]" * 100_000, REFUSED, "TRAM_MAX_NESTING"),
        Case("deep-objects.json", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, REFUSED, "TRAM_MAX_NESTING"),
        Case("deep.mjson", b'{"signal": "x", "asets": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", REFUSED,
             "TRAM_MAX_NESTING"),
        Case("deep.html", b"<div>" * deep_html + b"text" + b"</div>" * deep_html, REFUSED, "TRAM_MAX_NESTING"),
        Case("dense-elements.docx", docx_bytes(document_xml=_document_xml("<w:p/>" * (limits.max_markup_tags * 4))),
             REFUSED, "TRAM_MAX_MARKUP_TAGS"),
        Case("many-tags.html", b"<p>a</p>" * (limits.max_markup_tags // 2 + 10), REFUSED, "TRAM_MAX_MARKUP_TAGS"),
        # Just under the limit: the most work a page may cost; it must still finish in time.
        Case("most-tags.html", b"<p>Go.</p>" * (limits.max_markup_tags // 2 - 10), EITHER),
    ]


def _zip_bomb(unpacked: int) -> bytes:
    """A DOCX-looking zip whose document part inflates to ``unpacked`` bytes of spaces (about 1,000:1)."""
    base = docx_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                target.writestr(info.filename, source.read(info.filename))
        with target.open("word/document.xml", "w") as member:
            chunk = b" " * 2**20
            for _ in range(unpacked // len(chunk)):
                member.write(chunk)
    return out.getvalue()


def malformed_cases() -> list[Case]:
    """Hand-made bad files: each is refused with a reason (or, where noted, imported cleanly)."""
    signal = "title: T\n" + PROSE
    good_span = [10, 30]

    def mjson(annots) -> bytes:
        return json.dumps({"signal": signal, "asets": [{"type": "Process Injection (T1055)", "annots": annots}]}).encode()

    return [
        Case("big-integer.json", b'[{"sentence": "x", "labels": [], "n": ' + b"9" * 5000 + b"}]", REFUSED),
        Case("surrogate.json", b'[{"sentence": "bad \\ud800 text", "labels": []}]', REFUSED, "surrogate"),
        Case("surrogate-title.json", b'[{"sentence": "ok", "labels": [], "doc_title": "\\udfff"}]', REFUSED,
             "surrogate"),
        Case("surrogate.mjson", b'{"signal": "x \\ud800 y", "asets": []}', REFUSED, "surrogate"),
        Case("span-three-ints.mjson", mjson([[0, 1, 2]]), REFUSED, "[start, end]"),
        Case("span-bool.mjson", mjson([[True, 5]]), REFUSED, "[start, end]"),
        Case("span-negative.mjson", mjson([[-1, 5]]), REFUSED),
        Case("span-reversed.mjson", mjson([[9, 2]]), REFUSED),
        Case("span-past-end.mjson", mjson([[0, 10**9]]), REFUSED),
        Case("span-four.mjson", mjson([good_span + ["note", "extra"]]), REFUSED),
        Case("signal-number.mjson", b'{"signal": 5, "asets": []}', REFUSED),
        Case("not-json.json", b"{this is not json", REFUSED),
        Case("nul.json", b'[{"sentence": "a\x00b", "labels": []}]', REFUSED),
        Case("utf16.json", '[{"sentence": "x", "labels": []}]'.encode("utf-16"), REFUSED),
        Case("scalar.json", b"42", REFUSED),
        Case("labels-object.json", b'[{"sentence": "x", "labels": {"a": 1}}]', REFUSED),
        Case("unknown-technique.csv", b"sentence,labels\nx,T9999\n", REFUSED, "T9999"),
        Case("huge-field.csv", b"sentence,labels\n" + b"a" * 300_000 + b",\n", EITHER),
        Case("nul.csv", b"sentence,labels\nab\x00c,\n", EITHER),
        Case("no-header.csv", b"\n\n\n", REFUSED),
        Case("random.html", random.Random(1).randbytes(4000), REFUSED, "binary"),
        Case("random.txt", random.Random(2).randbytes(4000), REFUSED, "binary"),
        Case("random-short.md", bytes(range(1, 32)) * 3, REFUSED, "binary"),
        Case("random.pdf", random.Random(3).randbytes(4000), REFUSED),
        Case("random.docx", random.Random(4).randbytes(4000), REFUSED),
        Case("header-only.pdf", b"%PDF-1.7\n", REFUSED),
        Case("no-text.pdf", pdf_bytes(lines=[" "]), REFUSED),
        Case("encrypted.pdf", encrypted_pdf_bytes(), REFUSED, "password"),
        Case("empty-zip.docx", _empty_zip(), REFUSED),
        Case("bad-xml.docx", docx_bytes(document_xml=b"<w:document><unclosed>"), REFUSED),
        Case("billion-laughs.docx", docx_bytes(document_xml=_billion_laughs()), EITHER),
        Case("script-only.html", b"<html><script>" + b"alert(1);" * 1000 + b"</script></html>", REFUSED),
        Case("entity-surrogate.html", b"<p>Attackers used &#xD800; payloads in the wild.</p>", IMPORTED),
        Case("huge-attribute.html", b'<p title="' + b"x" * 1_000_000 + b'">An actor ran a tool.</p>', IMPORTED),
        Case("unclosed.html", b"<div><p><b><i>" * 2_000 + b"An actor ran a tool.", EITHER),
        Case("empty.txt", b"", REFUSED),
        Case("whitespace.txt", b" \n\t\r\n  ", REFUSED),
        Case("punctuation.txt", b".,;:!?" * 1000, REFUSED),
        Case("bad-utf8.txt", b"An actor \xff\xfe ran \xc3 a tool.", IMPORTED),
        Case("utf16-bom.txt", "\ufeffAn actor ran a tool.".encode("utf-16"), IMPORTED),
        Case("controls.txt", b"An actor\x01\x02 ran a tool." + b"\x07" * 3, EITHER),
        Case("no-extension", b"An actor ran a tool.", REFUSED, "unsupported"),
        Case("pdf-named.exe", pdf_bytes(), REFUSED, "unsupported"),
        Case("json-as-html.html", multilabel_bytes(), EITHER),
    ]


def _empty_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w"):
        pass
    return out.getvalue()


def _billion_laughs() -> bytes:
    """An XML entity bomb: a9 expands to 10**9 'lol's if the parser resolves entities."""
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    return (f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
            "<w:p><w:r><w:t>&a9;</w:t></w:r></w:p></w:body></w:document>").encode()


def mutated_cases(per_seed: int, seed: int = 0) -> list[Case]:
    """Truncated and bit-flipped copies of a valid file of every format (seeded, so every run tries the same)."""
    rng = random.Random(seed)
    cases = []
    for name, build in SEEDS.items():
        data = build()
        stem, ext = name.rsplit(".", 1)
        for k in range(per_seed):
            if k % 2 == 0:
                cut = rng.randrange(1, len(data))
                cases.append(Case(f"{stem}-cut{cut}.{ext}", data[:cut]))
            else:
                flipped = bytearray(data)
                for _ in range(rng.randint(1, 20)):
                    flipped[rng.randrange(len(flipped))] = rng.randrange(256)
                cases.append(Case(f"{stem}-flip{k}.{ext}", bytes(flipped)))
    return cases


def pathological_cases(size: int) -> list[Case]:
    """Every pathological text as a .txt, .md, .html and a CSV cell; each imports or is refused, quickly."""
    cases = []
    for kind, text in pathological_texts(size).items():
        raw = text.encode()
        cases.append(Case(f"{kind}.txt", raw))
        cases.append(Case(f"{kind}.md", raw))
        cases.append(Case(f"{kind}.html", b"<p>" + raw + b"</p>"))
        cell = text.replace('"', '""')
        cases.append(Case(f"{kind}.csv", f'sentence,labels\n"{cell}",\n'.encode()))
    return cases


def all_cases(limits, size: int, mutations_per_seed: int, seed: int = 0) -> list[Case]:
    """The whole hostile corpus: pathological text, expansion, malformed files and mutations of valid ones."""
    return (pathological_cases(size) + expansion_cases(limits) + malformed_cases()
            + mutated_cases(mutations_per_seed, seed))
