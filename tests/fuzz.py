"""Seeded mutation fuzzing of the files users hand to nself: a few hundred broken variants of a
valid input per format, each read the way the command reads it. Every variant must either be
accepted or refused with one of the errors the CLI prints as one line (NselfError,
IRFormatError): never another exception (a traceback for the user) and never a hang.

The mutations are the ones that found bugs before: bytes that are not UTF-8, a cut anywhere,
deep nesting, a very long literal, a line doubled or dropped, brackets and quotes added."""

from __future__ import annotations

import random
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from nself.errors import NselfError
from nself.ir import IRFormatError

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (NselfError, IRFormatError)
SECONDS_PER_INPUT = 5


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _flip_byte(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return b"\xff"
    at = rng.randrange(len(data))
    return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]


def _not_utf8(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80\x80"]) + data[at:]


def _cut(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _nest(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    opener, closer = rng.choice([(b"[", b"]"), (b"{", b"}"), (b"(", b")")])
    depth = rng.choice([50, 500, 5000])
    return data[:at] + opener * depth + closer * rng.choice([0, depth]) + data[at:]


def _long_literal(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    quote = rng.choice([b"'", b'"', b"`", b""])
    body = rng.choice([b"a", b"'", b"\\", b"0", b" "]) * rng.choice([1000, 30000, 100000])
    return data[:at] + quote + body + quote + data[at:]


def _line_edit(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    at = rng.randrange(len(lines))
    if rng.random() < 0.5:
        lines.insert(at, lines[rng.randrange(len(lines))])
    else:
        del lines[at]
    return b"\n".join(lines)


def _insert_token(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    token = rng.choice(
        [b"[", b"]", b"{", b"}", b"(", b")", b"'", b'"', b":", b",", b"=", b"\x00", b"\t", b"-1", b"1e999",
         b"null", b"true", b"NaN", b"\\u0000", b"${x}", b"#", b"--", b"/*", b"\r"]
    )
    return data[:at] + token + data[at:]


MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    _flip_byte, _not_utf8, _cut, _nest, _long_literal, _line_edit, _insert_token,
)


def mutants(seed_input: bytes, count: int, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(count):
        data = seed_input
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            data = rng.choice(MUTATIONS)(rng, data)
        yield data


@dataclass
class Finding:
    data: bytes
    error: str

    def describe(self) -> str:
        return f"{self.error}\n  input starts: {self.data[:120]!r}"


def fuzz(read: Callable[[bytes], object], seed_input: bytes, *, count: int, seed: int) -> list[Finding]:
    """Read every mutant; the findings are the ones that neither read nor failed cleanly."""
    findings: list[Finding] = []
    for data in mutants(seed_input, count, seed):
        try:
            with time_limit(SECONDS_PER_INPUT):
                read(data)
        except EXPECTED_ERRORS as exc:
            message = str(exc)
            if "\n" in message.strip() or not message.strip():
                findings.append(Finding(data, f"not one line: {message!r}"))
        except Hang as exc:
            findings.append(Finding(data, f"hang: {exc}"))
        except Exception:  # the point of the harness: anything else is a traceback for the user
            findings.append(Finding(data, traceback.format_exc(limit=-3)))
    return findings
