"""Layout noise blocks (code, YARA/Sigma rules, indicator lists and tables): found whole, named, kept out of prose,
in linear time, and on the real corpus almost never over an annotated span."""

from __future__ import annotations

import json
import time

import pytest

from tests.hostile_cases import pathological_texts
from tests.io.noise_samples import COMMANDS, PROSE_AFTER, PROSE_BEFORE, SHAPES, YARA, report_with
from tram_core.io.noise_blocks import SENTENCE_KINDS, block_title, find_noise_blocks
from tram_core.io.report_split import sentence_kinds, split_marked
from tram_core.io.sentences import split_sentences
from tram_core.store.schema import SENTENCE_KINDS as STORED_KINDS


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_real_shape_is_one_marked_block_between_whole_sentences(shape):
    block, kind, title = SHAPES[shape]
    text = report_with(block)
    spans = split_marked(text)
    assert [s.kind for s in spans] == ["text", kind, "text"]
    assert spans[0].text == PROSE_BEFORE and spans[2].text == PROSE_AFTER
    assert text[spans[1].start : spans[1].end] == block.strip()
    assert block_title(kind, text[spans[1].start : spans[1].end]).startswith(title)
    for span in spans:
        assert span.text == " ".join(text[span.start : span.end].split())


def test_a_yara_rule_is_one_sentence_not_seventy():
    text = report_with(YARA)
    assert len(split_sentences(text)) > 60  # what the splitter alone made of it
    spans = split_marked(text)
    assert len(spans) == 3 and block_title("rule", text[spans[1].start : spans[1].end]) == "YARA rule, 70 lines"


def test_the_indicator_list_title_counts_its_indicators():
    block = SHAPES["table"][0]
    assert block_title("indicators", block) == "Indicator list, 5 lines (4 domains, 4 IP addresses)"
    assert block_title("indicators", SHAPES["defanged"][0]) == (
        "Indicator list, 5 lines (2 URLs, 1 IP address, 1 domain)")


def test_prose_with_indicators_and_command_lines_stay_sentences():
    prose = ("The implant beacons to 45.77.12[.]9 and 1.2.3.4:443 over HTTPS.\n"
             "It downloads hxxp://evil[.]com/a.php and saves it as payload.dll.\n"
             "xa[.]hta downloads and executes hxxp://203.0.113[.]12:222/qDx[.]wsf")
    assert find_noise_blocks(prose) == []
    assert find_noise_blocks(report_with(COMMANDS)) == []  # commands are what the actor did: evidence to label


def test_a_short_list_of_file_names_is_not_an_indicator_list():
    tools = "The actors ran these tools:\nwhoami.exe\nsysteminfo.exe\nnltest.exe\nipconfig.exe\nThen they left."
    assert find_noise_blocks(tools) == []


def test_blocks_keep_crlf_text_offsets_and_dataset_sentences_get_their_kind():
    text = report_with(SHAPES["sha256"][0]).replace("\n", "\r\n")
    block = find_noise_blocks(text)[0]
    assert text[block.start : block.end].startswith(SHAPES["sha256"][0][:64]) and not text[block.end - 1].isspace()
    lines = [(s.start, s.end) for s in split_sentences(text)]
    kinds = sentence_kinds(text, lines)
    assert kinds[0] == "text" and kinds[-1] == "text" and kinds.count("indicators") == 30


def test_the_kinds_are_the_stores_kinds():
    assert SENTENCE_KINDS == STORED_KINDS


NOISY = {
    "hex": "a" * 1_000_000, "hex-lines": ("0123456789abcdef" * 4 + "\n") * 15_000, "dots": "a." * 500_000,
    "defang": "[.]" * 330_000, "rule-open": "rule x {\n" * 100_000, "braces": "{" * 1_000_000,
    "assignments": "$a = " * 200_000, "yaml-titles": "title: x\n" * 100_000, "yaml-run": "title: x\n  a: b\n" * 60_000,
    "snort": "alert tcp a -> b (x)\n" * 50_000, "ip-table": "1.2.3.4 | " * 100_000, "ip-lines": "1.2.3.4\n" * 125_000,
    "calls": "f(" * 500_000, "cmdlets": "Get-Item -a\n" * 80_000, "paths": "c:\\" * 330_000, "at": "a@" * 500_000,
    "colons": "a:" * 500_000, "labels": "Domain\n" * 140_000, "long-tokens": ("a" * 3000 + "\n") * 300,
}


@pytest.mark.parametrize("kind", sorted(NOISY) + sorted(pathological_texts(10)))
def test_a_megabyte_of_pathological_text_is_scanned_in_linear_time(kind):
    text = NOISY.get(kind) or pathological_texts(1_000_000)[kind]
    started = time.monotonic()
    blocks = find_noise_blocks(text)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"{kind}: {elapsed:.1f} s"  # linear takes under 1.5 s; quadratic took minutes
    assert all(0 <= b.start < b.end <= len(text) for b in blocks)


def test_the_real_corpus_marks_few_sentences_and_almost_never_an_annotated_span(shared_data):
    from benchmarks.splitter_quality import technique_spans

    marked = spans = inside = 0
    for path in sorted((shared_data / "tram2" / "mjson").glob("*.mjson")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        blocks = find_noise_blocks(doc["signal"])
        marked += len(blocks)
        for start, end, _ in technique_spans(doc):
            spans += 1
            inside += any(b.start < end and start < b.end for b in blocks)
    assert 100 <= marked <= 400  # the corpus's IOC sections, YARA/Sigma/Snort rules and code listings
    assert inside / spans < 0.005, f"{inside} of {spans} annotated spans in a marked block"


def test_yara_strings_whose_rule_head_a_pdf_lost_are_still_a_rule():
    strings = "\n\n".join(['$x86 = {75 1F 56 6A 40 B2 23 33 C9 5E 8A 81 ?? ?? ?? ?? 32 C2}',
                          '$x64 = {41 B0 23 41 B9 80 00 00 00 8A 84 3A ?? ?? ?? 00}',
                          '$ip1 = "checkip.amazonaws.com" ascii wide', '$ip2 = "ipecho.net" ascii wide'])
    [block] = find_noise_blocks(report_with(strings))
    assert block.kind == "rule" and block_title(block.kind, strings) == "YARA rule strings, 7 lines"
