// rich_schema.sql (every case of the type backends) through supabase-js's own typings:
// compiled by test_typescript.py with tsc --strict.
import { exactly } from "./checks";
import { createClient } from "@supabase/supabase-js";
import type { Database, Tables, TablesInsert, CompositeTypes, Enums, PgArray } from "./rich_supabase_types";

const supabase = createClient<Database>("http://localhost", "key");

async function run(): Promise<void> {
  const users = await supabase.from("users").select("id, email, access, roles, score");
  exactly<
    typeof users.data,
    { id: number; email: string; access: Enums<"access">; roles: PgArray<Enums<"access"> | null>; score: number | null }[] | null
  >(true);
  // Same-schema embeds: class -> users (nullable key) and back (to-many).
  const classes = await supabase.from("class").select("type, users(email)");
  exactly<typeof classes.data, { type: string; users: { email: string } | null }[] | null>(true);
  const teachers = await supabase.from("users").select("email, class(type)");
  exactly<typeof teachers.data, { email: string; class: { type: string }[] }[] | null>(true);
  // Another schema: auth.users, not public.users.
  const authUsers = await supabase.schema("auth").from("users").select("status, type");
  exactly<typeof authUsers.data, { status: Enums<{ schema: "auth" }, "status">; type: string }[] | null>(true);
  await supabase.schema("auth").from("users").insert({ user_id: 1, status: "active", type: "t" });
  // A key across schemas (auth.users -> public.users) is no relationship PostgREST embeds.
  const cross = await supabase.schema("auth").from("users").select("status, users(id)");
  // @ts-expect-error: not an embed: auth.users' own name must not resolve to itself
  exactly<typeof cross.data, { status: Enums<{ schema: "auth" }, "status">; users: { id: string } }[] | null>(true);
  await supabase.schema("Billing Dept").from("Invoice Lines").insert({ "Line No": 1, amount: 2.5 });
  await supabase.from("all_types").update({ c_bigint: 1, c_numeric: 2.25, c_money: "$1.00", c_jsonb: { a: [1] } });
  const insert: TablesInsert<"all_types"> = { c_smallint: 1, c_integer: 2, c_bigint: 3 };
  await supabase.from("all_types").insert([insert]);
  // PostgreSQL enforces no declared dimension: c_int_array (integer[]) takes a 2-D value,
  // c_int_matrix (integer[][]) a 1-D one, and an element read back may be a sub-array.
  await supabase.from("all_types").insert({ ...insert, c_int_array: [[1, 2], [3, null]], c_int_matrix: [1, null] });
  const arrays = await supabase.from("all_types").select("c_int_array").single();
  const element = arrays.data?.c_int_array?.[0];
  const sum: number = typeof element === "number" ? element + 1 : 0;
  // @ts-expect-error: an element may be a sub-array (or NULL): narrow it first
  const unchecked: number = arrays.data?.c_int_array?.[0] ?? 0;
  const found = await supabase.rpc("search_users", { query: "%a%" });
  exactly<typeof found.data, (Tables<"users"> | null)[] | null>(true);
  const stats = await supabase.rpc("user_stats", { since: "2024-01-01" });
  exactly<typeof stats.data, { access: Enums<"access"> | null; total: number | null; "Last Seen": string | null }[] | null>(true);
  await supabase.schema("auth").rpc("uid");
  const money: CompositeTypes<"money_amount"> = { currency: "EUR", amount: 1, from: null };

  // @ts-expect-error: c_doubled is a generated column
  await supabase.from("all_types").update({ c_doubled: 2 });
  // @ts-expect-error: id is an ALWAYS identity
  await supabase.from("users").insert({ id: 1, email: "a@b" });
  // @ts-expect-error: email (a NOT NULL domain without default) is required
  await supabase.from("users").insert({ display_name: "x" });
  // @ts-expect-error: not a label of access
  await supabase.from("users").update({ access: "guest" });
  // @ts-expect-error: search_users needs query
  await supabase.rpc("search_users", { max_rows: 1 });
  // @ts-expect-error: type_counts is a materialized view
  await supabase.from("type_counts").insert({ total: 1 });
  void money;
  void sum;
  void unchecked;
}
export { run };
