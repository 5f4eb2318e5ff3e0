// supabase-examples/slack-clone (compiled on the Supabase base) through supabase-js's own
// typings: compiled by test_typescript.py with tsc --strict.
import { exactly } from "./checks";
import { createClient } from "@supabase/supabase-js";
import type { Database, Enums } from "./slack_clone_supabase_types";
import { Constants } from "./slack_clone_supabase_types";

const supabase = createClient<Database>("http://localhost", "key");

async function run(): Promise<void> {
  // public.users is keyed by auth.users (users.id references it): embeds go through it
  // within public: a message's author, a channel's messages with their authors.
  const messages = await supabase.from("messages").select("*, author:users(username, status)").eq("channel_id", 1);
  // user_id is NOT NULL: the author is there (not `| null`).
  const author: string | null | undefined = messages.data?.[0].author.username;
  const authorStatus: Enums<"user_status"> | null | undefined = messages.data?.[0].author.status;
  const channels = await supabase.from("channels").select("slug, messages(id, message, users(username))");
  exactly<typeof channels.data, { slug: string; messages: { id: number; message: string | null; users: { username: string | null } }[] }[] | null>(true);
  const roles = await supabase.from("user_roles").select("role, users(id)").eq("user_id", "x");
  const role: Enums<"app_role"> | undefined = roles.data?.[0].role;
  await supabase.from("messages").insert({ message: "hi", user_id: "x", channel_id: 1 });
  await supabase.from("channels").insert([{ slug: "general", created_by: "x" }]);
  await supabase.from("users").update({ status: "ONLINE" }).eq("id", "x");
  // rpc: the RBAC check.
  const allowed = await supabase.rpc("authorize", { requested_permission: "channels.delete", user_id: "x" });
  exactly<typeof allowed.data, boolean | null>(true);
  const created = await supabase.rpc("create_user", { email: "a@b" });
  exactly<typeof created.data, string | null>(true);
  const permissions: readonly ("channels.delete" | "messages.delete")[] = Constants.public.Enums.app_permission;
  // public.users' own key to auth.users is no relationship (another schema).
  const cross = await supabase.from("users").select("id, users(email)");
  // @ts-expect-error: not an embed of public.users
  const crossEmail: string | null | undefined = cross.data?.[0].users?.email;

  // @ts-expect-error: not a label of app_permission
  await supabase.rpc("authorize", { requested_permission: "channels.create", user_id: "x" });
  // @ts-expect-error: user_id is missing
  await supabase.rpc("authorize", { requested_permission: "channels.delete" });
  // @ts-expect-error: not a label of user_status
  await supabase.from("users").update({ status: "AWAY" });
}

export { run };
