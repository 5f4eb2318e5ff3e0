// supabase-examples/user-management (compiled on the Supabase base) through supabase-js's
// own typings: compiled by test_typescript.py with tsc --strict.
import { exactly } from "./checks";
import { createClient } from "@supabase/supabase-js";
import type { Database, Tables, TablesUpdate } from "./user_management_supabase_types";

const supabase = createClient<Database>("http://localhost", "key");

async function run(): Promise<void> {
  const profile = await supabase.from("profiles").select("username, website, avatar_url").eq("id", "x").single();
  exactly<typeof profile.data, { username: string | null; website: string | null; avatar_url: string | null } | null>(true);
  const updates: TablesUpdate<"profiles"> = { id: "x", username: "ann", updated_at: new Date().toISOString() };
  await supabase.from("profiles").upsert({ id: "x", ...updates });
  const rows: Tables<"profiles">[] | null = (await supabase.from("profiles").select()).data;
  // profiles.id references auth.users: no embed across schemas.
  const withUser = await supabase.from("profiles").select("id, users(email)");
  // @ts-expect-error: users is no relationship of public.profiles
  const email: string | null | undefined = withUser.data?.[0].users?.email;

  // @ts-expect-error: id is required (it references auth.users, no default)
  await supabase.from("profiles").insert({ username: "ann" });
}

export { run };
