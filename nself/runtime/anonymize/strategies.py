"""The anonymisation strategies, each a deterministic function of (key, input value, attempt).

Values are handled in PostgreSQL's text form (what COPY writes and reads), so a strategy
never needs the server and unconfigured columns pass through untouched. `attempt` > 0 asks
for another value for the same input: used to resolve a collision on a unique column and
to never give back the input itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from nself.runtime.anonymize import words

# (text value, attempt) -> text value, or None for SQL NULL.
ValueFunction = Callable[[str, int], "str | None"]

STRATEGIES = ("fake", "mask", "hash", "null", "constant", "noise", "keep")

INTEGER_RANGES = {
    "smallint": (1, 32767),
    "integer": (1, 2147483647),
    "bigint": (1, 9223372036854775807),
}


class StrategyError(ValueError):
    """A rule that cannot apply to its column; the caller adds the file position."""


@dataclass(frozen=True)
class ColumnType:
    """What a strategy needs to know of a column's type (domains resolved to their base)."""

    name: str  # the base type as PostgreSQL spells it, e.g. "character varying(80)"
    category: (
        str  # text | integer | numeric | date | timestamp | timestamptz | uuid | inet | json | bool | other
    )
    length: int | None = None  # character varying(n) / character(n)


def column_type(data_type: str, domains: Mapping[str, str]) -> ColumnType:
    seen = 0
    while data_type in domains and seen < 10:  # a domain over a domain
        data_type, seen = domains[data_type], seen + 1
    base = data_type
    if base.endswith("[]"):
        return ColumnType(base, "other")
    length_match = re.fullmatch(r"(character varying|character|varchar|char|bpchar)\((\d+)\)", base)
    if length_match:
        return ColumnType(base, "text", int(length_match.group(2)))
    if base in ("text", "character varying", "citext", "public.citext", "name", "character", "bpchar"):
        return ColumnType(base, "text", 1 if base in ("character", "bpchar") else None)
    if base in INTEGER_RANGES:
        return ColumnType(base, "integer")
    if base.startswith("numeric") or base in ("real", "double precision"):
        return ColumnType(base, "numeric")
    if base == "date":
        return ColumnType(base, "date")
    if base.startswith("timestamp") and "with time zone" in base:
        return ColumnType(base, "timestamptz")
    if base.startswith("timestamp"):
        return ColumnType(base, "timestamp")
    if base in ("uuid", "inet", "cidr"):
        return ColumnType(base, "inet" if base == "cidr" else base)
    if base in ("json", "jsonb"):
        return ColumnType(base, "json")
    if base == "boolean":
        return ColumnType(base, "bool")
    return ColumnType(base, "other")


class Keyed:
    """HMAC-SHA256 under the anonymisation key. The label names what is made (`fake:email`),
    never the column, so one input gives one output in every table."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, label: str, value: str, attempt: int = 0) -> bytes:
        return hmac.digest(self._key, f"{label}\0{attempt}\0{value}".encode(), hashlib.sha256)

    def stream(self, label: str, value: str, attempt: int = 0) -> Draw:
        return Draw(self, label, value, attempt)


class Draw:
    """An endless deterministic stream of numbers drawn from HMAC blocks."""

    __slots__ = ("_at", "_attempt", "_block", "_bytes", "_keyed", "_label", "_value")

    def __init__(self, keyed: Keyed, label: str, value: str, attempt: int) -> None:
        self._keyed, self._label, self._value, self._attempt = keyed, label, value, attempt
        self._block = 0
        self._bytes = keyed.digest(label, value, attempt)
        self._at = 0

    def _take(self, count: int) -> int:
        at = self._at
        if at + count > 32:
            self._block += 1
            self._bytes = self._keyed.digest(f"{self._label}#{self._block}", self._value, self._attempt)
            at = 0
        self._at = at + count
        return int.from_bytes(self._bytes[at : at + count], "big")

    def below(self, bound: int) -> int:
        """A number in [0, bound) (bias below 2**-16 for the small bounds, 2**-32 else)."""
        if bound <= 1:
            return 0
        return self._take(4 if bound < 65536 else 8) % bound

    def between(self, low: int, high: int) -> int:
        span = high - low + 1
        if span < 2**32:
            return low + self.below(span)
        return low + self._take(16) % span

    def choice(self, items: tuple[str, ...]) -> str:
        return items[self.below(len(items))]

    def raw(self, count: int) -> bytes:
        """`count` bytes of the stream, at once."""
        parts = []
        while count > 0:
            take = min(count, 32 - self._at) if self._at < 32 else 0
            if take == 0:
                self._take(1)  # moves to the next block
                self._at = 0
                continue
            parts.append(self._bytes[self._at : self._at + take])
            self._at += take
            count -= take
        return b"".join(parts)


def fit(text: str, length: int | None) -> str:
    return text if length is None else text[:length]


def reshape(draw: Draw, value: str) -> str:
    """The value with every digit and letter replaced by a drawn one of the same kind and
    case: lengths, separators and most CHECK patterns hold (phones, SSNs, postcodes, IBANs)."""
    pool = draw.raw(2 * len(value))
    out = []
    for index, char in enumerate(value):
        number = pool[2 * index] << 8 | pool[2 * index + 1]
        if char.isdigit():
            out.append(DIGITS[number % 10])
        elif "a" <= char <= "z":
            out.append(LOWER[number % 26])
        elif "A" <= char <= "Z":
            out.append(UPPER[number % 26])
        else:
            out.append(char)
    return "".join(out)


DIGITS = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()


# --------------------------------------------------------------------------- fake kinds


def _locale(options: Mapping[str, Any]) -> words.Locale:
    return words.LOCALES[str(options.get("locale") or words.DEFAULT_LOCALE)]


# German spellings first (ä -> ae), then every other accent dropped (é -> e).
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
                       "æ": "ae", "œ": "oe", "Œ": "Oe", "ø": "o"})  # fmt: skip


def ascii_fold(text: str) -> str:
    """`text` in ASCII letters, for e-mail addresses and user names made from names."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-_"))


def _first(draw: Draw, locale: words.Locale = words.EN) -> str:
    return draw.choice(locale.first_names)


def _last(draw: Draw, locale: words.Locale = words.EN) -> str:
    return draw.choice(locale.last_names)


def _email(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    locale = _locale(options)
    local = f"{ascii_fold(_first(draw, locale)).lower()}.{ascii_fold(_last(draw, locale)).lower()}{draw.below(10000)}"
    domain = str(options.get("domain") or draw.choice(words.EMAIL_DOMAINS))
    if ctype.length is not None and len(local) + 1 + len(domain) > ctype.length:
        local = local[: max(1, ctype.length - 1 - len(domain))]
    return fit(f"{local}@{domain}", ctype.length)


def _name(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    locale = _locale(options)
    return fit(f"{_first(draw, locale)} {_last(draw, locale)}", ctype.length)


def _first_name(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    return fit(_first(draw, _locale(options)), ctype.length)


def _last_name(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    return fit(_last(draw, _locale(options)), ctype.length)


def _username(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    locale = _locale(options)
    first, last = ascii_fold(_first(draw, locale)).lower(), ascii_fold(_last(draw, locale)).lower()
    return fit(f"{first}{last[:4]}{draw.below(1000)}", ctype.length)


def _phone(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    if sum(c.isdigit() for c in value) >= 4:
        # Keep the shape, and the country prefix of an international number.
        prefix = re.match(r"\+\d{1,2}[ -]?", value)
        head = prefix.group(0) if prefix else ""
        return fit(head + reshape(draw, value[len(head) :]), ctype.length)
    locale = _locale(options)
    if locale is words.EN:
        return fit(f"555-{draw.between(100, 999)}-{draw.between(1000, 9999)}", ctype.length)
    return fit("".join(str(draw.below(10)) if c == "#" else c for c in locale.phone_format), ctype.length)


def _pattern(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    return fit(reshape(draw, value), ctype.length)


def _street_line(draw: Draw, locale: words.Locale) -> str:
    number = draw.between(1, 999)
    name = draw.choice(locale.street_names)
    return locale.street_format.format(number=number, name=name, suffix=draw.choice(locale.street_suffixes))


def _address(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    locale = _locale(options)
    line = _street_line(draw, locale)
    if "\n" in value or "," in value:
        line += f", {draw.choice(locale.cities)}"
    return fit(line, ctype.length)


def _street_kind(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    return fit(_street_line(draw, _locale(options)), ctype.length)


def _city(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    return fit(draw.choice(_locale(options).cities), ctype.length)


def _company(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    locale = _locale(options)
    return fit(f"{_last(draw, locale)} {draw.choice(locale.company_suffixes)}", ctype.length)


def _text(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    target = max(len(value), 1)
    if ctype.length is not None:
        target = min(target, ctype.length)
    # Every word is at least 2 letters and a space: target // 3 + 1 words always suffice.
    pool = draw.raw(2 * (target // 3 + 1))
    vocabulary = _locale(options).words
    count = len(vocabulary)
    parts: list[str] = []
    size = 0
    index = 0
    while size < target:
        word = vocabulary[(pool[index] << 8 | pool[index + 1]) % count]
        index += 2
        parts.append(word)
        size += len(word) + 1
    sentence = " ".join(parts)
    sentence = sentence[:1].upper() + sentence[1:]
    if ctype.length is None or len(sentence) < ctype.length:
        sentence += "."
    return fit(sentence, ctype.length)


def _url(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    # The same in every locale: host names and paths stay ASCII.
    return fit(f"https://{draw.choice(words.WORDS)}.example.com/{draw.choice(words.WORDS)}", ctype.length)


def _credit_card(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    digits = "4" + "".join(str(draw.below(10)) for _ in range(14))
    total = 0
    for index, char in enumerate(reversed(digits)):  # Luhn: double every second from the right
        number = int(char) * (2 if index % 2 == 0 else 1)
        total += number - 9 if number > 9 else number
    digits += str((10 - total % 10) % 10)
    if sum(c.isdigit() for c in value) == 16:
        it = iter(digits)
        return fit("".join(next(it) if c.isdigit() else c for c in value), ctype.length)
    return fit(digits, ctype.length)


def _ip(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    if ":" in value:  # IPv6: a unique local address (fd00::/8)
        return "fd00::" + ":".join(f"{draw.below(65536):x}" for _ in range(4))
    return f"10.{draw.below(256)}.{draw.below(256)}.{draw.between(1, 254)}"


def _uuid(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    return str(uuid.UUID(int=draw.between(0, 2**128 - 1), version=4))


def _number(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    low, high = INTEGER_RANGES.get(ctype.name, (1, 2147483647))
    low = int(options.get("min", low))
    high = int(options.get("max", high))
    return str(draw.between(low, high))


def _parse_day(text: Any, option: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise StrategyError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None


def _date(draw: Draw, value: str, ctype: ColumnType, options: Mapping[str, Any]) -> str:
    start = _parse_day(options.get("from", "1940-01-01"), "from")
    end = _parse_day(options.get("to", "2005-12-31"), "to")
    day = start + timedelta(days=draw.below((end - start).days + 1))
    if ctype.category == "date":
        return day.isoformat()
    moment = datetime(day.year, day.month, day.day) + timedelta(seconds=draw.below(86400))
    return moment.isoformat(sep=" ") + ("+00" if ctype.category == "timestamptz" else "")


SUFFIX_AFTER = 20  # attempts at a plain value before a unique column gets numbered ones

FakeKind = Callable[[Draw, str, ColumnType, Mapping[str, Any]], str]

TEXTUAL = frozenset({"text"})
FAKE_KINDS: dict[str, tuple[FakeKind, frozenset[str]]] = {
    "email": (_email, TEXTUAL),
    "name": (_name, TEXTUAL),
    "first_name": (_first_name, TEXTUAL),
    "last_name": (_last_name, TEXTUAL),
    "username": (_username, TEXTUAL),
    "phone": (_phone, TEXTUAL),
    "address": (_address, TEXTUAL),
    "street": (_street_kind, TEXTUAL),
    "city": (_city, TEXTUAL),
    "postcode": (_pattern, TEXTUAL),
    "pattern": (_pattern, TEXTUAL),
    "company": (_company, TEXTUAL),
    "text": (_text, TEXTUAL),
    "url": (_url, TEXTUAL),
    "credit_card": (_credit_card, TEXTUAL),
    "ip": (_ip, frozenset({"text", "inet"})),
    "uuid": (_uuid, frozenset({"text", "uuid"})),
    "number": (_number, frozenset({"integer", "text"})),
    "date": (_date, frozenset({"date", "timestamp", "timestamptz"})),
}

# What `fake` makes when the rule does not say: guessed from the column's name, then its type.
NAME_HINTS: tuple[tuple[str, str], ...] = (
    (r"e[-_ ]?mail", "email"),
    (r"first_?name|given_?name|forename", "first_name"),
    (r"last_?name|surname|family_?name", "last_name"),
    (r"user_?name|login|handle|nickname", "username"),
    (r"phone|mobile|fax|tel(ephone)?$|msisdn", "phone"),
    (r"card|cc_?num|pan$", "credit_card"),
    (r"ssn|social_?security|national_?id|passport|tax_?id|iban|account_?(no|num)", "pattern"),
    (r"zip|post_?code|postal", "postcode"),
    (r"city|town", "city"),
    (r"street", "street"),
    (r"address", "address"),
    (r"company|employer|organi[sz]ation|business", "company"),
    (r"(^|_)ip(_|$)|ip_?addr", "ip"),
    (r"url|website|homepage", "url"),
    (r"birth|dob", "date"),
    (r"name", "name"),
    (r"note|comment|bio|body|message|description|text|remark", "text"),
)
TYPE_HINTS = {
    "inet": "ip",
    "uuid": "uuid",
    "integer": "number",
    "date": "date",
    "timestamp": "date",
    "timestamptz": "date",
}


def guess_fake_kind(column: str, ctype: ColumnType) -> str | None:
    for pattern, kind in NAME_HINTS:
        if re.search(pattern, column, re.IGNORECASE) and ctype.category in FAKE_KINDS[kind][1]:
            return kind
    if ctype.category == "text":
        return "text"
    return TYPE_HINTS.get(ctype.category)


# --------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class Spec:
    """One strategy with its settings, as the config names it."""

    strategy: str
    kind: str | None = None
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def describe(self) -> str:
        return f"{self.strategy}:{self.kind}" if self.kind else self.strategy


OPTIONS: dict[str, frozenset[str]] = {
    "fake": frozenset({"from", "to", "domain", "min", "max", "locale"}),
    "mask": frozenset({"keep_last", "keep_first", "char"}),
    "hash": frozenset({"salt", "length"}),
    "null": frozenset(),
    "constant": frozenset({"value"}),
    "noise": frozenset({"percent", "amount", "days", "min", "max"}),
    "keep": frozenset(),
}


def compile_spec(spec: Spec, keyed: Keyed, column: str, ctype: ColumnType) -> ValueFunction:
    """The value function of `spec` on a column of type `ctype`; StrategyError when the
    strategy cannot make values of that type."""
    unknown = sorted({name for name, _ in spec.options} - OPTIONS[spec.strategy])
    if unknown:
        raise StrategyError(f"{spec.strategy}: unknown option {unknown[0]!r}")
    builder = BUILDERS[spec.strategy]
    return builder(spec, keyed, column, ctype)


def _build_fake(spec: Spec, keyed: Keyed, column: str, ctype: ColumnType) -> ValueFunction:
    kind = spec.kind or guess_fake_kind(column, ctype)
    if kind is None:
        raise StrategyError(f"fake: cannot guess what to make for a {ctype.name} column; write fake:KIND")
    if kind not in FAKE_KINDS:
        raise StrategyError(f"fake: unknown kind {kind!r} (known: {', '.join(sorted(FAKE_KINDS))})")
    make, categories = FAKE_KINDS[kind]
    if ctype.category not in categories:
        raise StrategyError(f"fake:{kind} makes no {ctype.name} values")
    locale = spec.option("locale")
    if locale is not None and locale not in words.LOCALES:
        raise StrategyError(f"fake: unknown locale {locale!r} (known: {', '.join(words.LOCALES)})")
    if kind == "date":
        _parse_day(spec.option("from", "1940-01-01"), "from")
        _parse_day(spec.option("to", "2005-12-31"), "to")
    label = f"fake:{kind}"
    options = dict(spec.options)

    def fake(value: str, attempt: int) -> str:
        made = make(keyed.stream(label, value, attempt), value, ctype, options)
        if attempt >= SUFFIX_AFTER and categories is TEXTUAL:
            # A unique column with more values than the word lists can name apart: a numbered
            # variant, still deterministic, always found.
            suffix = f" {attempt - SUFFIX_AFTER + 2}"
            keep = len(made) if ctype.length is None else max(0, ctype.length - len(suffix))
            made = made[:keep] + suffix
        return made

    return fake


def _build_mask(spec: Spec, keyed: Keyed, column: str, ctype: ColumnType) -> ValueFunction:
    if ctype.category != "text":
        raise StrategyError(f"mask keeps a text pattern; {ctype.name} is not text")
    keep_last = int(spec.option("keep_last", 4))
    keep_first = int(spec.option("keep_first", 0))
    char = str(spec.option("char", "*"))[:1] or "*"

    def mask(value: str, attempt: int) -> str:
        positions = [i for i, c in enumerate(value) if c.isalnum()]
        kept = set(positions[:keep_first]) | set(positions[len(positions) - keep_last :] if keep_last else ())
        if len(kept) >= len(positions):
            kept = set()  # too short to keep anything without giving it all away
        return "".join(c if (i in kept or not c.isalnum()) else char for i, c in enumerate(value))

    return mask


def _build_hash(spec: Spec, keyed: Keyed, column: str, ctype: ColumnType) -> ValueFunction:
    salt = str(spec.option("salt", ""))
    label = f"hash:{salt}"
    if ctype.category == "integer":
        low, high = INTEGER_RANGES[ctype.name]
        return lambda value, attempt: str(keyed.stream(label, value, attempt).between(low, high))
    if ctype.category == "uuid":
        return lambda value, attempt: str(
            uuid.UUID(bytes=keyed.digest(label, value, attempt)[:16], version=4)
        )
    if ctype.category != "text":
        raise StrategyError(f"hash makes text, integer or uuid values; not {ctype.name}")
    length = int(spec.option("length", 64))
    if ctype.length is not None:
        length = min(length, ctype.length)

    def hashed(value: str, attempt: int) -> str:
        digest = keyed.digest(label, value, attempt).hex()
        while len(digest) < length:
            digest += keyed.digest(label + digest[-8:], value, attempt).hex()
        return digest[:length]

    return hashed


def _build_null(spec: Spec, keyed: Keyed, column: str, ctype: ColumnType) -> ValueFunction:
    return lambda value, attempt: None


def _build_constant(spec: Spec, keyed: Keyed, column: str, ctype: ColumnType) -> ValueFunction:
    if "value" not in dict(spec.options):
        raise StrategyError("constant needs a value: {strategy: constant, value: ...}")
    raw = spec.option("value")
    if raw is None:
        return lambda value, attempt: None
    text = (
        json.dumps(raw)
        if ctype.category == "json"
        else str(raw).lower()
        if isinstance(raw, bool)
        else str(raw)
    )
    return lambda value, attempt: text


def _build_noise(spec: Spec, keyed: Keyed, column: str, ctype: ColumnType) -> ValueFunction:
    label = "noise"
    if ctype.category in ("integer", "numeric"):
        percent = spec.option("percent")
        amount = spec.option("amount")
        if percent is None and amount is None:
            percent = 10
        low_bound = spec.option("min")
        high_bound = spec.option("max")
        if ctype.category == "integer":
            type_low, type_high = INTEGER_RANGES[ctype.name]
            low_bound = type_low - 1 if low_bound is None else low_bound
            high_bound = type_high if high_bound is None else high_bound

        def noisy(value: str, attempt: int) -> str:
            try:
                number = Decimal(value)
            except InvalidOperation:
                return value  # NaN, Infinity: nothing to move
            if not number.is_finite():
                return value
            spread = (
                abs(number) * Decimal(str(percent)) / 100 if percent is not None else Decimal(str(amount))
            )
            fraction = Decimal(keyed.stream(label, value, attempt).between(-(10**6), 10**6)) / 10**6
            moved = number + spread * fraction
            if low_bound is not None:
                moved = max(moved, Decimal(str(low_bound)))
            if high_bound is not None:
                moved = min(moved, Decimal(str(high_bound)))
            if ctype.category == "integer":
                return str(int(moved.to_integral_value()))
            exponent = number.as_tuple().exponent
            places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
            return str(moved.quantize(Decimal(1).scaleb(-places)))  # the input's scale

        return noisy
    if ctype.category in ("date", "timestamp", "timestamptz"):
        days = int(spec.option("days", 30))

        def shifted(value: str, attempt: int) -> str:
            draw = keyed.stream(label, value, attempt)
            if ctype.category == "date":
                try:
                    day = date.fromisoformat(value)
                except ValueError:
                    return value  # infinity, BC dates: left as they are
                return (day + timedelta(days=draw.between(-days, days))).isoformat()
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            moment += timedelta(seconds=draw.between(-days * 86400, days * 86400))
            text = moment.isoformat(sep=" ")
            return text

        return shifted
    raise StrategyError(f"noise moves numbers and dates; {ctype.name} is neither")


def _build_keep(spec: Spec, keyed: Keyed, column: str, ctype: ColumnType) -> ValueFunction:
    return lambda value, attempt: value


BUILDERS: dict[str, Callable[[Spec, Keyed, str, ColumnType], ValueFunction]] = {
    "fake": _build_fake,
    "mask": _build_mask,
    "hash": _build_hash,
    "null": _build_null,
    "constant": _build_constant,
    "noise": _build_noise,
    "keep": _build_keep,
}
