// client_schema.sql through supabase-js's own typings: compiled by test_typescript.py with tsc --strict.
import { exactly } from "./checks";
import { createClient } from "@supabase/supabase-js";
import type { Database, Tables, TablesInsert, TablesUpdate, Enums } from "./client_supabase_types";
import { Constants } from "./client_supabase_types";

const supabase = createClient<Database>("http://localhost", "key");

async function run(): Promise<void> {
  // Select: the Row type, not never.
  const people = await supabase.from("people").select("*");
  const row: Tables<"people"> | undefined = people.data?.[0];
  exactly<typeof people.data, Tables<"people">[] | null>(true);
  const name: string | undefined = people.data?.[0]["Full Name"];
  const id: number | undefined = people.data?.[0].id;
  // Embeds within public: to-one (nullable key), to-many, one-to-one.
  const embedded = await supabase.from("people").select("id, teams(name), badges(label)");
  const teamName: string | undefined = embedded.data?.[0].teams?.name;
  exactly<typeof embedded.data, { id: number; teams: { name: string } | null; badges: { label: string } | null }[] | null>(true);
  const badge: string | undefined = embedded.data?.[0].badges?.label;
  const teams = await supabase.from("teams").select("name, people(id, mood)");
  exactly<typeof teams.data, { name: string; people: { id: number; mood: "happy" | "sad" | "Very Happy" }[] }[] | null>(true);
  const moods: Enums<"mood">[] | undefined = teams.data?.[0].people.map((p) => p.mood);
  // Embeds within another schema, and that schema's own people (not public.people).
  const notes = await supabase.schema("crm").from("notes").select("body, people(email)");
  const email: string | undefined = notes.data?.[0].people.email;
  exactly<typeof notes.data, { body: string; people: { email: string } }[] | null>(true);
  // Through a view's relationships.
  const viaView = await supabase.from("team_people").select("shout, teams(name)");
  exactly<typeof viaView.data, { shout: string | null; teams: { name: string } | null }[] | null>(true);
  const viewTeam: string | undefined = viaView.data?.[0].teams?.name;
  // A key across schemas is no relationship (PostgREST embeds only within one schema):
  // crm.people's key to public.people must not resolve to crm.people itself.
  const cross = await supabase.schema("crm").from("people").select("id, people(id)");
  // @ts-expect-error: not an embed of crm.people
  exactly<typeof cross.data, { id: number; people: { id: number } | null }[] | null>(true);
  // Insert, update (a table and an auto-updatable view).
  await supabase.from("people").insert({ "Full Name": "Ann", mood: "Very Happy" });
  await supabase.from("people").update({ team_id: null }).eq("id", 1);
  await supabase.from("team_people").insert({ "Full Name": "Bob", team_id: 1 });
  await supabase.schema("crm").from("people").insert({ id: 3, email: "a@b" });
  const insert: TablesInsert<"teams"> = { name: "t", budget: 1.5 };
  const update: TablesUpdate<{ schema: "crm" }, "people"> = { email: "x" };
  // rpc: a setof function typed as its table's rows (a row may be NULL), a scalar, another schema.
  const inTeam = await supabase.rpc("people_in", { team: 1 });
  exactly<typeof inTeam.data, (Tables<"people"> | null)[] | null>(true);
  const firstName: string | undefined = inTeam.data?.[0]?.["Full Name"];
  const count = await supabase.rpc("count_people", { mood: "sad" });
  exactly<typeof count.data, number | null>(true);
  const total: number | null | undefined = count.data;
  const crmNotes = await supabase.schema("crm").rpc("notes_of", { person: 1 });
  const body: string | undefined = crmNotes.data?.[0]?.body;
  const labels: readonly ("happy" | "sad" | "Very Happy")[] = Constants.public.Enums.mood;

  // @ts-expect-error: full_label is a generated column
  await supabase.from("people").insert({ "Full Name": "x", full_label: "y" });
  // @ts-expect-error: id is an ALWAYS identity
  await supabase.from("people").update({ id: 2 });
  // @ts-expect-error: "Full Name" is required
  await supabase.from("people").insert({ mood: "sad" });
  // @ts-expect-error: not a label of mood
  await supabase.from("people").insert({ "Full Name": "x", mood: "angry" });
  // @ts-expect-error: people_in needs team
  await supabase.rpc("people_in", {});
  // @ts-expect-error: team_sizes is not updatable
  await supabase.from("team_sizes").insert({ team_id: 1 });
  // @ts-expect-error: shout is computed: not writable through the view
  await supabase.from("team_people").update({ shout: "X" });
  // @ts-expect-error: no column email in public.people (crm.people has one)
  await supabase.from("people").select("email").then((r) => r.data?.[0].email.length);
  void [row, name, id, teamName, badge, moods, email, viewTeam, insert, update, firstName, total, body, labels];
}
export { run };
