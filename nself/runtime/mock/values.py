"""Deterministic value generators for mock data.

Every value derives from (seed, table, column, row) only: a 64-bit key is hashed from the
first three (BLAKE2b), and row r draws splitmix64(key + r * golden) — a bijection of r, so
draws are distinct per row and need no state. Generating one table alone therefore gives
the same rows as generating all, in any order, in any process. Draws are vectorised with
numpy over whole blocks of rows; numpy's own random distributions are not used, since
their streams may change between releases. GENERATOR_VERSION names this algorithm and the
word lists in words.py: change either and bump it (it is recorded in mock.seed)."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from nself.backends.mock import ColumnPlan
from nself.runtime.mock import words

GENERATOR_VERSION = 1

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Values = list[str | None]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


class GeneratorError(ValueError):
    pass


def stream_key(seed: int, table: str, column: str, salt: str = "") -> np.uint64:
    text = f"nself-mock-v{GENERATOR_VERSION}\0{seed}\0{table}\0{column}\0{salt}".encode()
    return np.uint64(int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little"))


def splitmix64(x: U64) -> U64:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))  # type: ignore[no-any-return]


def draws(key: np.uint64, rows: I64) -> U64:
    with np.errstate(over="ignore"):
        return splitmix64(rows.astype(np.uint64) * _GOLDEN + key)


def again(u: U64, n: int) -> U64:
    """The n-th further independent draw for the same rows."""
    with np.errstate(over="ignore"):
        return splitmix64(u ^ np.uint64((0xD1B54A32D192ED03 * (n + 1)) & 0xFFFFFFFFFFFFFFFF))


def below(u: U64, n: int) -> I64:
    """Integers in [0, n)."""
    return (u % np.uint64(max(n, 1))).astype(np.int64)


def unit(u: U64) -> npt.NDArray[np.float64]:
    """Floats in [0, 1)."""
    return (u >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def pick(options: tuple[str, ...] | list[str], u: U64) -> list[str]:
    table = np.array(options, dtype=object)
    return list(table[below(u, len(options))])


@dataclass
class Context:
    column: ColumnPlan
    rows: I64
    u: U64
    anchor: np.datetime64

    @property
    def params(self) -> dict[str, Any]:
        return self.column.params

    def n(self, name: str, default: float) -> float:
        value = self.params.get(name, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise GeneratorError(f"column {self.column.name}: {name} must be a number, not {value!r}") from None


# --------------------------------------------------------------------------- text


def _join(parts: list[npt.NDArray[np.object_]], separator: str) -> list[str]:
    """Element-wise join of equally long arrays of strings: one str.join per row."""
    return list(map(separator.join, zip(*parts, strict=True)))


@dataclass(frozen=True)
class Joined:
    """A text column whose row r is `separator.join(part[r] for part in parts)`, not yet
    joined: COPY's binary writer lays the parts out in the block as they are, with each
    row's length from theirs, instead of making one new string per row and copying it again
    (a block of 3-paragraph bodies: five times less CPU). `values()` is the column."""

    parts: list[npt.NDArray[np.object_]]
    separator: str
    # Each row's length in characters and whether every part is ASCII, when the parts were
    # picked from lists whose lengths are known (None: not known).
    lengths: npt.NDArray[np.int64] | None = None
    ascii: bool | None = None

    def values(self) -> Values:
        return list(_join(self.parts, self.separator))


# A part of a Joined column: its values, their lengths, whether all are ASCII.
Part = tuple[npt.NDArray[np.object_], npt.NDArray[np.int64], bool]


@dataclass(frozen=True)
class _Choices:
    values: npt.NDArray[np.object_]
    lengths: npt.NDArray[np.int64]
    ascii: bool

    def pick(self, u: U64) -> Part:
        """Values picked by draws, as `_pick_array` picks them, with their lengths."""
        index = below(u, len(self.values))
        return self.values[index], self.lengths[index], self.ascii


def _choices_of(values: npt.NDArray[np.object_]) -> _Choices:
    listed = values.tolist()
    lengths = np.fromiter(map(len, listed), dtype=np.int64, count=len(listed))
    return _Choices(values, lengths, all(map(str.isascii, listed)))


@functools.cache
def _choices(options: tuple[str, ...]) -> _Choices:
    return _choices_of(np.array(options, dtype=object))


def _joined_parts(parts: list[Part], separator: str) -> Joined:
    lengths = np.full(len(parts[0][0]), len(separator) * (len(parts) - 1), dtype=np.int64)
    for _values, sizes, _ascii in parts:
        lengths += sizes
    ascii = separator.isascii() and all(a for _v, _s, a in parts)
    return Joined([v for v, _s, _a in parts], separator, lengths, ascii)


def _pick_array(options: tuple[str, ...], u: U64) -> npt.NDArray[np.object_]:
    return np.array(options, dtype=object)[below(u, len(options))]  # type: ignore[no-any-return]


def _words(u: U64, count: int) -> list[str]:
    if count < 1 or len(u) == 0:
        return [""] * len(u)
    return _join([_pick_array(words.WORDS, again(u, i)) for i in range(count)], " ")


_POOL_SIZE = 4096


@functools.cache
def _sentence_pool() -> npt.NDArray[np.object_]:
    """A fixed pool of sentences (5 to 10 words) that paragraphs draw from: one lookup per
    sentence instead of one per word. Part of the algorithm GENERATOR_VERSION names."""
    rows = np.arange(_POOL_SIZE, dtype=np.int64)
    u = draws(stream_key(0, "pool", "sentence"), rows)
    lengths = (below(u, 6) + 5).tolist()
    columns = [_pick_array(words.WORDS, again(u, k)).tolist() for k in range(10)]
    pool = []
    for row, length in enumerate(lengths):
        text = " ".join(columns[k][row] for k in range(length))
        pool.append(text[:1].upper() + text[1:] + ".")
    return np.array(pool, dtype=object)


def _sentences(u: U64, count: int) -> list[str]:
    pool = _sentence_pool()
    return _join([pool[below(again(u, 100 + i), _POOL_SIZE)] for i in range(count)], " ")


@functools.cache
def _paragraph_pool() -> npt.NDArray[np.object_]:
    """A fixed pool of three-sentence paragraphs, drawn from the sentence pool."""
    rows = np.arange(_POOL_SIZE, dtype=np.int64)
    return np.array(_sentences(draws(stream_key(0, "pool", "paragraph"), rows), 3), dtype=object)


def gen_word(ctx: Context) -> Values:
    return list(pick(words.WORDS, ctx.u))


def gen_words(ctx: Context) -> Values:
    return list(_words(ctx.u, max(1, int(ctx.n("count", 3)))))


@functools.cache
def _sentence_words() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """WORDS as a sentence's first word (capitalised), last word (with its full stop), and
    only word (both): a sentence is then one join of picks, with nothing done per row."""
    first = tuple(w[:1].upper() + w[1:] for w in words.WORDS)
    return first, tuple(w + "." for w in words.WORDS), tuple(w + "." for w in first)


def gen_sentence(ctx: Context) -> Values:
    return joined_sentence(ctx).values()


def joined_sentence(ctx: Context) -> Joined:
    if "words" not in ctx.params:
        return _joined_parts([_pool_choices("sentence").pick(again(ctx.u, 100))], " ")
    count = max(1, int(ctx.n("words", 6)))
    first, last, only = _sentence_words()
    parts = [_choices(words.WORDS).pick(again(ctx.u, i)) for i in range(count)]
    if count == 1:
        parts[0] = _choices(only).pick(again(ctx.u, 0))
    else:
        parts[0] = _choices(first).pick(again(ctx.u, 0))
        parts[-1] = _choices(last).pick(again(ctx.u, count - 1))
    return _joined_parts(parts, " ")


@functools.cache
def _pool_choices(name: str) -> _Choices:
    return _choices_of(_sentence_pool() if name == "sentence" else _paragraph_pool())


def gen_paragraph(ctx: Context) -> Values:
    sentences = int(ctx.n("sentences", 3))
    if sentences == 3:
        return list(_paragraph_pool()[below(ctx.u, _POOL_SIZE)])
    return list(_sentences(ctx.u, max(1, sentences)))


def gen_paragraphs(ctx: Context) -> Values:
    return joined_paragraphs(ctx).values()


def joined_paragraphs(ctx: Context) -> Joined:
    pool = _pool_choices("paragraph")
    count = max(1, int(ctx.n("count", 3)))
    return _joined_parts([pool.pick(again(ctx.u, 300 + i)) for i in range(count)], "\n\n")


def gen_first_name(ctx: Context) -> Values:
    return list(pick(words.FIRST_NAMES, ctx.u))


def gen_last_name(ctx: Context) -> Values:
    return list(pick(words.LAST_NAMES, ctx.u))


def gen_full_name(ctx: Context) -> Values:
    return joined_full_name(ctx).values()


def joined_full_name(ctx: Context) -> Joined:
    firsts = _choices(words.FIRST_NAMES).pick(ctx.u)
    return _joined_parts([firsts, _choices(words.LAST_NAMES).pick(again(ctx.u, 1))], " ")


@functools.cache
def _email_parts() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    return (
        tuple(f.lower() + "." for f in words.FIRST_NAMES),
        tuple(s.lower() for s in words.LAST_NAMES),
        tuple("@" + d for d in words.DOMAINS),
    )


def gen_email(ctx: Context) -> Values:
    return joined_email(ctx).values()


def joined_email(ctx: Context) -> Joined:
    firsts, lasts, domains = _email_parts()
    # The row number makes every address distinct, so unique e-mail columns never collide.
    listed = list(map(str, ctx.rows.tolist()))
    numbers: Part = (
        np.array(listed, dtype=object),
        np.fromiter(map(len, listed), dtype=np.int64, count=len(listed)),
        True,
    )
    parts = [_choices(firsts).pick(ctx.u), _choices(lasts).pick(again(ctx.u, 1)), numbers]
    return _joined_parts([*parts, _choices(domains).pick(again(ctx.u, 2))], "")


def gen_username(ctx: Context) -> Values:
    firsts = pick(words.FIRST_NAMES, ctx.u)
    return [f"{f.lower()}{r}" for f, r in zip(firsts, ctx.rows.tolist(), strict=True)]


def gen_slug(ctx: Context) -> Values:
    return [f"{w.replace(' ', '-')}-{r}" for w, r in zip(_words(ctx.u, 3), ctx.rows.tolist(), strict=True)]


def gen_company(ctx: Context) -> Values:
    names, suffixes = pick(words.LAST_NAMES, ctx.u), pick(words.COMPANY_SUFFIXES, again(ctx.u, 1))
    return [f"{n} {s}" for n, s in zip(names, suffixes, strict=True)]


def gen_city(ctx: Context) -> Values:
    return list(pick(words.CITIES, ctx.u))


def gen_country(ctx: Context) -> Values:
    return list(pick(words.COUNTRIES, ctx.u))


def gen_address(ctx: Context) -> Values:
    numbers = (below(ctx.u, 999) + 1).tolist()
    streets, suffixes = pick(words.WORDS[:100], again(ctx.u, 1)), pick(words.STREET_SUFFIXES, again(ctx.u, 2))
    return [f"{n} {s.title()} {x}" for n, s, x in zip(numbers, streets, suffixes, strict=True)]


def gen_phone(ctx: Context) -> Values:
    digits = below(ctx.u, 10_000_000).tolist()
    return [f"+1-555-{d // 10000:03d}-{d % 10000:04d}" for d in digits]


def gen_url(ctx: Context) -> Values:
    return [f"https://{w.replace(' ', '-')}.example.com/" for w in _words(ctx.u, 2)]


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLES = np.arange(60, -4, -4, dtype=np.uint64)  # most significant first


def gen_avatar(ctx: Context) -> Values:
    """https://avatars.example.com/<the draw as 16 hex digits>.png, laid out by numpy."""
    prefix, suffix = b"https://avatars.example.com/", b".png"
    count = len(ctx.u)
    if count == 0:
        return []
    grid = np.empty((count, len(prefix) + 16 + len(suffix)), dtype=np.uint8)
    grid[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    nibbles = (ctx.u[:, None] >> _NIBBLES) & np.uint64(15)
    grid[:, len(prefix) : len(prefix) + 16] = _HEX_DIGITS[nibbles.astype(np.intp)]
    grid[:, len(prefix) + 16 :] = np.frombuffer(suffix, dtype=np.uint8)
    return cast(Values, cut(grid.tobytes().decode("ascii"), grid.shape[1]))


def cut(text: str, width: int) -> list[str]:
    """`text` in pieces of `width` characters (a regular expression's loop, not Python's)."""
    return re.compile(f"(?s).{{{width}}}").findall(text)


def gen_color(ctx: Context) -> Values:
    return [f"#{int(x) & 0xFFFFFF:06x}" for x in ctx.u.tolist()]


def gen_uuid(ctx: Context) -> Values:
    high = again(ctx.u, 1).tolist()
    out: Values = []
    for a, b in zip(high, ctx.u.tolist(), strict=True):
        h = f"{(int(a) & 0xFFFFFFFFFFFF0FFF) | 0x4000:016x}{(int(b) & 0x3FFFFFFFFFFFFFFF) | 0x8000000000000000:016x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


def gen_json(ctx: Context) -> Values:
    keys, values = pick(words.WORDS, ctx.u), pick(words.WORDS, again(ctx.u, 1))
    numbers = below(again(ctx.u, 2), 1000).tolist()
    return [f'{{"{k}": "{v}", "n": {n}}}' for k, v, n in zip(keys, values, numbers, strict=True)]


def gen_bytes(ctx: Context) -> Values:
    length = max(1, min(int(ctx.n("length", 8)), 8))
    return ["\\x" + f"{int(x):016x}"[: length * 2] for x in ctx.u.tolist()]


def gen_ip(ctx: Context) -> Values:
    return [f"10.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}" for x in (int(v) for v in ctx.u.tolist())]


def gen_mac(ctx: Context) -> Values:
    return [":".join(f"{(int(x) >> s) & 255:02x}" for s in (40, 32, 24, 16, 8, 0)) for x in ctx.u.tolist()]


def gen_bits(ctx: Context) -> Values:
    match = re.search(r"\((\d+)\)", ctx.column.base_type)
    length = int(match.group(1)) if match else 8
    return [format(int(x), "064b")[:length] for x in ctx.u.tolist()]


def gen_ltree(ctx: Context) -> Values:
    return [".".join(w.split()) for w in _words(ctx.u, 3)]


def gen_point(ctx: Context) -> Values:
    xs, ys = unit(ctx.u) * 100, unit(again(ctx.u, 1)) * 100
    return [f"({x:.3f},{y:.3f})" for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]


# --------------------------------------------------------------------------- numbers


def _bounds(ctx: Context, low: float, high: float, step: float) -> tuple[float, float]:
    rules = ctx.column.rules
    low = max(low, ctx.n("min", low))
    high = min(high, ctx.n("max", high))
    if rules.minimum is not None:
        low = max(low, rules.minimum + (step if rules.min_exclusive else 0))
        high = max(high, low)
    if rules.maximum is not None:
        high = min(high, rules.maximum - (step if rules.max_exclusive else 0))
        low = min(low, high)
    if low > high:
        raise GeneratorError(f"column {ctx.column.name}: no value between {low} and {high}")
    return low, high


def typed_integer(ctx: Context) -> I64:
    low, high = _bounds(ctx, -(2**62), 2**62, 1)
    low, high = int(np.ceil(low)), int(np.floor(high))
    if ctx.column.unique:
        if high - low + 1 < int(ctx.rows.max(initial=0)) + 1:
            high = low + int(ctx.rows.max(initial=0))
        return (ctx.rows.astype(object) + low).astype(np.int64)
    span = high - low + 1
    return (ctx.u.astype(object) % span + low).astype(np.int64)


def gen_integer(ctx: Context) -> Values:
    return list(map(str, typed_integer(ctx).tolist()))


def gen_number(ctx: Context) -> Values:
    precision = int(ctx.n("precision", 2))
    step = 10.0**-precision
    low, high = _bounds(ctx, -1e12, 1e12, step)
    if ctx.column.unique:
        return [f"{low + r * step:.{precision}f}" for r in ctx.rows.tolist()]
    values = low + unit(ctx.u) * (high - low)
    return [f"{v:.{precision}f}" for v in np.clip(np.round(values, precision), low, high).tolist()]


def typed_boolean(ctx: Context) -> npt.NDArray[np.bool_]:
    return unit(ctx.u) < ctx.n("probability", 0.5)


def gen_boolean(ctx: Context) -> Values:
    return ["t" if x else "f" for x in typed_boolean(ctx).tolist()]


def typed_sequence(ctx: Context) -> I64:
    return ctx.rows + int(ctx.n("start", 1))


def gen_sequence(ctx: Context) -> Values:
    return list(map(str, typed_sequence(ctx).tolist()))


# --------------------------------------------------------------------------- time


@functools.cache
def _clock_times() -> npt.NDArray[np.object_]:
    """'HH:MM:SS' for every second of a day: looked up, not formatted, per value."""
    return np.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)], dtype=object)


def _datetimes(ctx: Context, offsets: npt.NDArray[np.int64]) -> Values:
    """Dates or timestamps `offsets` seconds from the anchor. Days are formatted once per
    distinct day and times come from a table, which is several times faster than
    formatting every timestamp."""
    moments = ctx.anchor + offsets.astype("timedelta64[s]")
    days = moments.astype("datetime64[D]")
    first = days.min() if len(days) else ctx.anchor.astype("datetime64[D]")
    day_index = (days - first).astype(np.int64)
    day_names = np.array(
        np.datetime_as_string(np.arange(first, first + int(day_index.max(initial=0)) + 1), unit="D"), dtype=object
    )
    dates = day_names[day_index]
    base = ctx.column.base_type
    if base == "date":
        return list(dates)
    seconds = (moments - days).astype(np.int64)
    suffix = "+00" if "with time zone" in base else ""
    return list(dates + " " + _clock_times()[seconds] + suffix)


def _past_offsets(ctx: Context) -> npt.NDArray[np.int64]:
    span = max(1, int(ctx.n("years", 2) * 365.25 * 86400))
    if ctx.column.unique:
        return -ctx.rows * 61 - 1
    return -below(ctx.u, span) - 1


def _future_offsets(ctx: Context) -> npt.NDArray[np.int64]:
    span = max(1, int(ctx.n("years", 1) * 365.25 * 86400))
    if ctx.column.unique:
        return ctx.rows * 61 + 1
    return below(ctx.u, span) + 1


def typed_past_date(ctx: Context) -> npt.NDArray[np.datetime64]:
    return ctx.anchor + _past_offsets(ctx).astype("timedelta64[s]")


def typed_future_date(ctx: Context) -> npt.NDArray[np.datetime64]:
    return ctx.anchor + _future_offsets(ctx).astype("timedelta64[s]")


def gen_past_date(ctx: Context) -> Values:
    return _datetimes(ctx, _past_offsets(ctx))


def gen_future_date(ctx: Context) -> Values:
    return _datetimes(ctx, _future_offsets(ctx))


def gen_time(ctx: Context) -> Values:
    seconds = below(ctx.u, 86400).tolist()
    return [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in seconds]


def gen_interval(ctx: Context) -> Values:
    return [f"{d} days {h} hours" for d, h in zip(below(ctx.u, 30).tolist(), below(again(ctx.u, 1), 24).tolist(), strict=True)]


# --------------------------------------------------------------------------- ranges


def _range_literal(base: str, lows: list[int], highs: list[int], ctx: Context) -> Values:
    if base in ("daterange", "tsrange", "tstzrange"):
        starts = _datetimes_for(base, ctx.anchor, np.array(lows, dtype=np.int64))
        ends = _datetimes_for(base, ctx.anchor, np.array(highs, dtype=np.int64))
        return [f'["{a}","{b}")' for a, b in zip(starts, ends, strict=True)]
    return [f"[{a},{b})" for a, b in zip(lows, highs, strict=True)]


def _datetimes_for(base: str, anchor: np.datetime64, offsets: npt.NDArray[np.int64]) -> list[str]:
    unit_seconds = 86400 if base == "daterange" else 1
    moments = anchor + (offsets * unit_seconds).astype("timedelta64[s]")
    text = np.datetime_as_string(moments, unit="s").tolist()
    if base == "daterange":
        return [t[:10] for t in text]
    return [t.replace("T", " ") + ("+00" if base == "tstzrange" else "") for t in text]


def gen_range(ctx: Context) -> Values:
    lows = below(ctx.u, 10_000).tolist()
    widths = (below(again(ctx.u, 1), 100) + 1).tolist()
    return _range_literal(ctx.column.base_type, lows, [a + w for a, w in zip(lows, widths, strict=True)], ctx)


def gen_disjoint_range(ctx: Context) -> Values:
    """Ranges that never overlap (for exclusion constraints with &&): row r owns the slot
    [r * 10, r * 10 + width) with width below 10."""
    widths = (below(ctx.u, 9) + 1).tolist()
    lows = [r * 10 for r in ctx.rows.tolist()]
    if ctx.column.base_type in ("tsrange", "tstzrange"):
        lows = [r * 3600 for r in ctx.rows.tolist()]
        widths = [w * 60 for w in widths]
    return _range_literal(ctx.column.base_type, lows, [a + w for a, w in zip(lows, widths, strict=True)], ctx)


# --------------------------------------------------------------------------- misc


def gen_enum(ctx: Context) -> Values:
    values = ctx.params.get("values", ())
    if not isinstance(values, (list, tuple)):
        raise GeneratorError(f"column {ctx.column.name}: values must be a list, not {values!r}")
    choices = ctx.column.rules.choices or tuple(str(v) for v in values)
    if not choices:
        raise GeneratorError(f"column {ctx.column.name}: enum generator needs values")
    return list(pick(choices, ctx.u))


def gen_constant(ctx: Context) -> Values:
    value = ctx.params.get("value")
    return [None if value is None else str(value)] * len(ctx.rows)


def gen_null(ctx: Context) -> Values:
    return [None] * len(ctx.rows)


GENERATORS: dict[str, Callable[[Context], Values]] = {
    "word": gen_word,
    "words": gen_words,
    "sentence": gen_sentence,
    "paragraph": gen_paragraph,
    "paragraphs": gen_paragraphs,
    "firstName": gen_first_name,
    "lastName": gen_last_name,
    "fullName": gen_full_name,
    "email": gen_email,
    "username": gen_username,
    "slug": gen_slug,
    "company": gen_company,
    "city": gen_city,
    "country": gen_country,
    "address": gen_address,
    "phone": gen_phone,
    "url": gen_url,
    "avatar": gen_avatar,
    "color": gen_color,
    "uuid": gen_uuid,
    "json": gen_json,
    "bytes": gen_bytes,
    "ipAddress": gen_ip,
    "macAddress": gen_mac,
    "bits": gen_bits,
    "point": gen_point,
    "ltree": gen_ltree,
    "integer": gen_integer,
    "number": gen_number,
    "boolean": gen_boolean,
    "sequence": gen_sequence,
    "pastDate": gen_past_date,
    "futureDate": gen_future_date,
    "time": gen_time,
    "interval": gen_interval,
    "range": gen_range,
    "disjointRange": gen_disjoint_range,
    "enum": gen_enum,
    "oneOf": gen_enum,
    "constant": gen_constant,
    "null": gen_null,
}

# The generators whose values can also come as numbers (for COPY's binary format): the
# same values as the text generators of the same name, before formatting.
TYPED_GENERATORS: dict[str, Callable[[Context], npt.NDArray[Any]]] = {
    "integer": typed_integer,
    "sequence": typed_sequence,
    "boolean": typed_boolean,
    "pastDate": typed_past_date,
    "futureDate": typed_future_date,
}

# The generators whose values can also come not yet joined (for COPY's binary format): the
# generators of the same name are these, joined.
JOINED_GENERATORS: dict[str, Callable[[Context], Joined]] = {
    "sentence": joined_sentence,
    "paragraphs": joined_paragraphs,
    "fullName": joined_full_name,
    "email": joined_email,
}
