// supabase-examples/todo-list (compiled on the Supabase base) through supabase-js's own
// typings: compiled by test_typescript.py with tsc --strict.
import { exactly } from "./checks";
import { createClient } from "@supabase/supabase-js";
import type { Database, Tables, TablesInsert } from "./todo_list_supabase_types";

const supabase = createClient<Database>("http://localhost", "key");

async function run(): Promise<void> {
  const todos = await supabase.from("todos").select("id, task, is_complete, user_id").order("id");
  exactly<typeof todos.data, { id: number; task: string | null; is_complete: boolean | null; user_id: string }[] | null>(true);
  const all = await supabase.from("todos").select("*");
  exactly<typeof all.data, Tables<"todos">[] | null>(true);
  const todo: TablesInsert<"todos"> = { user_id: "00000000-0000-0000-0000-000000000000", task: "write" };
  await supabase.from("todos").insert(todo).select().single();
  await supabase.from("todos").update({ is_complete: true }).eq("id", 1);
  await supabase.from("todos").delete().eq("id", 1);
  // todos.user_id references auth.users: a key to another schema, which PostgREST does not
  // embed and postgrest-js cannot resolve (it looks relations up in the querying schema).
  const owners = await supabase.from("todos").select("id, users(email)");
  // @ts-expect-error: users is no relationship of public.todos
  const ownerEmail: string | null | undefined = owners.data?.[0].users?.email;
  // auth.users is in the types (the project's key references it), under its own schema.
  const user: Tables<{ schema: "auth" }, "users"> | null = null;

  // @ts-expect-error: user_id is required
  await supabase.from("todos").insert({ task: "write" });
  // @ts-expect-error: title is not a column of todos
  await supabase.from("todos").update({ title: "x" });
}

export { run };
