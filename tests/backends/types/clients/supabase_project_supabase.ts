// supabase_project.sql (a Supabase project of our own, compiled on the Supabase base) through
// supabase-js's own typings: rpc with optional (DEFAULT NULL) arguments, embeds of tables
// keyed by auth.users. Compiled by test_typescript.py with tsc --strict.
import { exactly } from "./checks";
import { createClient } from "@supabase/supabase-js";
import type { Database, Tables } from "./supabase_project_supabase_types";

const supabase = createClient<Database>("http://localhost", "key");

async function run(): Promise<void> {
  // DEFAULT NULL arguments are optional: none, some or all of them.
  const all = await supabase.rpc("search_posts");
  const some = await supabase.rpc("search_posts", { query: "%supabase%" });
  await supabase.rpc("search_posts", { query: "%a%", who: "x", max_rows: 5 });
  exactly<typeof some.data, (Tables<"posts"> | null)[] | null>(true);
  const firstTitle: string | undefined = all.data?.[0]?.title;
  const count = await supabase.rpc("post_count", {});
  exactly<typeof count.data, number | null>(true);
  await supabase.rpc("post_count", { who: "x" });
  await supabase.rpc("publish", { post: 1 });
  await supabase.rpc("publish", { post: 1, at: new Date().toISOString() });
  // A select after a SETOF rpc embeds through the table's relationships.
  const found = await supabase.rpc("search_posts", { who: "x" }).select("title, profiles(handle)");
  const foundHandle: string | undefined = found.data?.[0]?.profiles?.handle;
  // Embeds within public between tables keyed by auth.users: posts -> profiles, profiles -> posts.
  const posts = await supabase.from("posts").select("id, title, profiles(handle, bio)");
  exactly<typeof posts.data, { id: number; title: string; profiles: { handle: string; bio: string | null } | null }[] | null>(true);
  const profiles = await supabase.from("profiles").select("handle, posts(title)").eq("id", "x").single();
  exactly<typeof profiles.data, { handle: string; posts: { title: string }[] } | null>(true);
  // The keys to auth.users are no relationships: PostgREST embeds within one schema, and
  // postgrest-js looks a relation up in the querying schema.
  const authors = await supabase.from("posts").select("id, users(email)");
  // @ts-expect-error: users (auth.users) is no relationship of public.posts
  const authorEmail: string | null | undefined = authors.data?.[0].users?.email;
  // author defaults to auth.uid(): optional in an insert; id is ALWAYS generated.
  await supabase.from("posts").insert({ title: "hello" });

  // @ts-expect-error: post is required
  await supabase.rpc("publish", {});
  // @ts-expect-error: max_rows is an integer
  await supabase.rpc("search_posts", { max_rows: "5" });
  // @ts-expect-error: id is an ALWAYS identity
  await supabase.from("posts").insert({ id: 1, title: "x" });
}

export { run };
