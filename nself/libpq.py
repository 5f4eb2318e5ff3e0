"""A small ctypes binding to libpq for the command whose start-up is mostly psycopg's import:
`nself db query --csv` of one query, which runs as `COPY (query) TO STDOUT`. Importing
psycopg costs about 130 ms of CPU (its adapters, asyncio and ssl through psycopg.errors,
importlib.metadata for its version, ctypes.util); psql's whole run of a 100,000-row query
costs less. This binding needs ctypes alone, and loads the libpq psycopg itself uses (the
one psycopg-binary bundles, else the system's), so the connection is libpq's reading of the
same target with the same version.

Connect through `nself.connection.connect_libpq` (the one connection module: its rules for
the target, the application name, the timeout and the failures), never here directly.

Only what the COPY needs: connect, run a statement, check that a statement parses, and read
a COPY's rows. Every wait is on the socket in Python (poll), so Ctrl-C interrupts it and
the running statement is cancelled. Rows are read with `PQgetlineAsync` into one buffer:
one foreign call per row, where `PQgetCopyData` needs three (the call, a copy of the row,
and freeing libpq's copy)."""

from __future__ import annotations

import ctypes
import select
import time
from collections.abc import Iterator
from typing import Any

_OK, _BAD = 0, 1  # ConnStatusType
_POLLING_FAILED, _POLLING_READING, _POLLING_WRITING, _POLLING_OK = 0, 1, 2, 3
_COMMAND_OK, _TUPLES_OK, _COPY_OUT = 1, 2, 3  # ExecStatusType
_MESSAGE_PRIMARY, _STATEMENT_POSITION = ord("M"), ord("P")  # PG_DIAG_*

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
# name: (result type, argument types)
_FUNCTIONS: dict[str, tuple[Any, list[Any]]] = {
    "PQconnectStartParams": (_P, [ctypes.POINTER(_S), ctypes.POINTER(_S), _I]),
    "PQconnectPoll": (_I, [_P]),
    "PQstatus": (_I, [_P]),
    "PQsocket": (_I, [_P]),
    "PQerrorMessage": (_S, [_P]),
    "PQparameterStatus": (_S, [_P, _S]),
    "PQsetNoticeProcessor": (_P, [_P, _P, _P]),
    "PQfinish": (None, [_P]),
    "PQsendQuery": (_I, [_P, _S]),
    "PQsendQueryParams": (_I, [_P, _S, _I, _P, _P, _P, _P, _I]),
    "PQsendPrepare": (_I, [_P, _S, _S, _I, _P]),
    "PQconsumeInput": (_I, [_P]),
    "PQisBusy": (_I, [_P]),
    "PQgetResult": (_P, [_P]),
    "PQresultStatus": (_I, [_P]),
    "PQresultErrorField": (_S, [_P, _I]),
    "PQresultErrorMessage": (_S, [_P]),
    "PQclear": (None, [_P]),
    "PQgetlineAsync": (_I, [_P, _P, _I]),
    "PQgetCancel": (_P, [_P]),
    "PQcancel": (_I, [_P, _S, _I]),
    "PQfreeCancel": (None, [_P]),
}

# Notices (RAISE NOTICE in a function the query calls) are dropped, as psycopg drops them
# when no handler is added: libpq's default would print them on stderr.
_IGNORE_NOTICE = ctypes.CFUNCTYPE(None, _P, _S)(lambda _arg, _message: None)


class Library(ctypes.CDLL):
    """libpq with the functions of this module declared. `getline` is PQgetlineAsync called
    without releasing the GIL (ctypes.PyDLL): a call per row, which never blocks (it copies
    from libpq's buffer), and releasing and taking the GIL was an eighth of the rows' CPU."""

    getline: Any


_loaded: list[Library | None] = []


class ConnectFailed(Exception):
    """libpq could not connect; `timed_out` when the timeout ran out first."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ServerError(Exception):
    """An error result: the server's primary message and, when it gave one, the 1-based
    character position in the statement (PG_DIAG_STATEMENT_POSITION)."""

    def __init__(self, message: str, position: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def load() -> Library | None:
    """libpq with the functions of this module declared, once per process; None where it
    cannot be found or loaded (the caller uses psycopg then)."""
    if not _loaded:
        _loaded.append(_load())
    return _loaded[0]


def _load() -> Library | None:
    for path in _candidates():
        try:
            lib = Library(path)
            for name, (result, arguments) in _FUNCTIONS.items():
                function = getattr(lib, name)
                function.restype, function.argtypes = result, arguments
            lib.getline = ctypes.PyDLL(path).PQgetlineAsync
        except (OSError, AttributeError):
            continue
        lib.getline.restype, lib.getline.argtypes = _FUNCTIONS["PQgetlineAsync"]
        return lib
    return None


def _candidates() -> list[str]:
    """The libpq psycopg uses (nself.runtime.host: the copy psycopg-binary bundles, else the
    system's), found without importing psycopg."""
    from importlib.machinery import PathFinder
    from pathlib import Path

    from nself.runtime.host import current_host

    spec = PathFinder.find_spec("psycopg_binary")
    package = next(iter(spec.submodule_search_locations or []), None) if spec is not None else None
    return current_host().libpq_files(Path(package) if package else None)


class Connection:
    """One libpq connection. Close it (or use it as a context manager): a statement still
    running then is cancelled first."""

    def __init__(self, lib: Library, handle: int) -> None:
        self._lib = lib
        self._handle: int | None = handle
        self._busy = False  # a statement was sent and its results not all read
        lib.PQsetNoticeProcessor(handle, ctypes.cast(_IGNORE_NOTICE, _P), None)
        self.encoding = _python_encoding(lib.PQparameterStatus(handle, b"client_encoding") or b"UTF8")

    @classmethod
    def connect(cls, lib: Library, params: dict[str, str], timeout: float) -> Connection:
        """Connect with libpq's keywords `params` (a `dbname` holding a URL or key=value
        string is expanded, and the keywords after it win, as psycopg's keyword arguments
        win over its conninfo). ConnectFailed with libpq's message, or on timeout."""
        keys = (_S * (len(params) + 1))(*(key.encode() for key in params), None)
        values = (_S * (len(params) + 1))(*(value.encode() for value in params.values()), None)
        handle = lib.PQconnectStartParams(keys, values, 1)
        if not handle:
            raise ConnectFailed("out of memory")
        deadline = time.monotonic() + timeout
        try:
            status = _POLLING_WRITING if lib.PQstatus(handle) != _BAD else _POLLING_FAILED
            while status not in (_POLLING_OK, _POLLING_FAILED):
                left = deadline - time.monotonic()
                if left <= 0 or not _ready(lib.PQsocket(handle), status == _POLLING_WRITING, left):
                    raise ConnectFailed("connection timeout expired", timed_out=True)
                status = lib.PQconnectPoll(handle)
            if status == _POLLING_FAILED or lib.PQstatus(handle) != _OK:
                raise ConnectFailed((lib.PQerrorMessage(handle) or b"").decode("utf-8", "replace").strip())
        except BaseException:
            lib.PQfinish(handle)
            raise
        return cls(lib, handle)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._handle is None:
            return
        if self._busy:
            self._cancel()
        self._lib.PQfinish(self._handle)
        self._handle = None

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise ServerError("the connection is closed", None)
        return self._handle

    def run(self, sql: bytes) -> None:
        """Run `sql` (simple query protocol); ServerError on an error."""
        self._send(self._lib.PQsendQuery(self.handle, sql))
        self._finish()

    def parses(self, sql: bytes) -> bool:
        """Whether the server parses and analyses `sql` as one statement (it is prepared,
        unnamed, not run: nothing it would do is done)."""
        self._send(self._lib.PQsendPrepare(self.handle, b"", sql, 0, None))
        try:
            self._finish()
        except ServerError:
            return False
        return True

    def copy_out(self, sql: bytes, chunk: int) -> Iterator[bytes]:
        """Run `sql`, a `COPY ... TO STDOUT`, as one statement (the extended protocol, which
        refuses several), and yield its rows joined in chunks of whole rows, of at least
        `chunk` bytes but the last. ServerError when it fails, before the first row or
        between two."""
        lib = self._lib
        handle = self.handle
        self._send(lib.PQsendQueryParams(handle, sql, 0, None, None, None, None, 0))
        self._wait()
        result = lib.PQgetResult(handle)
        if lib.PQresultStatus(result) != _COPY_OUT:
            error = self._error(result)
            lib.PQclear(result)
            self._finish()
            raise error
        lib.PQclear(result)
        end = 2 * chunk
        buffer = ctypes.create_string_buffer(end)
        start = ctypes.addressof(buffer)
        getline, consume, string_at = lib.getline, lib.PQconsumeInput, ctypes.string_at
        size = 0
        pieces: list[bytes] = []  # the start of a row longer than the buffer
        while True:
            got = getline(handle, start + size, end - size)
            if got > 0:
                size += got
                if size >= chunk:
                    # A call returns a whole row when it fits in the room given, else as much
                    # as fits: a full buffer may end inside a row, one with room left may not.
                    pieces.append(string_at(start, size))
                    full = size == end
                    size = 0
                    if not full:
                        yield b"".join(pieces)
                        pieces = []
            elif got == 0:
                self._readable()
                if not consume(handle):
                    break  # the connection is gone: its result says how
            else:
                break
        if size or pieces:
            pieces.append(string_at(start, size))
            yield b"".join(pieces)
        self._finish()

    @property
    def busy(self) -> bool:
        """Whether a statement runs whose results are not all read (a COPY stopped early)."""
        return self._busy

    # ------------------------------------------------------------------ internals

    def _send(self, sent: int) -> None:
        if not sent:
            raise ServerError(self._connection_error(), None)
        self._busy = True

    def _readable(self) -> None:
        """Wait until the socket has input; Ctrl-C cancels the running statement."""
        try:
            _ready(self._lib.PQsocket(self.handle), False, None)
        except KeyboardInterrupt:
            self.close()
            raise

    def _wait(self) -> None:
        """Wait until a result can be read without blocking."""
        lib = self._lib
        handle = self.handle
        while True:
            if not lib.PQconsumeInput(handle):
                return  # the error is the next result's
            if not lib.PQisBusy(handle):
                return
            self._readable()

    def _finish(self) -> None:
        """Read the statement's results to the end; the first error raised then."""
        lib = self._lib
        handle = self.handle
        error: ServerError | None = None
        while True:
            self._wait()
            result = lib.PQgetResult(handle)
            if not result:
                break
            if error is None and lib.PQresultStatus(result) not in (_COMMAND_OK, _TUPLES_OK):
                error = self._error(result)
            lib.PQclear(result)
        self._busy = False
        if error is not None:
            raise error

    def _error(self, result: int) -> ServerError:
        lib = self._lib
        primary = lib.PQresultErrorField(result, _MESSAGE_PRIMARY)
        position = lib.PQresultErrorField(result, _STATEMENT_POSITION)
        if primary is None:  # no fields: a client-side error (the connection was lost)
            text = (lib.PQresultErrorMessage(result) or b"").decode(self.encoding, "replace")
            return ServerError(text.strip().splitlines()[0] if text.strip() else self._connection_error(), None)
        return ServerError(primary.decode(self.encoding, "replace"), int(position) if position else None)

    def _connection_error(self) -> str:
        text = (self._lib.PQerrorMessage(self.handle) or b"").decode(self.encoding, "replace").strip()
        return text.splitlines()[0] if text else "the connection was lost"

    def _cancel(self) -> None:
        """Ask the server to cancel the running statement (best effort)."""
        lib = self._lib
        cancel = lib.PQgetCancel(self._handle)
        if cancel:
            lib.PQcancel(cancel, ctypes.create_string_buffer(256), 256)
            lib.PQfreeCancel(cancel)
        self._busy = False


def _ready(socket: int, write: bool, timeout: float | None) -> bool:
    """Wait until `socket` can be read (or written), at most `timeout` seconds (None: no
    limit); whether it can. poll where there is one: select takes no descriptor past 1,023."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(socket, select.POLLOUT if write else select.POLLIN)
        return bool(poller.poll(None if timeout is None else max(int(timeout * 1000), 1)))
    reading, writing = ([], [socket]) if write else ([socket], [])
    return any(select.select(reading, writing, [], timeout))


def _python_encoding(name: bytes) -> str:
    """Python's codec for a PostgreSQL client encoding (to read the server's messages);
    UTF-8 for one Python does not know by that name."""
    import codecs

    text = name.decode("ascii", "replace")
    text = {"SQL_ASCII": "ascii", "WIN866": "cp866", "WIN874": "cp874"}.get(text, text)
    if text.startswith("WIN"):
        text = "cp" + text[3:]
    try:
        return codecs.lookup(text).name
    except LookupError:
        return "utf-8"
