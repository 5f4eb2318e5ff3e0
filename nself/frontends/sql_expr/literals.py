"""Type input followed by type output for literals: the text PostgreSQL 15 stores and prints
for a constant of a given type (`'2020-01-01'::timestamptz` prints as
`'2020-01-01 00:00:00+00'` with TimeZone UTC). Types without a rule here keep their text."""

from __future__ import annotations

import json
import math
import re
import uuid as uuidlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

Normaliser = Callable[[str], str]


class BadLiteral(ValueError):
    """The text is not valid input for the type (PostgreSQL would reject it)."""


def normalise(key: str, text: str, typmod: int = -1) -> str:
    fn = _NORMALISERS.get(key)
    if fn is None:
        return text
    try:
        if key == "interval":
            return interval_out(text, typmod)
        return fn(text)
    except BadLiteral:
        raise
    except (ValueError, InvalidOperation, OverflowError) as exc:
        raise BadLiteral(f'invalid input syntax for type {key}: "{text}"') from exc


def _int(bits: int) -> Normaliser:
    def norm(text: str) -> str:
        t = text.strip()
        if not t.lstrip("+-").isdigit():
            raise BadLiteral(f'invalid input syntax for type integer: "{text}"')
        value = int(t)
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            raise BadLiteral(f'value "{text}" is out of range')
        return str(value)

    return norm


def numeric_out(text: str) -> str:
    t = text.strip().replace("_", "")
    low = t.lower()
    if low in ("nan",):
        return "NaN"
    if low in ("infinity", "+infinity", "inf", "+inf"):
        return "Infinity"
    if low in ("-infinity", "-inf"):
        return "-Infinity"
    d = Decimal(t)
    out = format(d, "f")
    if out.startswith("-") and d == 0:
        out = out[1:]
    return out


def float_out(text: str) -> str:
    t = text.strip().lower()
    if t in ("nan",):
        return "NaN"
    if t in ("infinity", "+infinity", "inf", "+inf"):
        return "Infinity"
    if t in ("-infinity", "-inf"):
        return "-Infinity"
    value = float(t)
    return float8_out(value)


def float4_out(text: str) -> str:
    """float4out: the shortest digits that read back as the same single-precision value,
    with an exponent when below -4 or at least 6."""
    import struct

    t = text.strip().lower()
    if t in ("nan", "infinity", "+infinity", "inf", "+inf", "-infinity", "-inf"):
        return float_out(text)
    value = struct.unpack("f", struct.pack("f", float(t)))[0]
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    digits_text = ""
    for precision in range(1, 10):
        candidate = f"{value:.{precision - 1}e}"
        if struct.unpack("f", struct.pack("f", float(candidate)))[0] == value:
            digits_text = candidate
            break
    return float8_out(float(digits_text), exponent_at=6)


def float8_out(value: float, exponent_at: int = 15) -> str:
    """float8out with extra_float_digits = 1: the shortest exact digits, printed %g-like
    with exponent when below -4 or at least 15."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    r = repr(value)
    mantissa, _, exp_text = r.partition("e")
    sign = ""
    if mantissa.startswith("-"):
        sign, mantissa = "-", mantissa[1:]
    intpart, _, frac = mantissa.partition(".")
    digits = (intpart + frac).lstrip("0")
    exp10 = int(exp_text or 0) + len(intpart) - 1
    if intpart == "0":
        lead = len(frac) - len(frac.lstrip("0"))
        exp10 = int(exp_text or 0) - lead - 1
    digits = digits.rstrip("0") or "0"
    if exp10 < -4 or exp10 >= exponent_at:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if exp10 >= 0:
        if len(digits) <= exp10 + 1:
            return sign + digits + "0" * (exp10 + 1 - len(digits))
        return sign + digits[: exp10 + 1] + "." + digits[exp10 + 1 :]
    return sign + "0." + "0" * (-exp10 - 1) + digits


def bool_out(text: str) -> str:
    t = text.strip().lower()
    if t in ("t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"):
        return "t"
    if t in ("f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"):
        return "f"
    raise BadLiteral(f'invalid input syntax for type boolean: "{text}"')


_DATE = re.compile(r"^\s*(\d{4,})-(\d{1,2})-(\d{1,2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?")
_ZONE = re.compile(r"(?:\s*(?:(Z|UTC|GMT)|([+-])(\d{1,2})(?::?(\d{2}))?(?::(\d{2}))?))\s*$", re.I)
_SPECIAL = {"infinity": "infinity", "+infinity": "infinity", "-infinity": "-infinity"}
# Evaluated when the statement runs: the stored value depends on the clock, so no offline
# text can equal it; keep the word.
_CLOCK = {"now", "today", "tomorrow", "yesterday"}


def _fraction(frac: str | None) -> int:
    if not frac:
        return 0
    return round(int(frac) * 10 ** (6 - len(frac))) if len(frac) <= 6 else round(int(frac[:7]) / 10)


def _time_text(h: int, m: int, s: int, us: int) -> str:
    text = f"{h:02d}:{m:02d}:{s:02d}"
    if us:
        text += ("." + f"{us:06d}").rstrip("0")
    return text


def _zone_offset(name: str, local: datetime) -> timedelta | None:
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(name)
    except Exception:
        return None
    offset = local.replace(tzinfo=zone).utcoffset()
    return offset


def _parse_datetime(text: str) -> tuple[datetime, timedelta | None]:
    t = text.strip()
    compact = re.match(r"^(\d{4})(\d{2})(\d{2})(?=$|[ T])", t)
    if compact:
        t = f"{compact.group(1)}-{compact.group(2)}-{compact.group(3)}" + t[8:]
    zone_name = None
    named = re.search(r"\s+([A-Za-z_]+/[A-Za-z_/+-]+)$", t)
    if named:
        zone_name = named.group(1)
        t = t[: named.start()]
    m = _DATE.match(t)
    if not m:
        raise BadLiteral(text)
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    rest = t[m.end() :]
    offset: timedelta | None = None
    zm = _ZONE.search(rest)
    if zm and (zm.group(1) or zm.group(2)):
        if zm.group(1):
            offset = timedelta(0)
        else:
            sign = -1 if zm.group(2) == "-" else 1
            hh = int(zm.group(3))
            mm = int(zm.group(4) or 0)
            ss = int(zm.group(5) or 0)
            offset = sign * timedelta(hours=hh, minutes=mm, seconds=ss)
        rest = rest[: zm.start()]
    rest = rest.strip().lstrip("Tt").strip()
    h = mi = s = us = 0
    if rest:
        tm = _TIME.fullmatch(rest)
        if not tm:
            raise BadLiteral(text)
        h, mi = int(tm.group(1)), int(tm.group(2))
        s = int(tm.group(3) or 0)
        us = _fraction(tm.group(4))
    base = datetime(y, mo, d) + timedelta(hours=h, minutes=mi, seconds=s, microseconds=us)
    if zone_name is not None:
        offset = _zone_offset(zone_name, base)
        if offset is None:
            raise BadLiteral(text)
    return base, offset


def date_out(text: str) -> str:
    t = text.strip().lower()
    if t in _SPECIAL:
        return _SPECIAL[t]
    if t == "epoch":
        return "1970-01-01"
    if t in _CLOCK:
        return text
    dt, _ = _parse_datetime(text)
    return dt.date().isoformat()


def timestamp_out(text: str) -> str:
    t = text.strip().lower()
    if t in _SPECIAL:
        return _SPECIAL[t]
    if t == "epoch":
        return "1970-01-01 00:00:00"
    if t in _CLOCK:
        return text
    dt, _ = _parse_datetime(text)
    return dt.strftime("%Y-%m-%d ") + _time_text(dt.hour, dt.minute, dt.second, dt.microsecond)


def timestamptz_out(text: str) -> str:
    t = text.strip().lower()
    if t in _SPECIAL:
        return _SPECIAL[t]
    if t == "epoch":
        return "1970-01-01 00:00:00+00"
    if t in _CLOCK:
        return text
    dt, offset = _parse_datetime(text)
    if offset is not None:
        dt = dt - offset
    dt = dt.replace(tzinfo=UTC)
    return dt.strftime("%Y-%m-%d ") + _time_text(dt.hour, dt.minute, dt.second, dt.microsecond) + "+00"


def time_out(text: str) -> str:
    tm = _TIME.fullmatch(text.strip())
    if not tm:
        raise BadLiteral(text)
    return _time_text(int(tm.group(1)), int(tm.group(2)), int(tm.group(3) or 0), _fraction(tm.group(4)))


_UNITS = {
    "microsecond": ("us", 1), "microseconds": ("us", 1), "us": ("us", 1), "usec": ("us", 1), "usecs": ("us", 1),
    "millisecond": ("us", 1000), "milliseconds": ("us", 1000), "ms": ("us", 1000), "msec": ("us", 1000), "msecs": ("us", 1000),
    "second": ("us", 1_000_000), "seconds": ("us", 1_000_000), "sec": ("us", 1_000_000), "secs": ("us", 1_000_000), "s": ("us", 1_000_000),
    "minute": ("us", 60_000_000), "minutes": ("us", 60_000_000), "min": ("us", 60_000_000), "mins": ("us", 60_000_000), "m": ("us", 60_000_000),
    "hour": ("us", 3_600_000_000), "hours": ("us", 3_600_000_000), "hr": ("us", 3_600_000_000), "hrs": ("us", 3_600_000_000), "h": ("us", 3_600_000_000),
    "day": ("d", 1), "days": ("d", 1), "d": ("d", 1),
    "week": ("d", 7), "weeks": ("d", 7), "w": ("d", 7),
    "month": ("mon", 1), "months": ("mon", 1), "mon": ("mon", 1), "mons": ("mon", 1),
    "year": ("mon", 12), "years": ("mon", 12), "y": ("mon", 12), "yr": ("mon", 12), "yrs": ("mon", 12),
    "decade": ("mon", 120), "decades": ("mon", 120),
    "century": ("mon", 1200), "centuries": ("mon", 1200),
    "millennium": ("mon", 12000), "millennia": ("mon", 12000),
}


_RANGE_YEAR, _RANGE_MONTH, _RANGE_DAY = 1 << 2, 1 << 1, 1 << 3
_RANGE_HOUR, _RANGE_MINUTE, _RANGE_SECOND = 1 << 10, 1 << 11, 1 << 12


def interval_out(text: str, typmod: int = -1) -> str:
    """interval_in (with its typmod: the range decides the unit of a bare number and which
    fields survive, the precision rounds the seconds) followed by interval_out."""
    fields = (typmod >> 16) & 0x7FFF if typmod >= 0 else 0x7FFF
    precision = typmod & 0xFFFF if typmod >= 0 else 0xFFFF
    bare_unit = "second"
    if fields != 0x7FFF:
        for mask, unit in ((_RANGE_SECOND, "second"), (_RANGE_MINUTE, "minute"), (_RANGE_HOUR, "hour"),
                           (_RANGE_DAY, "day"), (_RANGE_MONTH, "month"), (_RANGE_YEAR, "year")):
            if fields & mask:
                bare_unit = unit
                break
    months, days, us = _interval_parse(text, bare_unit, fields)
    if fields != 0x7FFF:
        if fields in (_RANGE_YEAR,):
            months, days, us = (months // 12) * 12 if months >= 0 else -((-months) // 12) * 12, 0, 0
        elif fields in (_RANGE_MONTH, _RANGE_YEAR | _RANGE_MONTH):
            days, us = 0, 0
        elif fields == _RANGE_DAY:
            us = 0
        elif fields in (_RANGE_HOUR, _RANGE_DAY | _RANGE_HOUR):
            us = int(us / 3_600_000_000) * 3_600_000_000
        elif fields in (_RANGE_MINUTE, _RANGE_DAY | _RANGE_HOUR | _RANGE_MINUTE, _RANGE_HOUR | _RANGE_MINUTE):
            us = int(us / 60_000_000) * 60_000_000
    if precision != 0xFFFF and precision < 6:
        unit = 10 ** (6 - precision)
        us = int(Decimal(us / unit).quantize(Decimal(1), rounding="ROUND_HALF_UP")) * unit if us >= 0 else -int(
            Decimal(-us / unit).quantize(Decimal(1), rounding="ROUND_HALF_UP")
        ) * unit
    return _interval_text(months, days, us)


def _interval_parse(text: str, bare_unit: str, fields: int) -> tuple[int, int, int]:
    t = text.strip().lower()
    if t.startswith("@"):
        t = t[1:]
    ago = t.endswith(" ago")
    if ago:
        t = t[:-4]
    months = days = us = 0
    tokens = re.findall(r"[+-]?\d+(?:\.\d+)?(?::\d+(?::\d+(?:\.\d+)?)?)?|[a-z]+", t)
    i = 0
    if not tokens:
        raise BadLiteral(text)
    while i < len(tokens):
        tok = tokens[i]
        if ":" in tok:
            sign = -1 if tok.startswith("-") else 1
            parts = tok.lstrip("+-").split(":")
            if len(parts) == 2 and fields == (_RANGE_MINUTE | _RANGE_SECOND):
                parts = ["0", *parts]  # MINUTE TO SECOND reads mm:ss
            h = int(parts[0])
            mi = int(parts[1])
            sec = Decimal(parts[2]) if len(parts) > 2 else Decimal(0)
            us += sign * int((h * 3600 + mi * 60) * 1_000_000 + sec * 1_000_000)
            i += 1
            continue
        if re.fullmatch(r"[+-]?\d+(?:\.\d+)?", tok):
            number = Decimal(tok)
            unit = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].isalpha() else bare_unit
            i += 2 if i + 1 < len(tokens) and tokens[i + 1].isalpha() else 1
            if unit not in _UNITS:
                raise BadLiteral(text)
            field, factor = _UNITS[unit]
            if field == "mon":
                whole = int(number * factor)
                months += whole
                rest_days = (number * factor - whole) * 30
                days += int(rest_days)
                us += int((rest_days - int(rest_days)) * 86_400_000_000)
            elif field == "d":
                whole = int(number * factor)
                days += whole
                us += int((number * factor - whole) * 86_400_000_000)
            else:
                us += int(number * factor)
            continue
        raise BadLiteral(text)
    if ago:
        months, days, us = -months, -days, -us
    return months, days, us


def _interval_text(months: int, days: int, us: int) -> str:
    parts: list[str] = []
    years, mons = int(months / 12), months - int(months / 12) * 12
    if years:
        parts.append(f"{years} year" + ("s" if years != 1 else ""))
    if mons:
        parts.append(f"{mons} mon" + ("s" if mons != 1 else ""))
    if days:
        parts.append(f"{days} day" + ("s" if days != 1 else ""))
    if us or not parts:
        neg = us < 0
        a = abs(us)
        h, rem = divmod(a, 3_600_000_000)
        mi, rem = divmod(rem, 60_000_000)
        s, micro = divmod(rem, 1_000_000)
        if us or not parts:
            text = _time_text(h, mi, s, micro) if h < 100 else f"{h}:{mi:02d}:{s:02d}" + (("." + f"{micro:06d}").rstrip("0") if micro else "")
            show_sign = neg or any(p.startswith("-") for p in parts)
            parts.append(("-" if neg else ("+" if show_sign else "")) + text)
    return " ".join(parts)


def uuid_out(text: str) -> str:
    return str(uuidlib.UUID(text.strip()))


def jsonb_out(text: str) -> str:
    value = json.loads(text, parse_float=lambda s: _JsonNumber(s), parse_int=lambda s: _JsonNumber(s))
    return _jsonb_text(value)


class _JsonNumber(str):
    pass


def _jsonb_text(value: object) -> str:
    if isinstance(value, _JsonNumber):
        return numeric_out(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_jsonb_text(v) for v in value) + "]"
    if isinstance(value, dict):
        # jsonb keeps the last of duplicate keys and orders keys by length, then bytes
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_jsonb_text(value[k])}" for k in keys) + "}"
    return str(value)


def bytea_out(text: str) -> str:
    if text.startswith("\\x"):
        return "\\x" + text[2:].lower()
    out = []
    i = 0
    raw = text.encode()
    while i < len(raw):
        if raw[i] == 0x5C and i + 1 < len(raw) and raw[i + 1] == 0x5C:
            out.append(0x5C)
            i += 2
        elif raw[i] == 0x5C and i + 3 < len(raw):
            out.append(int(raw[i + 1 : i + 4], 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return "\\x" + bytes(out).hex()


def date_valid(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def _ts_lexeme(word: str) -> str:
    return "'" + word.replace("'", "''") + "'"


def tsquery_out(text: str) -> str:
    """tsqueryin then tsqueryout for the plain forms: lexemes quoted, operators spaced."""
    tokens = re.findall(r"'(?:[^']|'')*'(?::\*?[A-Da-d]*)?|<\d*->|[&|!()]|[^\s&|!()<]+(?::\*?[A-Da-d]*)?", text)
    out: list[str] = []
    for tok in tokens:
        if tok in ("&", "|"):
            out.append(f" {tok} ")
        elif tok == "!":
            out.append("!")
        elif tok in ("(", ")"):
            out.append(tok)
        elif tok.startswith("<") and tok.endswith(">"):
            out.append(f" {tok} ")
        else:
            word, colon, weight = tok.partition(":") if not tok.startswith("'") else (tok, "", "")
            if tok.startswith("'"):
                end = tok.rindex("'")
                word, weight = tok[1:end].replace("''", "'"), tok[end + 2 :] if len(tok) > end + 1 else ""
                colon = ":" if weight or tok[end + 1 : end + 2] == ":" else ""
            out.append(_ts_lexeme(word) + (colon + weight.upper() if colon else ""))
    return "".join(out)


def tsvector_out(text: str) -> str:
    words = re.findall(r"'(?:[^']|'')*'|\S+", text)
    lexemes = sorted({w[1:-1].replace("''", "'") if w.startswith("'") else w for w in words}, key=lambda w: (len(w.encode()), w.encode()))
    return " ".join(_ts_lexeme(w) for w in lexemes)


_NORMALISERS: dict[str, Normaliser] = {
    "tsquery": tsquery_out,
    "tsvector": tsvector_out,
    "int2": _int(16),
    "int4": _int(32),
    "int8": _int(64),
    "oid": _int(33),
    "numeric": numeric_out,
    "float4": float4_out,
    "float8": float_out,
    "bool": bool_out,
    "date": date_out,
    "timestamp": timestamp_out,
    "timestamptz": timestamptz_out,
    "time": time_out,
    "interval": interval_out,
    "uuid": uuid_out,
    "jsonb": jsonb_out,
    "bytea": bytea_out,
}


# --------------------------------------------------------------------------- arrays


def parse_array(text: str) -> list[str | None] | None:
    """Elements of a one-dimensional array literal, or None when it is not one we read."""
    t = text.strip()
    if not (t.startswith("{") and t.endswith("}")):
        return None
    body = t[1:-1]
    if not body.strip():
        return []
    items: list[str | None] = []
    i = 0
    while i <= len(body):
        while i < len(body) and body[i].isspace():
            i += 1
        if i < len(body) and body[i] == "{":
            return None
        if i < len(body) and body[i] == '"':
            j = i + 1
            value = ""
            while j < len(body) and body[j] != '"':
                if body[j] == "\\" and j + 1 < len(body):
                    j += 1
                value += body[j]
                j += 1
            items.append(value)
            i = j + 1
            while i < len(body) and body[i].isspace():
                i += 1
        else:
            j = i
            value = ""
            while j < len(body) and body[j] != ",":
                if body[j] == "\\" and j + 1 < len(body):
                    j += 1
                value += body[j]
                j += 1
            value = value.strip()
            items.append(None if value.upper() == "NULL" else value)
            i = j
        if i < len(body) and body[i] == ",":
            i += 1
            continue
        break
    return items


def array_out(items: list[str | None], delim: str = ",") -> str:
    out = []
    for item in items:
        if item is None:
            out.append("NULL")
        elif item == "" or item.upper() == "NULL" or any(c in item for c in '{}",\\ \t\n' + delim):
            out.append('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            out.append(item)
    return "{" + delim.join(out) + "}"
