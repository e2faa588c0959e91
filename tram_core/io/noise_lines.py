"""One line of a report classed as an indicator list row, code, a rule's line, a short label or prose (linear time)."""

from __future__ import annotations

import re

# Line classes, strongest first where a line could be read two ways.
BLANK, CODE, INDICATOR, COMMENT, LABEL, PROSE = "blank", "code", "indicator", "comment", "label", "prose"

# A token longer than this is no indicator (a URL may be long; nothing else is): it is never matched at all.
MAX_TOKEN = 2100

# --- indicator tokens (each pattern is used with fullmatch on one refanged, lower-cased token) ---------------------

_INDICATOR_TYPES = (
    ("hash", re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128}")),
    ("IP address", re.compile(r"(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?:/\d{1,2})?")),
    ("URL", re.compile(r"(?:https?|ftp|tcp|udp|wss?)://\S+")),
    ("email address", re.compile(r"[\w.+-]++@[\w-]++(?:\.[\w-]++)+")),
    ("registry key", re.compile(r"(?:hklm|hkcu|hkcr|hku|hkcc|hkey_[a-z_]{1,30})\\\S*")),
    ("file path", re.compile(r"(?:[a-z]:|%[\w()]{1,40}%|\\\\[\w.$-]++)\\\S*|~?(?:/[\w.@$-]++){2,}/?")),
    ("CVE", re.compile(r"cve-\d{4}-\d{4,7}")),
    ("IPv6 address", re.compile(r"(?=[0-9a-f:]*[a-f0-9]{3})[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){3,7}")),
    ("file name", re.compile(r"(?:[\w-]++\.)++(?:exe|dll|sys|bat|cmd|ps1|psm1|vbs|vbe|js|jse|hta|wsf|scr|cpl|msi|lnk|"
                             r"iso|img|vhdx?|zip|rar|7z|gz|tar|cab|jar|apk|docx?|docm|xlsx?|xlsm|pptx?|rtf|pdf|one|txt|"
                             r"log|dat|tmp|bin|ini|cfg|conf|xml|json|csv|html?|php|aspx?|jsp|py|sh|elf|so|dmp|db)")),
    ("domain", re.compile(r"(?:[\w-]++\.)++[a-z][a-z0-9-]{1,23}")),
)
# Indicators that alone make a list an indicator list; file names and paths alone may be the tools a report names.
HARD_TYPES = frozenset(("hash", "IP address", "URL", "email address", "CVE", "IPv6 address", "domain"))
_PROSE_WORD = re.compile(r"[A-Za-z][a-z]{0,30}[,.;:]?")
_PLAIN_WORD = re.compile(r"[a-z]{3,30}")
_SWITCH = re.compile(r"[/-][A-Za-z][\w:-]{0,30}")
_REFANG = (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("(dot)", "."), ("[:]", ":"),
           ("[://]", "://"), ("hxxp", "http"), ("[@]", "@"))
_WRAPPING = "()[]{}<>\"'`,;“”‘’"
_BULLETS = frozenset("•◦▪▫■□●○‣⁃∙·➢➤►▶✓✔*–—-")

# --- code lines -------------------------------------------------------------------------------------------------

_CMDLET = (r"(?i:get|set|new|remove|invoke|add|start|stop|import|export|out|write|read|test|convertto|convertfrom|"
           r"select|where|foreach|enable|disable|register|unregister|copy|move|rename|clear|format|measure|sort|"
           r"expand|compress|resolve|restart|update|install|uninstall|wait|join|split)-[A-Z][A-Za-z]{1,40}")
CMDLET = re.compile(_CMDLET)
_CODE_START = re.compile(
    r"\$[\w:{}.-]{1,80}\s*(?:\[[^\]\n]{0,80}\])?\s*[+\-*/.]?=(?!=)"  # $var = ... (PowerShell, Perl, PHP)
    r"|(?:var|let|const|my|local|dim|set)\s+\$?\w{1,80}\s*=(?!=)"  # var x = ...
    r"|(?:function|sub)\s+[\w-]{1,80}\s*[({]"  # function Invoke-Thing {
    r"|def\s+\w{1,80}\s*\("  # def name(
    r"|(?:if|elseif|while|for|foreach|switch|catch|until)\s*\("  # if (...)
    r"|(?:else|try|finally|do|begin|process|end)\s*\{"  # else {
    r"|#(?:include|define|pragma|!/)"  # C preprocessor, shebang
    r"|(?:public|private|protected|static|void|int|char|bool|string|unsigned|long)\s+[\w<>\[\]*]{1,80}\s*[\w(=;{]"
    r"|(?:import\s+(?:static\s+)?[\w.*]{1,80}|from\s+[\w.]{1,80}\s+import\s+[\w.*, ]{1,200});?$"  # imports
    r"|[A-Z]\w{0,60}(?:<[\w, ]{0,60}>|\[\])?\s+\w{1,60}\s*;$"  # a declaration: String line;
    rf"|{_CMDLET}(?:\s+(?:-[A-Za-z]|\$|\||\{{)|\s*$)"  # Get-Thing -Param / $x / | / {, or alone
    r"|[\w.$\[\]]{1,120}\([^()\n]{0,300}\)\s*;?$"  # call(...); as a whole line
    r"|[{}()\[\];,]{1,20}$"  # brace lines
)
_CODE_END = ("{", "};", "});", ");", "})")
_COMMENT_START = ("#", "//", "/*", "*/", "<#", "#>", "rem ", "::", "'")


def refang(token: str) -> str:
    """A defanged indicator in its plain form: ``hxxp://evil[.]com`` -> ``http://evil.com`` (lower case)."""
    low = token.lower()
    for old, new in _REFANG:
        if old in low:
            low = low.replace(old, new)
    return low.strip(_WRAPPING).rstrip(".:")


def indicator_type(token: str) -> str | None:
    """What kind of indicator ``token`` is (a hash, an IP address, a URL, ...), or None for a plain word."""
    if len(token) > MAX_TOKEN or len(token) < 4:
        return None
    plain = refang(token)
    if len(plain) < 4:
        return None
    for name, pattern in _INDICATOR_TYPES:
        if pattern.fullmatch(plain):
            return name
    return None


def tokens_of(line: str) -> list[str]:
    """The line's tokens, table separators and a leading bullet or number left out."""
    tokens = line.replace("|", " ").replace("\t", " ").split()
    if tokens and (tokens[0] in _BULLETS or re.fullmatch(r"\(?\d{1,3}[.)]", tokens[0])):
        tokens = tokens[1:]
    return tokens


def indicator_share(tokens: list[str]) -> tuple[int, int, int]:
    """(indicator tokens, their characters, characters of the other tokens) of a line's tokens."""
    found = chars = other = 0
    for token in tokens:
        if indicator_type(token):
            found += 1
            chars += len(token)
        else:
            other += len(token)
    return found, chars, other


def is_code(stripped: str) -> bool:
    """Whether a line (stripped) reads as a statement of a program: an assignment, a block opener, a call."""
    if _CODE_START.match(stripped[:600]) is not None:
        return True
    if stripped.endswith(_CODE_END) and any(ch in stripped for ch in "=($"):
        return True
    if stripped[-1] not in ";{}()," or stripped[-1] in ")," and not any(ch in stripped for ch in "=;{$"):
        return False
    symbols = sum(stripped.count(ch) for ch in "=(){}[];$<>&|")
    if symbols < 2 or not any(ch in stripped for ch in "=({"):
        return False
    words = stripped.split()
    plain = sum(1 for word in words if _PROSE_WORD.fullmatch(word))
    return (len(words) <= 3 and symbols >= 3) or plain < 0.6 * len(words)


def _has_verbs(tokens: list[str]) -> bool:
    """Whether two or more tokens are plain lower-case words ("downloads and executes"): a sentence about the
    indicators, not a row listing them."""
    return sum(1 for token in tokens if _PLAIN_WORD.fullmatch(token.strip(_WRAPPING + ".:"))) >= 2


def is_command(tokens: list[str]) -> bool:
    """Whether a line's tokens are a command line ("cmd.exe /c whoami", "reg.exe add HKCU\\..."): a program with
    switches or arguments is what a report shows an actor doing, not an indicator to list."""
    if len(tokens) < 2:
        return False
    if any(_SWITCH.fullmatch(token) for token in tokens[1:]):
        return True
    return indicator_type(tokens[0]) in ("file name", "file path") and refang(tokens[0]).endswith(
        (".exe", ".bat", ".cmd", ".ps1", ".vbs"))


def line_class(line: str) -> str:
    """The class of one line: blank, code, indicator (a row of an indicator list or table), comment, label (a short
    heading or table cell) or prose."""
    stripped = line.strip()
    if not stripped:
        return BLANK
    if is_code(stripped):
        return CODE
    tokens = tokens_of(stripped)
    found, chars, other = indicator_share(tokens)
    words = len(tokens) - found
    if found and chars >= other and words <= 4 and not is_command(tokens) and not _has_verbs(tokens):
        return INDICATOR
    if stripped.lower().startswith(_COMMENT_START) and not stripped.startswith("#" * 2 + " "):
        return COMMENT
    if len(tokens) <= 4 and len(stripped) <= 48 and not stripped.endswith((".", "!", "?", ":")):
        return LABEL
    return PROSE
