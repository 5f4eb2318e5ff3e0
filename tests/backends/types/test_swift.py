"""Swift types: naming and type-mapping rules one line per case, a golden file for
every_case.sql, and a parse of the output for every_case.sql and every corpus case.

No Swift compiler exists for this machine, so the output is parsed with tree-sitter-swift
(PyPI) and fails on any ERROR or MISSING node. tree-sitter accepts more than swiftc does
(a bare keyword as a property name parses), so the tree is also checked for what the
compiler would reject in this kind of file: an unescaped reserved word used as a name, a
duplicate member, CodingKeys or initialiser parameters that do not match the properties, and
a type name that is neither declared in the file nor a Swift/Foundation type."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import tree_sitter
import tree_sitter_swift

from nself.backends.types.swift import (
    FILE_NAME,
    SwiftRenderer,
    case_names,
    property_names,
    render,
    render_swift,
    swift_string,
)
from nself.frontends.live import introspect
from nself.ir import Catalog, CatalogBuilder, catalog_from_json, catalog_to_json
from nself.ir.model import Column, Enum, Schema, Table
from tests.backends.types.conftest import CorpusCatalogs, SessionDatabases, assert_golden
from tests.backends.types.toolchain import (
    FUNCTIONS_SQL,
    Shapes,
    WireTypes,
    function_misfits,
    json_misfit,
    one_table_catalog,
    row_misfits,
)
from tests.conftest import run_sql

# Reserved words of the Swift reference ("Keywords and Punctuation") that cannot be names
# without backticks; kept here independently of the backend's own list.
SWIFT_RESERVED = frozenset(
    [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import",
        "init", "inout", "internal", "let", "operator", "private", "precedencegroup", "protocol",
        "public", "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case",
        "catch", "continue", "default", "defer", "do", "else", "fallthrough", "for", "guard", "if",
        "in", "repeat", "return", "throw", "switch", "where", "while", "Any", "as", "await", "false",
        "is", "nil", "self", "Self", "super", "throws", "true", "try", "_",
    ]
)  # fmt: skip

# Types the generated code may use without declaring them.
KNOWN_TYPES = frozenset(
    [
        "String", "Int16", "Int32", "Int64", "UInt32", "UInt64", "Float", "Double", "Bool", "Decimal",
        "Date", "UUID", "Data", "Codable", "Hashable", "Sendable", "CaseIterable", "CodingKey",
        "Decoder", "Encoder", "DecodingError", "Decodable", "KeyedDecodingContainer", "Key", "T",
        "Element", "Equatable",
    ]
)  # fmt: skip

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))


# --------------------------------------------------------------------------- tree checks


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8")


def _bare(name: str) -> str:
    return name.strip("`")


def _declarations(root: tree_sitter.Node) -> Iterator[tuple[str, str, tree_sitter.Node]]:
    """(keyword, name, body) of every struct and enum declaration."""
    for node in _walk(root):
        if node.type != "class_declaration":
            continue
        keyword = node.children[0].type
        if keyword == "extension":  # of a standard type: declares no name
            continue
        name = next(_text(c) for c in node.children if c.type == "type_identifier")
        body = next(c for c in node.children if c.type in ("class_body", "enum_class_body"))
        yield keyword, name, body


def _members(body: tree_sitter.Node, kind: str) -> list[str]:
    names: list[str] = []
    for child in body.children:
        if kind == "property" and child.type == "property_declaration":
            pattern = next(c for c in child.children if c.type == "pattern")
            names.append(_bare(_text(pattern)))
        if kind == "case" and child.type == "enum_entry":
            names += [_bare(_text(c)) for c in child.children if c.type == "simple_identifier"]
    return names


def swift_problems(source: str) -> list[str]:
    """What swiftc would reject that a tree-sitter parse can see; empty when clean."""
    data = source.encode("utf-8")
    tree = PARSER.parse(data)
    problems: list[str] = []
    for node in _walk(tree.root_node):
        where = f"line {node.start_point[0] + 1}"
        if node.is_error or node.is_missing:
            problems.append(
                f"{where}: {'missing' if node.is_missing else 'syntax error'} {_text(node)[:60]!r}"
            )
        if node.type == "simple_identifier" and _text(node) in SWIFT_RESERVED:
            parent = node.parent
            # `Bool.self` uses the keyword as a keyword; declarations are still checked.
            if parent is not None and parent.type != "navigation_suffix":
                problems.append(f"{where}: reserved word {_text(node)!r} used as a name without backticks")
    declared = set()
    for keyword, name, body in _declarations(tree.root_node):
        declared.add(name)
        if keyword == "struct":
            properties = _members(body, "property")
            if len(set(properties)) != len(properties):
                problems.append(f"struct {name}: duplicate properties {properties}")
            coding = [b for k, n, b in _declarations(body) if n == "CodingKeys"]
            if properties and (not coding or _members(coding[0], "case") != properties):
                problems.append(f"struct {name}: CodingKeys do not match the properties")
            inits = [c for c in body.children if c.type == "init_declaration"]
            parameters = [
                _bare(_text(next(p for p in parameter.children if p.type == "simple_identifier")))
                for parameter in (inits[0].children if inits else [])
                if parameter.type == "parameter"
            ]
            if parameters != properties:
                problems.append(
                    f"struct {name}: initialiser parameters {parameters} != properties {properties}"
                )
        if keyword == "enum" and name != "CodingKeys":
            cases = _members(body, "case")
            if len(set(cases)) != len(cases):
                problems.append(f"enum {name}: duplicate cases {cases}")
    for node in _walk(tree.root_node):
        if node.type == "typealias_declaration":
            declared.add(next(_text(c) for c in node.children if c.type == "type_identifier"))
    used = {_text(n) for n in _walk(tree.root_node) if n.type == "type_identifier"}
    for name in sorted(used - declared - KNOWN_TYPES):
        problems.append(f"type {name} is neither declared nor a Swift/Foundation type")
    return problems


def test_the_tree_checks_catch_what_swiftc_would() -> None:
    bad = (
        'enum E: String { case default = "x"\n case a = "a"\n case a = "b" }\n'
        "struct S: Codable { var class: Int\n var x: Missing\n"
        "    init(class: Int) { self.class = class }\n"
        "    enum CodingKeys: String, CodingKey { case y } }\n"
        "struct T { var a: Int "
    )
    problems = "\n".join(swift_problems(bad))
    for expected in (
        "'default'",
        "'class'",
        "duplicate cases",
        "CodingKeys do not match",
        "Missing",
        "missing",
    ):
        assert expected in problems


# --------------------------------------------------------------------------- names


def test_property_names() -> None:
    assert property_names(
        [
            "id",
            "Display Name",
            "default",
            "self",
            "Self",
            "init",
            "3d_model",
            "type",
            "class",
            "userId",
            "user_id",
        ]
    ) == [
        "id",
        "displayName",
        "`default`",
        "self_",
        "self_2",
        "init_",
        "_3dModel",
        "type",
        "`class`",
        "userId",
        "userId2",
    ]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["read-only", "Guest User", "2fa_pending"], ["readOnly", "guestUser", "_2faPending"]),
        (["read-only", "ReadOnly", "read_only"], ["readOnly", "readOnly2", "readOnly3"]),
        (["default", "self", "open", "-"], ["`default`", "self_", "`open`", "value"]),
        (["all_cases", "rawValue", "hash_value"], ["allCases_", "rawValue_", "hashValue_"]),
    ],
)
def test_case_names(labels: list[str], expected: list[str]) -> None:
    assert case_names(labels) == expected


def test_swift_string() -> None:
    assert swift_string('a "b" \\ \n') == '"a \\"b\\" \\\\ \\n"'


# --------------------------------------------------------------------------- types


def _properties(declarations: str) -> list[tuple[str, str]]:
    """(name, type) of a struct's property declarations."""
    return re.findall(r"^    public var (\S+): (.*)$", declarations, re.M)


# The declared dimensions, as before arrays admitted any (the tests of element nullability
# read easier so; test_arrays_admit_any_dimension checks the default).
DECLARED = {"arrays": "declared"}


def _types(
    columns: list[Column], checks: tuple[str, ...] = (), options: dict[str, str] | None = None
) -> tuple[list[str], list[str], list[str]]:
    catalog = one_table_catalog(columns, checks)
    structs = SwiftRenderer(catalog, DECLARED if options is None else options).table_structs(
        catalog.tables[0]
    )
    return tuple([t for _, t in _properties(s.properties)] for s in structs)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("data_type", "not_null", "row"),
    [
        ("smallint", True, "Int16"),
        ("integer", True, "Int32"),
        ("bigint", False, "Int64?"),
        ("real", True, "Float"),
        ("double precision", True, "Double"),
        ("numeric(10,2)", True, "Decimal"),
        ("boolean", True, "Bool"),
        ("text", False, "String?"),
        ("bytea", True, "Data"),
        ("jsonb", True, "JSONValue"),
        ("uuid", True, "UUID"),
        ("date", True, "Date"),
        ("timestamp(3) with time zone", True, "Date"),
        ("time without time zone", True, "String"),
        ("interval", True, "String"),
        ("oid", True, "UInt32"),
        # Array elements may be NULL; in a rectangular array only the innermost ones.
        ("integer[]", False, "[Int32?]?"),
        ("text[][]", True, "[[String?]]"),
        # ... unless PostgreSQL keeps NULL out: a NOT NULL element domain, a domain's CHECK.
        ("public.label[]", True, "[String]"),
        ("public.label[][]", False, "[[String]]?"),
        ("public.strict_tags", False, "[String]?"),
        ("public.strict_tags[]", True, "[[String?]]"),
    ],
)
def test_type_mapping(data_type: str, not_null: bool, row: str) -> None:
    assert _types([Column("c", data_type, not_null=not_null)])[0] == [row]


def test_arrays_admit_any_dimension() -> None:
    """By default an array is a PgArray (any number of dimensions, as PostgreSQL accepts in
    every array column); a CHECK (array_ndims(c) = N) gives N nested arrays."""
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
    assert row == ["PgArray<Int32>", "PgArray<String?>?", "[[Int32?]]", "[JSONValue?]"]
    assert insert[1] == "PgArray<String?>??"


def test_a_table_check_keeps_null_out_of_array_elements() -> None:
    row, insert, update = _types(
        [Column("a", "integer[]", not_null=True), Column("b", "text[]"), Column("c", "text[]")],
        checks=(
            "(array_position(a, NULL::integer) IS NULL)",
            "(cardinality(array_remove(b, NULL::text)) = cardinality(b))",
        ),
    )
    assert row == ["[Int32]", "[String]?", "[String?]?"]
    assert insert == ["[Int32]", "[String]??", "[String?]??"]
    assert update == ["[Int32]?", "[String]??", "[String?]??"]


def test_insert_and_update_optionality() -> None:
    row, insert, update = _types(
        [
            Column("id", "bigint", not_null=True, default="nextval('public.t_id_seq'::regclass)"),
            Column("name", "text", not_null=True),
            Column("note", "text"),
            Column("total", "integer", generated="(1 + 1)"),
        ]
    )
    assert row == ["Int64", "String", "String?", "Int32?"]
    assert insert == ["Int64?", "String", "String??"]
    assert update == ["Int64?", "String?", "String??"]


def test_empty_enum_and_json_value_parse() -> None:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Enum("public", "nothing", ()))
    builder.add(Table("public", "docs", (Column("body", "jsonb"),)))
    text = render_swift(builder.freeze(), {})
    assert "public enum JSONValue" in text and "public enum Nothing: Codable" in text
    assert swift_problems(text) == []


def test_insert_and_update_can_leave_out_write_null_or_write_a_value() -> None:
    """A `T??` property: nil is left out (synthesised encoding uses encodeIfPresent, which
    skips nil), `.some(nil)` is written as null (encodeIfPresent passes the inner Optional to
    encode, and Optional's encode(to:) calls encodeNil), a value is written. Reading back, the
    generated init(from:) gives `.some(nil)` for null, where the synthesised one
    (decodeIfPresent) would give nil, as if the column had been left out."""
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Table("public", "t", (Column("note", "text"), Column("name", "text", not_null=True))))
    builder.add(Table("public", "u", (Column("name", "text", not_null=True),)))
    # The helper extends KeyedDecodingContainer: a table of that name must not shadow it.
    builder.add(Table("public", "KeyedDecodingContainer", (Column("x", "text"),)))
    text = render_swift(builder.freeze(), {})
    assert "public struct KeyedDecodingContainer:" not in text
    for struct in ("TInsert", "TUpdate"):
        body = text.split(f"public struct {struct}: ", 1)[1].split("\n}\n", 1)[0]
        assert "    public var note: String??\n" in body
        assert "    func encode(to" not in body  # synthesised: encodeIfPresent
        assert (
            "    public init(from decoder: Decoder) throws {\n"
            "        let container = try decoder.container(keyedBy: CodingKeys.self)\n"
            "        self.note = try container.decodeNullable(forKey: .note)\n"
        ) in body
    assert "        self.name = try container.decode(String.self, forKey: .name)\n" in text
    assert "        self.name = try container.decodeIfPresent(String.self, forKey: .name)\n" in text
    # Without a `T??` the synthesised decoding is right: u's structs have no init(from:).
    u_insert = text.split("public struct UInsert: ", 1)[1].split("\n}\n", 1)[0]
    assert "init(from" not in u_insert
    assert "fileprivate func decodeNullable<T: Decodable>(forKey key: Key) throws -> T?? {" in text
    assert swift_problems(text) == []


def test_every_case_mapping(every_case_catalog: Catalog) -> None:
    text = render_swift(every_case_catalog, DECLARED)
    assert '    case readOnly = "read-only"\n' in text
    assert '    case `default` = "default"\n' in text
    assert '        case displayName = "Display Name"\n' in text
    assert "    public var cTagMatrix: [[String?]]?\n" in text
    # NULL elements where PostgreSQL allows them, as every_case_rows.sql holds.
    assert "    public var plain: [String?]?\n" in text
    assert "    public var matrix: [[Int32?]]?\n" in text
    assert "    public var moods: [Mood?]?\n" in text
    assert "    public var labels: [String]?\n" in text
    assert "    public var strict: [String]?\n" in text
    assert "    public var checked: [Int64]?\n" in text
    assert "    public var cEmail: String\n" in text
    assert "public struct BillingUsers2: " in text and "public struct Users: " in text


def test_output_is_deterministic(every_case_catalog: Catalog) -> None:
    again = catalog_from_json(catalog_to_json(every_case_catalog))
    assert render(every_case_catalog, {}) == render(again, {})


def test_golden_every_case(every_case_catalog: Catalog) -> None:
    assert_golden("swift/every_case/Types.swift", render(every_case_catalog, {})[FILE_NAME])


def test_golden_declared_arrays(every_case_catalog: Catalog, functions_catalog: Catalog) -> None:
    """`arrays = "declared"`: the declared dimensions, as before arrays admitted any."""
    assert_golden("swift/every_case/Types_declared.swift", render(every_case_catalog, DECLARED)[FILE_NAME])
    assert_golden("swift/functions/Types_declared.swift", render(functions_catalog, DECLARED)[FILE_NAME])


def test_golden_functions(functions_catalog: Catalog) -> None:
    """functions_schema.sql's functions: Args, Result and Returns types."""
    assert_golden("swift/functions/Types.swift", render(functions_catalog, {})[FILE_NAME])


# --------------------------------------------------------------------------- parse


@pytest.mark.oracle
def test_tree_sitter_every_case(every_case_catalog: Catalog) -> None:
    assert swift_problems(render(every_case_catalog, {})[FILE_NAME]) == []


@pytest.mark.oracle
def test_tree_sitter_corpus(corpus_catalogs: CorpusCatalogs) -> None:
    failures = {}
    names = corpus_catalogs.names()
    for name in names:
        problems = swift_problems(render(corpus_catalogs.get(name), {})[FILE_NAME])
        if problems:
            failures[name] = problems[:5]
    print(f"tree-sitter-swift: {len(names) - len(failures)}/{len(names)} corpus cases parse clean")
    assert failures == {}


def test_a_column_has_one_property_name_in_row_insert_and_update() -> None:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(
        Table("public", "t", (Column("userId", "integer", generated="1"), Column("user_id", "integer")))
    )
    catalog = builder.freeze()
    row, insert, update = SwiftRenderer(catalog, {}).table_structs(catalog.tables[0])
    assert [p for p, _ in _properties(row.properties)] == ["userId", "userId2"]
    assert (
        [p for p, _ in _properties(insert.properties)]
        == [p for p, _ in _properties(update.properties)]
        == ["userId2"]
    )


# --------------------------------------------------------------------------- real rows


SWIFT_WIRE = WireTypes(
    optional=lambda t: t[:-1] if t.endswith("?") else None,
    array=lambda t: t[1:-1] if t.startswith("[") and t.endswith("]") else None,
    any_json="JSONValue",
    bytes="Data",
    strings=frozenset({"String", "UUID", "Date"}),
    integers=frozenset({"Int16", "Int32", "Int64", "UInt32", "UInt64"}),
    oids=frozenset({"UInt32", "UInt64"}),
    numbers=frozenset({"Float", "Double", "Decimal"}),
    boolean="Bool",
    any_array=lambda t: t[len("PgArray<") : -1] if t.startswith("PgArray<") and t.endswith(">") else None,
)


def swift_shapes(text: str) -> Shapes:
    """The structs of a generated file as {struct: {CodingKeys value: Swift type}}, and the
    names of its enums, read from the text itself."""
    structs: dict[str, dict[str, str]] = {}
    enums = set(re.findall(r"^public enum (\w+)", text, re.M))
    for name, body in re.findall(r"^public struct (\w+): [^{]*\{\n(.*?)^\}", text, re.M | re.S):
        types = dict(re.findall(r"^    public var (\S+): (.*)$", body, re.M))
        keys = re.search(r"enum CodingKeys: String, CodingKey \{\n(.*?)\n    \}", body, re.S)
        fields: dict[str, str] = {}
        for case, raw in re.findall(
            r'^        case (\S+)(?: = (".*"))?$', keys.group(1) if keys else "", re.M
        ):
            fields[json.loads(raw) if raw else case.strip("`")] = types[case]
        structs[name] = fields
    return structs, enums


@pytest.mark.oracle
def test_swift_row_types_hold_real_rows(every_case_rows: tuple[str, Catalog]) -> None:
    """Every row PostgreSQL writes as JSON (row_to_json) fits its Row struct as generated:
    NULL only where the type is optional, NULL array elements (every_case_rows.sql has some,
    also in a 2-D array) only in `[T?]`. No Swift runs here, so this reads the shapes from
    the generated text; the tree-sitter checks hold the text to Swift."""
    url, catalog = every_case_rows
    shapes = swift_shapes(render_swift(catalog, {}))
    checked, problems = row_misfits(url, catalog, SwiftRenderer(catalog, {}).names, SWIFT_WIRE, shapes)
    assert checked >= 15
    assert problems == []
    # The check has teeth: the rows of array_elements hold NULL elements.
    assert json_misfit("[Int32]", [1, None], SWIFT_WIRE, shapes) == "null in a Int32"


# --------------------------------------------------------------------------- functions


@pytest.mark.oracle
def test_functions_are_typed_parse_and_hold_real_calls(types_databases: SessionDatabases) -> None:
    """Args structs hold the named arguments only, defaulted ones optional; Returns is an
    array for SETOF with optional elements where PostgreSQL allows a NULL row; TABLE and
    OUT columns are optional; the file passes the tree-sitter checks, and what real calls
    return (NULL rows among them) fits the Returns types."""
    url = types_databases.new("types_swift_functions")
    run_sql(url, FUNCTIONS_SQL.read_text(encoding="utf-8"))
    catalog = introspect(url)
    renderer = SwiftRenderer(catalog, {})
    text = renderer.render()
    for expected in [
        "public typealias PeopleNamedReturns = [People?]",
        "public typealias MaybeNumbersReturns = [Int32?]",
        "public typealias StatsReturns = [StatsResult]",
        "public typealias SplitNameReturns = SplitNameResult?",
        "public typealias OneReturns = Int32\n",
        "public var suffix: String?\n",
    ]:
        assert expected in text, expected
    assert "NothingReturns" not in text
    assert swift_problems(text) == []
    aliases = dict(re.findall(r"^public typealias (\w+) = (.*)$", text, re.M))
    shapes = swift_shapes(text)
    assert function_misfits(url, renderer.function_types, aliases, SWIFT_WIRE, shapes) == []
    # The check has teeth: a NULL row does not fit a non-optional element.
    assert json_misfit("[People]", [None], SWIFT_WIRE, shapes) == "null in a People"
