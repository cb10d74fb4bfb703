"""Series, session and quality tags read from stream titles (pure).

Titles are written by hand, in several languages, with channel names mixed in
("Sky Sports F1: F2 Sprint Race"), so the patterns are ordered from the most
specific to the least: the first pattern that matches decides.
"""

from __future__ import annotations

import re
import unicodedata

from slipstream.models import Stream

# (key, pattern) pairs, tried in order. Feeder and sister series come before
# the series whose name they contain or whose channel they are shown on.
_SERIES: list[tuple[str, str]] = [
    ("formula-e", r"\bformula\s*e\b|\bformel\s*e\b|\be\s*prix\b|\bfia\s*fe\b"),
    ("f1-academy", r"\bf1\s*academy\b"),
    ("imsa", r"\bimsa\b|\brolex\s*24\b|\bpetit\s*le\s*mans\b|\b(12|24)\s*h(ours)?\s*(of\s*)?"
             r"(sebring|daytona)\b|\bweathertech\b"),
    ("nascar", r"\bnascar\b|\bdaytona\s*500\b|\bxfinity\b"),
    ("wec", r"\bwec\b|\bworld\s*endurance\b|\ble\s*mans\b|\b24\s*heures\b|\bhyperpole\b"
            r"|\b(6|8|10)\s*(h|hours)\s*of\s*\w+|\b1000\s*miles\b"),
    ("motogp", r"\bmoto\s*gp\b"),
    ("moto2", r"\bmoto\s*2\b"),
    ("moto3", r"\bmoto\s*3\b"),
    ("wsbk", r"\bworld\s*sbk\b|\bwsbk\b|\bsuperbike\s*world\b"),
    ("f2", r"\bf2\b|\bformula\s*(2|two)\b|\bformel\s*2\b|\bformule\s*2\b|\bgp2\b"),
    ("f3", r"\bf3\b|\bformula\s*(3|three)\b|\bformel\s*3\b|\bformule\s*3\b|\bgp3\b"),
    ("f1", r"\bf1\b|\bf1\s*tv\b|\bf1tv\b|\bformula\s*(1|one|uno)\b|\bformel\s*(1|eins)\b"
           r"|\bformule\s*1\b"),
    ("wrc", r"\bwrc\d?\b|\bworld\s*rally\b|\brally(e)?\s*(de\s*|of\s*)?"
            r"(monte\s*carlo|sweden|safari|kenya|croatia|portugal|sardegna|italia|acropolis"
            r"|estonia|finland|chile|central\s*europe|japan|latvia|poland|mexico"
            r"|new\s*zealand|catalunya|spain|great\s*britain|saudi|paraguay|argentina)\b"),
    ("indycar", r"\bindy\s*car\b|\bindy\s*500\b|\bindianapolis\s*500\b"),
    ("dtm", r"\bdtm\b|\bdeutsche\s*tourenwagen\b"),
    ("btcc", r"\bbtcc\b|\bbritish\s*touring\s*car\b"),
    ("supercars", r"\bsupercars\b|\bbathurst\s*1000\b"),
]

_QUALI = (r"(qualifying|quali|qualy|qualification|qualifications|clasificacion|qualifiche"
          r"|qualifikation|classificacao|kwalificatie)")
# Abbreviations like "EL1" only count with their number ("el" is also a Spanish word).
_PRACTICE = (r"(free\s*practice|practice|practica|practicas|entrenamientos\s*libres|libres"
             r"|prove\s*libere|freies\s*training|essais\s*libres|treino\s*livre"
             r"|vrije\s*training)")
_NUMBERED_PRACTICE = rf"(fp|el|pl|tl|{_PRACTICE})"

_SESSIONS: list[tuple[str, str]] = [
    ("sprint-qualifying", rf"\bsprint\s*(shootout|{_QUALI})\b|\b{_QUALI}\s*(du\s*|for\s*the\s*)?"
                          r"sprint\b|\bsq[1-3]\b"),
    ("fp", rf"\b{_NUMBERED_PRACTICE}\s*([1-3])\b|\b([1-3])\s*(freies\s*training|free\s*practice)\b"),
    ("sprint", r"\bsuperpole\s*race\b|\bsprint(?!\s*(cars?|cup)\b)\b"),
    ("qualifying", rf"\b{_QUALI}\b|\bq[1-3]\b|\bshootout\b|\bhyperpole\b|\bsuperpole\b"),
    ("race", r"\brace(?!\s*control\b)\b|\bcarrera(?!\s*cup\b)\b|\bgara\b|\brennen\b"
             r"|\bcourse\b|\bcorrida\b"),
    ("practice", rf"\b{_PRACTICE}\b|\bwarm\s*up\b|\bshakedown\b"),
]

# Quality as titles write it: "(1080p)", "[HD]", "1080p50", "4K", "FHD".
_QUALITY = r"(?:(?:2160|1440|1080|720|576|540|480|360|240)[pi](?:\d{2})?|[48]k|uhd|fhd|hd|sd)"
_BRACKETED_QUALITY = re.compile(rf"\s*[(\[]\s*({_QUALITY})\s*[)\]]", re.IGNORECASE)
_TRAILING_RESOLUTION = re.compile(r"[\s|:-]+(\d{3,4}[pi](?:\d{2})?)\s*$", re.IGNORECASE)
_BARE_QUALITY = re.compile(rf"\b({_QUALITY})\b", re.IGNORECASE)
# iptv-org style availability flags, noise in a title.
_FLAGS = re.compile(r"\s*\[\s*(not\s*24/7|geo[\s-]*blocked)\s*\]", re.IGNORECASE)

_SERIES_RE = [(key, re.compile(pattern)) for key, pattern in _SERIES]
_SESSIONS_RE = [(key, re.compile(pattern)) for key, pattern in _SESSIONS]


def normalise(text: str) -> str:
    """Lower-case ASCII words: accents dropped, punctuation and underscores as spaces."""
    decomposed = unicodedata.normalize("NFD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())


def series_of(text: str) -> str | None:
    """The series key a title names, if any."""
    norm = normalise(text)
    return next((key for key, rx in _SERIES_RE if rx.search(norm)), None)


def session_of(text: str) -> str | None:
    """The session key a title names, if any ("Grand Prix" alone names none)."""
    norm = normalise(text)
    for key, rx in _SESSIONS_RE:
        match = rx.search(norm)
        if match and key == "fp":
            digit = next(g for g in reversed(match.groups()) if g and g.isdigit())
            return f"fp{digit}"
        if match:
            return key
    return None


def _quality_key(raw: str) -> str:
    """"1080P50" -> "1080p", "fhd" -> "FHD", "4k" -> "4K"."""
    match = re.match(r"(\d+[pi])", raw, re.IGNORECASE)
    return match.group(1).lower() if match else raw.upper()


def split_quality(title: str) -> tuple[str, str | None]:
    """("Main feed (1080p) [Not 24/7]") -> ("Main feed", "1080p").

    Bracketed qualities and bare trailing resolutions are cut from the title;
    bare words like "HD" stay in it ("Sky Sports F1 HD" is a channel's name).
    """
    text = _FLAGS.sub("", title)
    quality = None
    for pattern in (_BRACKETED_QUALITY, _TRAILING_RESOLUTION):
        if quality is None and (match := pattern.search(text)):
            quality = _quality_key(match.group(1))
            text = text[: match.start()] + text[match.end():]
    if quality is None and (match := _BARE_QUALITY.search(text)):
        quality = _quality_key(match.group(1))
    return " ".join(text.split()).strip(" -|:") or title.strip(), quality


def tag_title(text: str) -> tuple[str | None, str | None]:
    """(series, session_type) read from a title; None where it names none."""
    return series_of(text), session_of(text)


def apply_tags(stream: Stream) -> Stream:
    """Fill `series`/`session_type` from the title, then the group; never overwrite."""
    for text in (stream.title, stream.group or ""):
        if stream.series is not None and stream.session_type is not None:
            break
        series, session = tag_title(text)
        stream.series = stream.series or series
        stream.session_type = stream.session_type or session
    return stream
