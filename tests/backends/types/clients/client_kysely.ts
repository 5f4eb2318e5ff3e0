// client_schema.sql through kysely's own typings: compiled by test_typescript.py with tsc --strict.
import { exactly } from "./checks";
import type { Kysely, Selectable, Insertable, Updateable } from "kysely";
import type { DB, People } from "./client_kysely_types";

declare const db: Kysely<DB>;

async function run(): Promise<void> {
  const people = await db.selectFrom("people").select(["id", "Full Name", "created_at", "mood"]).execute();
  exactly<typeof people, { id: string; "Full Name": string; created_at: Date; mood: "happy" | "sad" | "Very Happy" }[]>(true);
  const joined = await db
    .selectFrom("crm.notes")
    .innerJoin("crm.people", "crm.people.id", "crm.notes.person_id")
    .select(["crm.notes.body", "crm.people.email"])
    .executeTakeFirstOrThrow();
  exactly<typeof joined, { body: string; email: string }>(true);
  await db.insertInto("people").values({ "Full Name": "Ann", team_id: 1n }).execute();
  await db.insertInto("teams").values({ name: "t", budget: 1.5 }).execute();
  await db.updateTable("people").set({ mood: "sad", created_at: new Date() }).where("id", "=", "1").execute();
  const row: Selectable<People> = people[0] as Selectable<People>;
  const insert: Insertable<People> = { "Full Name": "x" };
  const update: Updateable<People> = { last: null };
  // @ts-expect-error: full_label is a generated column
  await db.insertInto("people").values({ "Full Name": "x", full_label: "y" }).execute();
  // @ts-expect-error: id is an ALWAYS identity
  await db.updateTable("people").set({ id: "2" }).execute();
  // @ts-expect-error: "Full Name" is required
  await db.insertInto("people").values({ mood: "sad" }).execute();
  // @ts-expect-error: not a label of mood
  await db.insertInto("people").values({ "Full Name": "x", mood: "angry" }).execute();
  void [row, insert, update];
}
export { run };
