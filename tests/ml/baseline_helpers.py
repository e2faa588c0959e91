"""A toy training set for the baseline tests: four techniques (one never occurring), six sentences each and neutrals."""

from __future__ import annotations

CLASSES = ["T1566.001", "T1003.001", "T1105", "T1112"]  # deliberately not sorted; T1112 never occurs

PHISHING = [
    "The actor sent spearphishing emails with a malicious Word attachment to employees.",
    "Victims received a phishing email carrying a weaponized attachment.",
    "A spearphishing attachment was mailed to the finance team.",
    "The email attachment contained a malicious macro that users opened.",
    "Targets were lured by phishing messages with malicious attachments.",
    "Another spearphishing email delivered an attachment with a macro.",
]

LSASS = [
    "The tool dumped LSASS memory with procdump to harvest credentials.",
    "Mimikatz read credentials from lsass process memory.",
    "They accessed LSASS memory to extract password hashes.",
    "A minidump of lsass.exe was created to steal credentials.",
    "Credential dumping from LSASS memory followed.",
    "The operators dumped lsass memory using comsvcs.dll.",
]

DOWNLOAD = [
    "The implant downloaded additional tools from the command server.",
    "A second stage payload was transferred from a remote server with certutil.",
    "They used PowerShell to download further tools onto the host.",
    "Additional malware was downloaded over HTTP from the attacker server.",
    "The loader fetched its next stage from a remote URL.",
    "Tools were transferred to the victim with bitsadmin downloads.",
]

NEUTRAL = [
    "The report was published in March.",
    "Our researchers thank the partner organisations.",
    "This section describes the timeline of the campaign.",
    "The group has been active since at least 2016.",
    "Indicators are listed in the appendix.",
    "We assess this with moderate confidence.",
]


def toy_data():
    texts = PHISHING + LSASS + DOWNLOAD + NEUTRAL
    labels = [{"T1566.001"}] * 6 + [{"T1003.001"}] * 6 + [{"T1105"}] * 6 + [set()] * 6
    return texts, labels
