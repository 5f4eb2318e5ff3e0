"""Rust types: naming and type-mapping rules one line per case, a golden file for
every_case.sql, and `cargo check --offline` (warnings denied) plus `rustfmt --check` on the
output for every_case.sql and every corpus case.

crates.io is not reachable here, so the generated code is checked against minimal local
stand-in crates (path dependencies in tests/backends/types/rust_stubs/) for serde,
serde_derive, chrono, uuid, serde_json and rust_decimal: each declares only the items the
generated code uses, with the real crates' paths and trait implementations. The stand-in
derive implements the marker traits, rejects serde attributes the generator does not mean to
write, and asserts at compile time that every field type implements Serialize/Deserialize
(rust_stubs/README.md). What this cannot check is the real crates' runtime behaviour."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from nself.backends.types.common import callable_functions
from nself.backends.types.rust import (
    FILE_NAME,
    RustRenderer,
    field_names,
    render,
    render_rust,
    rust_string,
    serde_attribute,
    variant_names,
)
from nself.frontends.live import introspect
from nself.ir import Catalog, CatalogBuilder, catalog_from_json, catalog_to_json
from nself.ir.model import Column, Schema, Table
from tests.backends.types.conftest import (
    HERE,
    CorpusCatalogs,
    SessionDatabases,
    assert_golden,
)
from tests.backends.types.toolchain import (
    FUNCTION_CALLS,
    FUNCTIONS_SQL,
    Shapes,
    WireTypes,
    call_function,
    function_misfits,
    json_misfit,
    one_table_catalog,
    row_misfits,
)
from tests.conftest import run_sql
from tests.tools import REPO, in_ci, missing, require_program

STUBS = HERE / "rust_stubs"
# Debian's packaged crates (apt-get install librust-serde-dev librust-serde-json-dev
# librust-chrono-dev librust-uuid-dev librust-rust-decimal-dev, as .ci/run does): the real
# serde, serde_json, chrono, uuid and rust_decimal, used offline through a [source]
# replacement. Without them (not in CI) the stand-ins of rust_stubs/ are used.
DEBIAN_REGISTRY = Path("/usr/share/cargo/registry")
REAL_CRATES_INSTALL = (
    "apt-get install librust-serde-dev librust-serde-json-dev librust-chrono-dev "
    "librust-uuid-dev librust-rust-decimal-dev"
)
# The dependencies docs/types.md (Rust) tells users to write.
REAL_DEPENDENCIES = """\
serde = { version = "1", features = ["derive"] }
serde_json = { version = "1", features = ["arbitrary_precision"] }
chrono = { version = "0.4", default-features = false, features = ["serde", "std"] }
uuid = { version = "1", features = ["serde"] }
rust_decimal = { version = "1", features = ["serde-arbitrary-precision"] }
"""
CRATES = ("serde", "serde_json", "chrono", "uuid", "rust_decimal")


def real_crates() -> bool:
    """True when Debian's registry holds every crate the generated file needs; in CI they
    must be there (tests/tools.py `missing`)."""
    present = DEBIAN_REGISTRY.is_dir() and all(any(DEBIAN_REGISTRY.glob(f"{name}-[0-9]*")) for name in CRATES)
    if not present and in_ci():
        missing(f"the real Rust crates are not in {DEBIAN_REGISTRY} ({REAL_CRATES_INSTALL})")
    return present


def write_file(path: Path, text: str) -> None:
    """Write `text` to `path` unless it already holds exactly that text: a file left as it was
    keeps its mtime, so cargo finds the crate fresh when nothing in it changed."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except FileNotFoundError:
        pass
    path.write_text(text, encoding="utf-8")


def write_crate(
    crate: Path,
    modules: dict[str, str],
    *,
    stubs: bool,
    main: str | None = None,
    name: str = "nself_types_check",
) -> None:
    """A crate with one module per entry (module name -> types.rs text), its dependencies
    the real crates (Debian's registry through .cargo/config.toml) or the stand-ins, and a
    binary `main.rs` when given. Files already holding their text are left as they are, and
    the sources of another module or binary are deleted (`stable_crate`)."""
    (crate / "src").mkdir(parents=True, exist_ok=True)
    if stubs:
        dependencies = (
            "\n".join(
                f'{name} = {{ path = "{STUBS / name}" }}'
                for name in ("serde", "chrono", "uuid", "serde_json", "rust_decimal")
            )
            + "\n"
        )
    else:
        dependencies = REAL_DEPENDENCIES
        (crate / ".cargo").mkdir(exist_ok=True)
        write_file(
            crate / ".cargo" / "config.toml",
            '[source.crates-io]\nreplace-with = "debian"\n\n'
            f'[source.debian]\ndirectory = "{DEBIAN_REGISTRY}"\n',
        )
    write_file(
        crate / "Cargo.toml",
        f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        f"[dependencies]\n{dependencies}",
    )
    sources = {f"{name}.rs": text for name, text in modules.items()}
    sources["lib.rs"] = "".join(f"pub mod {name};\n" for name in modules)
    if main is not None:
        sources["main.rs"] = main
    for old in (crate / "src").iterdir():
        if old.name not in sources:
            old.unlink()
    for file, text in sources.items():
        write_file(crate / "src" / file, text)


def stable_crate(crate: Path) -> Path:
    """Where a test's crate against the real crates is built: a folder of the repository's
    .cache/ named after the test and the crate's name (tmp_path/crate of test_x ->
    .cache/rust-crates/test_rust.py-test_x-crate), the same in every run, so rustc's
    build of the last run is reused. write_crate leaves the files that hold the same text as
    they were, so a crate whose text did not change is fresh to cargo, which replays the
    diagnostics it recorded (none: warnings are denied and a failed crate is never fresh)
    instead of running rustc again; a changed file is checked anew, with rustc's incremental
    state. A fresh tmp_path each run would compile the crate cold every time (3x the CPU)."""
    test = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0].rsplit("/", 1)[-1]
    return REPO / ".cache" / "rust-crates" / re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{test}-{crate.name}")


def cargo_env(cache: Path, stubs: bool) -> dict[str, str]:
    return dict(
        os.environ,
        # The real crates build once per machine (in the repository's .cache/, as .ci/run's
        # node modules), the stand-ins once per session.
        CARGO_TARGET_DIR=str(cache / "cargo-target" if stubs else REPO / ".cache" / "cargo-target-real"),
        RUSTFLAGS="-D warnings",
        CARGO_TERM_COLOR="never",
    )


RUST_INSTALL = "rustup: https://rustup.rs, or Debian's cargo"


# --------------------------------------------------------------------------- names


def test_field_names() -> None:
    assert field_names(
        ["id", "Display Name", "type", "self", "Self", "crate", "3d_model", "userId", "user_id", "match"]
    ) == [
        "id",
        "display_name",
        "r#type",
        "self_",
        "self_2",
        "crate_",
        "_3d_model",
        "user_id",
        "user_id2",
        "r#match",
    ]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["read-only", "Guest User", "2fa_pending"], ["ReadOnly", "GuestUser", "V2faPending"]),
        (["read-only", "ReadOnly", "read_only"], ["ReadOnly", "ReadOnly2", "ReadOnly3"]),
        (["Self", "self", "type", "-"], ["Self_", "Self2", "Type", "Value"]),
        (["naïve"], ["Naive"]),
    ],
)
def test_variant_names(labels: list[str], expected: list[str]) -> None:
    assert variant_names(labels) == expected


@pytest.mark.parametrize(
    ("arguments", "lines"),
    [
        # rustfmt keeps a single argument on the line while the line stays under 100 columns ...
        (['rename = "' + "a" * 74 + '"'], 1),
        (['rename = "' + "a" * 75 + '"'], 3),
        # ... and several only while they fit in 70 (attr_fn_like_width).
        (['rename = "' + "a" * 18 + '"', 'skip_serializing_if = "Option::is_none"'], 1),
        (['rename = "' + "a" * 19 + '"', 'skip_serializing_if = "Option::is_none"'], 4),
        (["default", 'deserialize_with = "double_option"'], 1),
    ],
)
def test_serde_attribute_breaks_where_rustfmt_does(arguments: list[str], lines: int) -> None:
    assert len(serde_attribute(arguments)) == lines


def test_rust_string() -> None:
    assert rust_string('a "b" \\ \n') == '"a \\"b\\" \\\\ \\n"'


# --------------------------------------------------------------------------- types


def _fields(body: str) -> list[tuple[str, str]]:
    """(name, type) of the fields of a struct's body, also when rustfmt's width wrapped one."""
    return re.findall(r"^    pub (\S+):\s+([^\n]*),$", body, re.M)


# The declared dimensions, as before arrays admitted any (the tests of element nullability
# read easier so; test_arrays_admit_any_dimension checks the default).
DECLARED = {"arrays": "declared"}


def _types(
    columns: list[Column], checks: tuple[str, ...] = (), options: dict[str, str] | None = None
) -> tuple[list[str], list[str], list[str]]:
    catalog = one_table_catalog(columns, checks)
    structs = RustRenderer(catalog, DECLARED if options is None else options).table_structs(catalog.tables[0])
    return tuple([t for _, t in _fields(s.body)] for s in structs)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("data_type", "not_null", "row"),
    [
        ("smallint", True, "i16"),
        ("integer", True, "i32"),
        ("bigint", False, "Option<i64>"),
        ("real", True, "f32"),
        ("double precision", True, "f64"),
        ("numeric(10,2)", True, "rust_decimal::Decimal"),
        ("boolean", True, "bool"),
        ("text", False, "Option<String>"),
        ("bytea", True, "Vec<u8>"),
        ("jsonb", True, "serde_json::Value"),
        ("uuid", True, "uuid::Uuid"),
        ("date", True, "chrono::NaiveDate"),
        ("timestamp without time zone", True, "chrono::NaiveDateTime"),
        ("timestamp(3) with time zone", True, "chrono::DateTime<chrono::Utc>"),
        ("time without time zone", True, "chrono::NaiveTime"),
        ("time with time zone", True, "String"),
        ("interval", True, "String"),
        ("inet", True, "String"),
        ("oid", True, "u32"),
        # Array elements may be NULL; in a rectangular array only the innermost ones.
        ("integer[]", False, "Option<Vec<Option<i32>>>"),
        ("text[][]", True, "Vec<Vec<Option<String>>>"),
        # ... unless PostgreSQL keeps NULL out: a NOT NULL element domain, a domain's CHECK.
        ("public.label[]", True, "Vec<String>"),
        ("public.label[][]", False, "Option<Vec<Vec<String>>>"),
        ("public.strict_tags", False, "Option<Vec<String>>"),
        ("public.strict_tags[]", True, "Vec<Vec<Option<String>>>"),
    ],
)
def test_type_mapping(data_type: str, not_null: bool, row: str) -> None:
    assert _types([Column("c", data_type, not_null=not_null)])[0] == [row]


def test_arrays_admit_any_dimension() -> None:
    """By default an array is a PgArray (any number of dimensions, as PostgreSQL accepts in
    every array column); a CHECK (array_ndims(c) = N) gives N nested Vecs."""
    row, insert, _ = _types(
        [
            Column("a", "integer[]", not_null=True),
            Column("b", "text[][]"),
            Column("grid", "integer[]", not_null=True),
            Column("docs", "jsonb[]", not_null=True),
        ],
        checks=("((array_ndims(grid) = 2) AND (array_position(a, NULL::integer) IS NULL))",),
        options={},
    )
    assert row == [
        "PgArray<i32>",
        "Option<PgArray<Option<String>>>",
        "Vec<Vec<Option<i32>>>",
        "Vec<Option<serde_json::Value>>",
    ]
    assert insert[2] == "Vec<Vec<Option<i32>>>"


def test_a_table_check_keeps_null_out_of_array_elements() -> None:
    row, insert, update = _types(
        [Column("a", "integer[]", not_null=True), Column("b", "text[]"), Column("c", "text[]")],
        checks=(
            "(array_position(a, NULL::integer) IS NULL)",
            "(cardinality(array_remove(b, NULL::text)) = cardinality(b))",
        ),
    )
    assert row == ["Vec<i32>", "Option<Vec<String>>", "Option<Vec<Option<String>>>"]
    assert insert == ["Vec<i32>", "Option<Option<Vec<String>>>", "Option<Option<Vec<Option<String>>>>"]
    assert update == [
        "Option<Vec<i32>>",
        "Option<Option<Vec<String>>>",
        "Option<Option<Vec<Option<String>>>>",
    ]


def test_insert_and_update_optionality() -> None:
    row, insert, update = _types(
        [
            Column("id", "bigint", not_null=True, default="nextval('public.t_id_seq'::regclass)"),
            Column("name", "text", not_null=True),
            Column("note", "text"),
            Column("total", "integer", generated="(1 + 1)"),
        ]
    )
    assert row == ["i64", "String", "Option<String>", "Option<i32>"]
    assert insert == ["Option<i64>", "String", "Option<Option<String>>"]
    assert update == ["Option<i64>", "Option<String>", "Option<Option<String>>"]


def test_insert_and_update_can_leave_out_write_null_or_write_a_value() -> None:
    """`None` is skipped when writing (the column is left out), `Some(None)` is written as
    `null` (serde's Option), and reading `null` back gives `Some(None)` through the file's
    double_option (serde alone would read it as `None`)."""
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Table("public", "t", (Column("note", "text"), Column("name", "text", not_null=True))))
    catalog = builder.freeze()
    text = render_rust(catalog, {})
    for struct in ("TInsert", "TUpdate"):
        body = text.split(f"pub struct {struct} {{\n", 1)[1].split("}\n", 1)[0]
        assert body.startswith(
            '    #[serde(skip_serializing_if = "Option::is_none")]\n'
            '    #[serde(default, deserialize_with = "double_option")]\n'
            "    pub note: Option<Option<String>>,\n"
        )
    # A column that cannot be NULL has no third state to read.
    assert '    #[serde(skip_serializing_if = "Option::is_none")]\n    pub name: Option<String>,' in text
    assert "fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>" in text
    assert "    Option::<T>::deserialize(deserializer).map(Some)\n" in text


def test_every_case_mapping(every_case_catalog: Catalog) -> None:
    text = render_rust(every_case_catalog, DECLARED)
    assert '    #[serde(rename = "read-only")]\n    ReadOnly,' in text
    assert '    #[serde(rename = "2fa_pending")]\n    V2faPending,' in text
    assert "    pub r#struct: String," in text
    assert '    #[serde(rename = "self")]\n    pub self_: Option<bool>,' in text
    assert "    pub c_tag_matrix: Option<Vec<Vec<Option<String>>>>," in text
    # NULL elements where PostgreSQL allows them, as every_case_rows.sql holds.
    assert "    pub plain: Option<Vec<Option<String>>>," in text
    assert "    pub matrix: Option<Vec<Vec<Option<i32>>>>," in text
    assert "    pub moods: Option<Vec<Option<Mood>>>," in text
    assert "    pub labels: Option<Vec<String>>," in text
    assert "    pub strict: Option<Vec<String>>," in text
    assert "    pub checked: Option<Vec<i64>>," in text
    assert "    pub c_email: String," in text
    assert "pub struct BillingUsers2 {" in text and "pub struct Users {" in text


def test_output_is_deterministic(every_case_catalog: Catalog) -> None:
    again = catalog_from_json(catalog_to_json(every_case_catalog))
    assert render(every_case_catalog, {}) == render(again, {})


def test_golden_every_case(every_case_catalog: Catalog) -> None:
    assert_golden("rust/every_case/types.rs", render(every_case_catalog, {})[FILE_NAME])


def test_golden_declared_arrays(every_case_catalog: Catalog, functions_catalog: Catalog) -> None:
    """`arrays = "declared"`: the declared dimensions, as before arrays admitted any."""
    assert_golden("rust/every_case/types_declared.rs", render(every_case_catalog, DECLARED)[FILE_NAME])
    assert_golden("rust/functions/types_declared.rs", render(functions_catalog, DECLARED)[FILE_NAME])


def test_golden_functions(functions_catalog: Catalog) -> None:
    """functions_schema.sql's functions: Args, Result and Returns types."""
    assert_golden("rust/functions/types.rs", render(functions_catalog, {})[FILE_NAME])


# --------------------------------------------------------------------------- toolchain


def cargo_check(crate: Path, cache: Path, modules: dict[str, str], *, stubs: bool | None = None) -> None:
    """A library crate with one module per entry (module name -> types.rs text), checked by
    cargo check --offline with warnings denied against the real crates (the stand-ins when
    they are missing, or with `stubs`), and by rustfmt --check when installed."""
    if stubs is None:
        stubs = not real_crates()
    if not stubs:
        crate = stable_crate(crate)
    write_crate(crate, modules, stubs=stubs)
    env = cargo_env(cache, stubs)
    cargo = require_program("cargo", RUST_INSTALL)
    check = subprocess.run(
        [cargo, "check", "--offline", "--quiet"], cwd=crate, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, f"cargo check failed:\n{check.stdout}{check.stderr}"
    rustfmt = shutil.which("rustfmt")  # optional: layout only, the compiler check above is the oracle
    if rustfmt is not None:
        files = [str(crate / "src" / f"{name}.rs") for name in modules]
        fmt = subprocess.run(
            [rustfmt, "--edition", "2021", "--check", *files], capture_output=True, text=True
        )
        assert fmt.returncode == 0, f"rustfmt would reformat:\n{fmt.stdout}{fmt.stderr}"


# --------------------------------------------------------------------------- one cargo run


def session_modules(request: pytest.FixtureRequest) -> dict[str, str]:
    """Every generated module the session's plain cargo checks need, by module name: each
    test owns the modules of its prefix (`owned_modules`)."""
    from tests.backends.types.test_native_names import SEEDS, adversarial_catalog

    every_case: Catalog = request.getfixturevalue("every_case_catalog")
    corpus_catalogs: CorpusCatalogs = request.getfixturevalue("corpus_catalogs")
    modules = {"every_case_db": render(every_case, {})[FILE_NAME]}
    for seed in SEEDS:
        modules[f"adversarial_seed{seed}"] = render(adversarial_catalog(seed), {})[FILE_NAME]
    for name in corpus_catalogs.names():
        module = "corpus_" + re.sub(r"[^a-z0-9]+", "_", name.lower())
        modules[module] = render(corpus_catalogs.get(name), {})[FILE_NAME]
    return modules


def owned_modules(names: list[str], prefix: str) -> list[str]:
    return [name for name in names if name.startswith(prefix)]


def rustc_diagnostics(stdout: str) -> dict[str, list[str]]:
    """cargo's --message-format=json output: rustc's rendered errors (warnings are denied) by
    the module whose file the primary span lies in; "" for those without a file of src/."""
    found: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("reason") != "compiler-message":
            continue
        message = event["message"]
        if message["level"] not in ("error", "warning") or message["message"].startswith("aborting due"):
            continue
        files = [span["file_name"] for span in message["spans"] if span["is_primary"]]
        module = ""
        if files and Path(files[0]).parent.name == "src":
            module = Path(files[0]).stem
        found.setdefault(module, []).append(message["rendered"] or message["message"])
    return found


def cargo_check_modules(
    crate: Path, cache: Path, modules: dict[str, str], *, stubs: bool, members: int = 2
) -> dict[str, object]:
    """One `cargo check` of a workspace with one module per entry, its outcome as JSON-able
    data: returncode, cargo's stderr, the module names and rustc's diagnostics by module.
    The modules are spread over `members` crates, which cargo checks in parallel (rustc
    checks one crate on one core) after compiling the dependencies once."""
    names = sorted(modules)
    groups = [names[i::members] for i in range(members) if names[i::members]]
    for old in crate.glob("member*"):
        if old.name not in {f"member{i}" for i in range(len(groups))}:
            shutil.rmtree(old)
    # Package names of this workspace's own: cargo keeps one fingerprint (and rustc one
    # incremental state) per package name in the shared target directory, so two workspaces
    # with members of the same name would each find the other's and check everything anew.
    package = re.sub(r"[^a-z0-9]+", "_", crate.name.lower()).strip("_")
    for i, group in enumerate(groups):
        member = {n: modules[n] for n in group}
        write_crate(crate / f"member{i}", member, stubs=stubs, name=f"{package}_member{i}")
    if not stubs:
        (crate / ".cargo").mkdir(exist_ok=True)
        write_file(crate / ".cargo" / "config.toml", (crate / "member0" / ".cargo" / "config.toml").read_text())
    write_file(
        crate / "Cargo.toml",
        '[workspace]\nresolver = "2"\nmembers = ['
        + ", ".join(f'"member{i}"' for i in range(len(groups)))
        + "]\n",
    )
    cargo = require_program("cargo", RUST_INSTALL)
    check = subprocess.run(
        [cargo, "check", "--offline", "--quiet", "--workspace", "--message-format=json"],
        cwd=crate,
        env=cargo_env(cache, stubs),
        capture_output=True,
        text=True,
    )
    return {
        "returncode": check.returncode,
        "output": check.stderr,
        "modules": names,
        "files": {n: f"member{i}/src/{n}.rs" for i, group in enumerate(groups) for n in group},
        "diagnostics": rustc_diagnostics(check.stdout),
    }


class RustSession:
    """The result of the session's one `cargo check`: a crate of every module, checked once
    (under xdist by the first worker that asks, under a file lock; the others read its
    result)."""

    def __init__(self, crate: Path, cache: Path, stubs: bool, result: dict[str, object]) -> None:
        self.crate = crate
        self.cache = cache
        self.stubs = stubs
        self.returncode = int(str(result["returncode"]))
        self.output = str(result["output"])
        self.modules: list[str] = list(result["modules"])  # type: ignore[call-overload]
        self.diagnostics: dict[str, list[str]] = dict(result["diagnostics"])  # type: ignore[call-overload]
        self.files: dict[str, str] = dict(result["files"])  # type: ignore[call-overload]

    def check(self, prefix: str, tmp_path: Path) -> list[str]:
        """Assert that the modules named `prefix*` compile (no rustc diagnostic in their
        files) and pass rustfmt --check; the module names."""
        mine = owned_modules(self.modules, prefix)
        assert mine, f"no module {prefix}* in the session crate"
        errors = [text for name in mine for text in self.diagnostics.get(name, [])]
        assert not errors, f"cargo check failed in {prefix}*:\n" + "\n".join(errors)
        if self.returncode != 0:
            # The run failed elsewhere; rustc may have stopped before reaching these
            # modules, so they are checked on their own.
            sources = {name: (self.crate / self.files[name]).read_text(encoding="utf-8") for name in mine}
            cargo_check(tmp_path / "crate", self.cache, sources, stubs=self.stubs)
            return mine
        rustfmt = shutil.which("rustfmt")  # optional: layout only, the compiler check is the oracle
        if rustfmt is not None:
            files = [str(self.crate / self.files[name]) for name in mine]
            fmt = subprocess.run(
                [rustfmt, "--edition", "2021", "--check", *files], capture_output=True, text=True
            )
            assert fmt.returncode == 0, f"rustfmt would reformat:\n{fmt.stdout}{fmt.stderr}"
        return mine


def open_rust_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, toolchain_cache: Path
) -> RustSession:
    """The session's one crate holding every module of its cargo checks, checked by one cargo
    run: the dependencies compile once and the tests do not wait on each other's target-dir
    lock. The xdist workers of one run share it (the first builds; a new run builds anew)."""
    import fcntl

    stubs = not real_crates()
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    done = shared / "rust-session.json"
    crate = shared / "rust-session-crate" if stubs else REPO / ".cache" / "rust-crates" / "session-crate"
    with open(shared / "rust-session.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            modules = session_modules(request)
            result = cargo_check_modules(crate, toolchain_cache, modules, stubs=stubs)
            done.write_text(json.dumps(result), encoding="utf-8")
    return RustSession(crate, toolchain_cache, stubs, json.loads(done.read_text(encoding="utf-8")))


@pytest.mark.oracle
def test_cargo_check_every_case(rust_session: RustSession, tmp_path: Path) -> None:
    rust_session.check("every_case_", tmp_path)


@pytest.mark.slow
@pytest.mark.oracle
def test_cargo_check_corpus(
    rust_session: RustSession, corpus_catalogs: CorpusCatalogs, tmp_path: Path
) -> None:
    """Every corpus case as one module of the session's crate (rust_session)."""
    checked = rust_session.check("corpus_", tmp_path)
    assert len(checked) == len(corpus_catalogs.names())
    print(f"cargo check: {len(checked)} corpus cases pass")


@pytest.mark.oracle
def test_stand_in_derive_rejects_what_serde_would(tmp_path: Path, toolchain_cache: Path) -> None:
    """The check has teeth: a misspelt serde attribute, a field type without Serialize or a
    deserialize_with function of the wrong type fails to compile against the stand-ins."""
    bad = (
        "use serde::{Deserialize, Serialize};\n\n"
        "pub struct NotSerde;\n\n"
        "#[derive(Serialize, Deserialize)]\n"
        "pub struct Bad {\n"
        '    #[serde(renam = "x")]\n'
        "    pub a: i32,\n"
        "    pub b: NotSerde,\n"
        "}\n"
    )
    renam = r"(serde attribute `renam` is not expected here|unknown serde field attribute `renam`)"
    with pytest.raises(AssertionError, match=renam):
        cargo_check(tmp_path / "crate", toolchain_cache, {"bad": bad})
    fixed = bad.replace("renam", "rename")
    with pytest.raises(AssertionError, match=r"NotSerde: (serde::)?Serialize"):
        cargo_check(tmp_path / "crate2", toolchain_cache, {"bad": fixed})
    # A deserialize_with function whose result is not the field's type.
    wrong_reader = (
        "use serde::{Deserialize, Serialize};\n\n"
        "#[derive(Serialize, Deserialize)]\n"
        "pub struct Bad {\n"
        '    #[serde(default, deserialize_with = "read")]\n'
        "    pub a: Option<Option<i32>>,\n"
        "}\n\n"
        "fn read<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {\n"
        "    Option::<i32>::deserialize(deserializer)\n"
        "}\n"
    )
    with pytest.raises(AssertionError, match=r"mismatched types"):
        cargo_check(tmp_path / "crate3", toolchain_cache, {"bad": wrong_reader})


@pytest.mark.oracle
def test_one_cargo_run_names_the_module_rustc_refuses(tmp_path: Path, toolchain_cache: Path) -> None:
    """The session's one cargo run still fails the right test: rustc's errors are mapped to
    the module whose file they are in, and a clean module next to a bad one has none."""
    good = "pub struct Fine {\n    pub a: i32,\n}\n"
    bad = "pub struct Broken {\n    pub a: NoSuchType,\n}\n"
    stubs = not real_crates()
    crate = stable_crate(tmp_path / "crate") if not stubs else tmp_path / "crate"
    result = cargo_check_modules(crate, toolchain_cache, {"case_good": good, "case_bad": bad}, stubs=stubs)
    session = RustSession(crate, toolchain_cache, stubs, result)
    assert session.returncode != 0
    assert list(session.diagnostics) == ["case_bad"]
    assert f"{session.files['case_bad']}:2:12" in session.diagnostics["case_bad"][0]
    with pytest.raises(AssertionError, match=r"cargo check failed in case_bad\*:\n.*NoSuchType"):
        session.check("case_bad", tmp_path)
    # The clean module is checked again on its own (rustc may have stopped before it).
    assert session.check("case_good", tmp_path) == ["case_good"]


def test_a_column_has_one_field_name_in_row_insert_and_update() -> None:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(
        Table("public", "t", (Column("userId", "integer", generated="1"), Column("user_id", "integer")))
    )
    catalog = builder.freeze()
    row, insert, update = RustRenderer(catalog, {}).table_structs(catalog.tables[0])
    assert [f for f, _ in _fields(row.body)] == ["user_id", "user_id2"]
    assert [f for f, _ in _fields(insert.body)] == [f for f, _ in _fields(update.body)] == ["user_id2"]


# --------------------------------------------------------------------------- real rows


def _unwrap(wrapper: str) -> Callable[[str], str | None]:
    prefix = wrapper + "<"
    return lambda t: t[len(prefix) : -1] if t.startswith(prefix) and t.endswith(">") else None


RUST_WIRE = WireTypes(
    optional=_unwrap("Option"),
    array=_unwrap("Vec"),
    any_json="serde_json::Value",
    bytes="Vec<u8>",
    strings=frozenset(
        {
            "String",
            "uuid::Uuid",
            "chrono::NaiveDate",
            "chrono::NaiveDateTime",
            "chrono::NaiveTime",
            "chrono::DateTime<chrono::Utc>",
        }
    ),
    integers=frozenset({"i16", "i32", "i64", "u32", "u64"}),
    oids=frozenset({"u32", "u64"}),
    numbers=frozenset({"f32", "f64", "rust_decimal::Decimal"}),
    boolean="bool",
    any_array=_unwrap("PgArray"),
)


def rust_shapes(text: str) -> Shapes:
    """The structs of a generated file as {struct: {name on the wire: Rust type}}, and the
    names of its enums, read from the text itself."""
    structs: dict[str, dict[str, str]] = {}
    enums = set(re.findall(r"^pub enum (\w+) \{", text, re.M))
    for name, body in re.findall(r"^pub struct (\w+) \{\n(.*?)^\}", text, re.M | re.S):
        fields: dict[str, str] = {}
        rename: str | None = None
        for attributes, field, rust_type in re.findall(
            r"((?:    #\[serde\((?:[^\]]|\n)*?\)\]\n)*)    pub (\S+):\s+([^\n]*),\n", body
        ):
            renamed = re.search(r'rename = ("(?:[^"\\]|\\.)*")', attributes)
            rename = json.loads(renamed.group(1)) if renamed else None
            fields[rename if rename is not None else field.removeprefix("r#")] = rust_type
        structs[name] = fields
    return structs, enums


@pytest.mark.oracle
def test_rust_row_types_hold_real_rows(every_case_rows: tuple[str, Catalog]) -> None:
    """Every row PostgreSQL writes as JSON (row_to_json) fits its Row struct as generated:
    NULL only where the type has an Option, NULL array elements (every_case_rows.sql has
    some, also in a 2-D array) only in Vec<Option<T>>. The stand-in crates cannot run serde,
    so this reads the shapes from the generated text; cargo check holds the text to Rust."""
    url, catalog = every_case_rows
    shapes = rust_shapes(render_rust(catalog, {}))
    checked, problems = row_misfits(url, catalog, RustRenderer(catalog, {}).names, RUST_WIRE, shapes)
    assert checked >= 15
    assert problems == []
    # The check has teeth: the rows of array_elements hold NULL elements.
    assert json_misfit("Vec<i32>", [1, None], RUST_WIRE, shapes) == "null in a i32"


# --------------------------------------------------------------------------- functions


@pytest.mark.oracle
def test_functions_are_typed_and_compile(
    types_databases: SessionDatabases, tmp_path: Path, toolchain_cache: Path
) -> None:
    """Args structs hold the named arguments only (an unnamed one goes by position:
    PostgreSQL refuses `arg1 => ...`), defaulted ones skipped when None; Returns is a Vec
    for SETOF with Option elements where PostgreSQL allows a NULL row; TABLE and OUT
    columns are Options; one OUT parameter is its value. The file passes cargo check."""
    url = types_databases.new("types_rust_functions")
    run_sql(url, FUNCTIONS_SQL.read_text(encoding="utf-8"))
    catalog = introspect(url)
    renderer = RustRenderer(catalog, {})
    text = renderer.render()
    for expected in [
        "pub type PeopleNamedReturns = Vec<Option<People>>;",
        "pub type MaybeNumbersReturns = Vec<Option<i32>>;",
        "pub type StatsReturns = Vec<StatsResult>;",
        "pub type SplitNameReturns = Option<SplitNameResult>;",
        "pub type DoubleItReturns = Option<i32>;",
        "pub type OneReturns = i32;",  # a NOT NULL domain
        "pub struct ShoutArgs {\n"
        '    #[serde(skip_serializing_if = "Option::is_none")]\n'
        "    pub suffix: Option<String>,\n}",
        "pub struct StatsResult {\n"
        "    pub person_id: Option<i32>,\n"
        '    #[serde(rename = "Label")]\n'
        "    pub label: Option<String>,\n}",
    ]:
        assert expected in text, expected
    assert "NothingReturns" not in text  # void
    cargo_check(tmp_path / "crate", toolchain_cache, {"functions": text})


@pytest.mark.oracle
def test_function_types_hold_real_calls(types_databases: SessionDatabases) -> None:
    """What real calls return (NULL rows of a SETOF among them) fits the Returns types, and
    their named arguments are fields of the Args structs."""
    url = types_databases.new("types_rust_function_calls")
    run_sql(url, FUNCTIONS_SQL.read_text(encoding="utf-8"))
    catalog = introspect(url)
    renderer = RustRenderer(catalog, {})
    text = renderer.render()
    aliases = dict(re.findall(r"^pub type (\w+) = (.*);$", text, re.M))
    shapes = rust_shapes(text)
    assert function_misfits(url, renderer.function_types, aliases, RUST_WIRE, shapes) == []
    assert json_misfit("Vec<People>", [None], RUST_WIRE, shapes) == "null in a People"


RUST_DECODER = """use std::io::BufRead;

use %(crate)s::%(module)s as db;

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(data: &str) -> Result<String, String> {
    let value: T = serde_json::from_str(data).map_err(|e| e.to_string())?;
    serde_json::to_string(&value).map_err(|e| e.to_string())
}

fn main() {
    let mut failed = false;
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let (name, data) = line.split_once('\\t').unwrap();
        let result = match name {
%(arms)s
            _ => Err(format!("unknown type {}", name)),
        };
        match result {
            Ok(out) => println!("{}\\t{}", name, out),
            Err(error) => {
                println!("{}\\tERROR {}", name, error);
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
"""


def run_decoder(
    crate: Path, cache: Path, module: str, text: str, lines: list[str], *, errors: bool = False
) -> list[str]:
    """Each `Type\\tJSON` line read by serde_json into `db::Type` and written back, by a
    program built against the real crates: the output lines, in order (`Type\tERROR ...` for
    a line serde refused, which fails the call unless `errors`)."""
    if not real_crates():
        pytest.skip(f"the real Rust crates are not in {DEBIAN_REGISTRY} ({REAL_CRATES_INSTALL})")
    names = sorted({line.split("\t")[0] for line in lines})
    arms = "\n".join(f'            "{n}" => round_trip::<db::{n}>(data),' for n in names)
    crate = stable_crate(crate)
    # A package name of its own: the binaries of one target directory are named after their
    # package, and a crate found fresh is not linked again, so a shared name would run the
    # binary of the crate built last.
    name = re.sub(r"[^a-z0-9_]+", "_", crate.name.lower())
    main = RUST_DECODER % {"crate": name, "module": module, "arms": arms}
    write_crate(crate, {module: text}, stubs=False, main=main, name=name)
    cargo = require_program("cargo", RUST_INSTALL)
    result = subprocess.run(
        [cargo, "run", "--offline", "--quiet"],
        cwd=crate,
        env=cargo_env(cache, False),
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 or (errors and "\tERROR " in result.stdout), (
        f"{result.stdout}{result.stderr}"
    )
    return result.stdout.splitlines()


@pytest.mark.oracle
def test_function_results_deserialise_with_real_serde(
    types_databases: SessionDatabases, tmp_path: Path, toolchain_cache: Path
) -> None:
    """What real calls return (NULL rows of a SETOF among them) and their named arguments
    are read by serde_json into the Returns and Args types, and written back the same."""
    url = types_databases.new("types_rust_serde_calls")
    run_sql(url, FUNCTIONS_SQL.read_text(encoding="utf-8"))
    catalog = introspect(url)
    renderer = RustRenderer(catalog, {})
    text = renderer.render()
    shapes = {s.name: s for s in callable_functions(catalog)}
    lines: list[str] = []
    with psycopg.connect(url) as conn:
        for name, args, unnamed in FUNCTION_CALLS:
            shape = shapes[name]
            args_type, _, returns_type = renderer.function_types[shape.signature]
            lines.append(f"{args_type}\t{json.dumps(args)}")
            lines.append(f"{returns_type}\t{call_function(conn, name, args, unnamed, shape.returns_set)}")
    outputs = run_decoder(tmp_path / "crate", toolchain_cache, "functions", text, lines)
    assert len(outputs) == len(lines)
    for sent, received in zip(lines, outputs, strict=True):
        name, original = sent.split("\t", 1)
        _, decoded = received.split("\t", 1)
        assert json.loads(decoded) == json.loads(original), f"{name}: {original} came back as {decoded}"


@pytest.mark.oracle
def test_rows_deserialise_with_real_serde(
    every_case_rows: tuple[str, Catalog], tmp_path: Path, toolchain_cache: Path
) -> None:
    """Rows PostgreSQL itself writes as JSON (row_to_json; NULL array elements among them)
    are read by serde_json into the Row structs and written back with the same values
    (rust_decimal writes a numeric as a string, which PostgreSQL reads back as the same
    number). The one exception is documented (docs/types.md, Rust): a numeric beyond
    Decimal's 28 digits is refused, not rounded."""
    url, catalog = every_case_rows
    renderer = RustRenderer(catalog, {})
    text = renderer.render()
    lines: list[str] = []
    with psycopg.connect(url) as conn:
        for table in catalog.tables:
            if not table.columns:
                continue
            qualified = '"{}"."{}"'.format(table.schema.replace('"', '""'), table.name.replace('"', '""'))
            rows = conn.execute(f"SELECT row_to_json(t)::text FROM {qualified} t").fetchall()  # type: ignore[arg-type]
            lines += [f"{renderer.names[(table.schema, table.name)]}\t{row[0]}" for row in rows]
    assert len(lines) >= 15
    outputs = run_decoder(tmp_path / "crate", toolchain_cache, "db", text, lines, errors=True)
    assert len(outputs) == len(lines)
    refused = []
    for sent, received in zip(lines, outputs, strict=True):
        name, original = sent.split("\t", 1)
        _, decoded = received.split("\t", 1)
        expected = json.loads(original, parse_float=Decimal)
        if decoded.startswith("ERROR "):
            refused.append(name)
            assert re.search(r'"c_numeric":\d{29,}', original), f"{name}: {decoded} ({original})"
            continue
        actual = json.loads(decoded, parse_float=Decimal, parse_int=Decimal)
        assert _numbers(actual) == _numbers(expected), f"{name}: {original} came back as {decoded}"
    assert refused == ["AllTypes"]  # its numeric of 30 digits, and nothing else


def _numbers(value: object) -> object:
    """JSON values compared by meaning: numbers, and strings of a number (rust_decimal
    writes a Decimal as a string), as Decimal; timestamps as instants."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        if re.fullmatch(r"-?\d+(\.\d+)?", value):
            return Decimal(value)
        if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value
