"""The sentence splitter on threat-report text: exact splits, offsets that round-trip, real reports."""

from __future__ import annotations

import json

import pytest

from tram_core.io.sentences import SentenceSpan, split_sentences


def texts(source: str) -> list[str]:
    spans = split_sentences(source)
    for span in spans:
        assert isinstance(span, SentenceSpan)
        assert span.text == " ".join(source[span.start : span.end].split())
        assert source[span.start : span.end] == source[span.start : span.end].strip()
    return [span.text for span in spans]


def test_exact_offsets_round_trip():
    source = "  The actor ran cmd.exe. Then it slept.\n\nNext paragraph here!  "
    spans = split_sentences(source)
    assert [(s.start, s.end) for s in spans] == [(2, 24), (25, 39), (41, 61)]
    assert [source[s.start : s.end] for s in spans] == [
        "The actor ran cmd.exe.",
        "Then it slept.",
        "Next paragraph here!",
    ]


def test_indicators_do_not_split():
    source = (
        "The implant beacons to 45.77.12[.]9 and 1.2.3.4:443 over HTTPS. "
        "It downloads hxxp://evil[.]com/a.php and saves it as payload.dll in C:\\Windows\\System32\\svchost.exe. "
        "Persistence uses HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run with version v2.3.1 of the tool."
    )
    assert texts(source) == [
        "The implant beacons to 45.77.12[.]9 and 1.2.3.4:443 over HTTPS.",
        "It downloads hxxp://evil[.]com/a.php and saves it as payload.dll in C:\\Windows\\System32\\svchost.exe.",
        "Persistence uses HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run with version v2.3.1 of the tool.",
    ]


def test_abbreviations_do_not_split():
    source = (
        "Tools, e.g. Mimikatz, i.e. a dumper, are common vs. custom ones (see Fig. 3 and No. 7). "
        "Targets include U.S. Government agencies and Acme Inc. employees. "
        "It waited approx. 10 minutes. It stole files, keys, etc. The data was zipped."
    )
    assert texts(source) == [
        "Tools, e.g. Mimikatz, i.e. a dumper, are common vs. custom ones (see Fig. 3 and No. 7).",
        "Targets include U.S. Government agencies and Acme Inc. employees.",
        "It waited approx. 10 minutes.",
        "It stole files, keys, etc.",
        "The data was zipped.",
    ]


def test_ambiguous_abbreviations_and_plain_words_before_a_period():
    assert texts("It was built by Acme Inc. The group sold it. It hid in a fake app. The app stole data.") == [
        "It was built by Acme Inc.",
        "The group sold it.",
        "It hid in a fake app.",
        "The app stole data.",
    ]


def test_figure_captions_stay_whole():
    assert texts("Figure 7. Virtual environment checks\n\nThe loader exits.") == [
        "Figure 7. Virtual environment checks",
        "The loader exits.",
    ]


def test_ellipses_quotes_and_brackets_after_a_period():
    source = (
        'The note said "pay now." Victims paid... Some did not… others waited. '
        "It used WMI (see below.) The loader ran.[1] Then it exited."
    )
    assert texts(source) == [
        'The note said "pay now."',
        "Victims paid...",
        "Some did not… others waited.",
        "It used WMI (see below.)",
        "The loader ran.[1]",
        "Then it exited.",
    ]


def test_bullets_are_sentences_without_their_markers():
    source = "The malware collects:\n• Hostname\n• user name\n- OS version\n1. IP addresses\n* running processes"
    assert texts(source) == [
        "The malware collects:",
        "Hostname",
        "user name",
        "OS version",
        "IP addresses",
        "running processes",
    ]
    spans = split_sentences(source)
    assert source[spans[1].start - 2 : spans[1].start] == "• "


def test_inline_bullets_split():
    assert texts("Addresses: • 10.0.0[.]1 • 10.0.0[.]2") == ["Addresses:", "10.0.0[.]1", "10.0.0[.]2"]


def test_headings_and_table_rows_are_their_own_sentences():
    source = (
        "Technical Details\n"
        "TrickBot is a Trojan. It spreads by phishing.\n\n"
        "Indicators\n\n"
        "Technique\tID\n"
        "cmd.exe\tT1059.003\n"
        "schtasks | T1053.005\n"
    )
    assert texts(source) == [
        "Technical Details",
        "TrickBot is a Trojan.",
        "It spreads by phishing.",
        "Indicators",
        "Technique ID",
        "cmd.exe T1059.003",
        "schtasks | T1053.005",
    ]


def test_hard_wrapped_lines_join_when_the_next_line_continues():
    source = (
        "The actor used scheduled tasks to run the\n"
        "loader every hour, and it deleted\n"
        "the logs afterwards.\n"
        "Defenders should audit tasks.\n"
    )
    assert texts(source) == [
        "The actor used scheduled tasks to run the loader every hour, and it deleted the logs afterwards.",
        "Defenders should audit tasks.",
    ]


def test_indicator_lists_are_not_joined():
    source = "Hashes:\ncf946bc0faecb2dc8e8edc9e6ce2858f\nd6cc874f84797813c225318b877eace0\nevil[.]com"
    assert texts(source) == [
        "Hashes:",
        "cf946bc0faecb2dc8e8edc9e6ce2858f",
        "d6cc874f84797813c225318b877eace0",
        "evil[.]com",
    ]


def test_missing_space_after_period_from_scraped_html():
    assert texts("It encrypts files.The ransom note follows.• Step two") == [
        "It encrypts files.",
        "The ransom note follows.",
        "Step two",
    ]
    # but .NET names and file names stay whole
    assert texts("It calls System.Net.WebClient and wscript.exe to run.") == [
        "It calls System.Net.WebClient and wscript.exe to run."
    ]


def test_lower_case_openers_that_are_names():
    assert texts("The attacker ran a script. cmd.exe then launched it. iOS devices were spared.") == [
        "The attacker ran a script.",
        "cmd.exe then launched it.",
        "iOS devices were spared.",
    ]


def test_crlf_and_empty_input():
    assert texts("") == []
    assert texts(" \n\n ") == []
    assert texts("First line.\r\nSecond line.\r\n") == ["First line.", "Second line."]


@pytest.mark.parametrize("name", ["AA21076A_TrickBot_Malware.mjson"])
def test_real_report_keeps_annotated_sentences_whole(shared_data, name):
    doc = json.loads((shared_data / "tram2" / "mjson" / name).read_text(encoding="utf-8"))
    text = doc["signal"]
    spans = split_sentences(text)
    sentences = [s.text for s in spans]
    assert (
        "TrickBot uses person-in-the-browser attacks to steal information, such as login credentials "
        "(Man in the Browser [T1185])." in sentences
    )
    # a list item that ends in "or" continues on the next line
    assert (
        "Drop other malware, such as Ryuk and Conti ransomware, or Serve as an Emotet downloader "
        "(Ingress Tool Transfer [T1105]).[1]" in sentences
    )
    # spans are in order and never overlap
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))


def test_bare_punctuation_is_not_a_sentence():
    text = ".\n\nJOINT\n\n• —\n\nThe actors used cmd.exe."
    assert [s.text for s in split_sentences(text)] == ["JOINT", "The actors used cmd.exe."]


def test_telephone_numbers_stay_whole():
    assert texts("To report an incident, call (855) 292-3937 or 1-888-282-0870. Staff answer all day.") == [
        "To report an incident, call (855) 292-3937 or 1-888-282-0870.",
        "Staff answer all day.",
    ]
    # a PDF line that ends after the area code
    assert texts("To report an incident, contact CISA at (855)\n292-3937 or email central@cisa.gov.") == [
        "To report an incident, contact CISA at (855) 292-3937 or email central@cisa.gov."
    ]
    assert texts("Call the 24/7 Operations Center at (855)\n292-3937.\nThey answer.") == [
        "Call the 24/7 Operations Center at (855) 292-3937.",
        "They answer.",
    ]


def test_version_numbers_stay_whole():
    assert texts("The actor used AnyDesk v7.0.4 and Cobalt Strike 4.3.1. Both were cracked copies.") == [
        "The actor used AnyDesk v7.0.4 and Cobalt Strike 4.3.1.",
        "Both were cracked copies.",
    ]
    assert texts("Upgrade Log4j to version 2.17.1.\nOlder versions are exposed.") == [
        "Upgrade Log4j to version 2.17.1.",
        "Older versions are exposed.",
    ]
    # a line that ends on "version", the number on the next line
    assert texts("The loader was built with the Nim compiler version\n1.6.2 and packed with UPX.") == [
        "The loader was built with the Nim compiler version 1.6.2 and packed with UPX."
    ]


def test_indicators_at_the_end_of_a_sentence_stay_whole():
    source = (
        "The beacon called 203.0.113.45. Then it resolved update.example-cdn.com. "
        "It fetched https://203.0.113.45:8443/gate.php?id=7&v=2.1#top. "
        "The file's SHA-256 was e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855. "
        "It mailed ops@evil-domain[.]net. Defenders blocked 198.51.100[.]7."
    )
    assert texts(source) == [
        "The beacon called 203.0.113.45.",
        "Then it resolved update.example-cdn.com.",
        "It fetched https://203.0.113.45:8443/gate.php?id=7&v=2.1#top.",
        "The file's SHA-256 was e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.",
        "It mailed ops@evil-domain[.]net.",
        "Defenders blocked 198.51.100[.]7.",
    ]


def test_a_table_of_numbered_rows_is_not_joined_into_prose():
    source = "The configuration holds these fields:\n0x0 heartbeat interval in seconds\n0x4 reconnect interval"
    assert texts(source) == [
        "The configuration holds these fields:",
        "0x0 heartbeat interval in seconds",
        "0x4 reconnect interval",
    ]
    assert texts("Size of the next C&C domain name and port\n4") == ["Size of the next C&C domain name and port", "4"]
