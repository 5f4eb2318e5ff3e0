// pagila (the shared corpus) through kysely's own typings: compiled by test_typescript.py
// with tsc --strict.
import { exactly } from "./checks";
import type { Kysely } from "kysely";
import type { DB, MpaaRating } from "./pagila_kysely_types";

declare const db: Kysely<DB>;

async function run(): Promise<void> {
  const films = await db
    .selectFrom("film")
    .innerJoin("language", "language.language_id", "film.language_id")
    .select(["film.title", "film.rating", "language.name", "film.last_update", "film.rental_rate"])
    .execute();
  exactly<typeof films, { title: string; rating: MpaaRating | null; name: string; last_update: Date; rental_rate: string }[]>(true);
  await db.insertInto("actor").values({ first_name: "A", last_name: "B" }).execute();
  await db.updateTable("film").set({ rating: "R", rental_rate: 0.99 }).where("film_id", "=", 1).execute();
  const payments = await db.selectFrom("payment").select(["amount", "payment_date"]).execute();
  exactly<typeof payments, { amount: string; payment_date: Date }[]>(true);
  // @ts-expect-error: a required column (last_name) left out
  await db.insertInto("actor").values({ first_name: "A" }).execute();
  // @ts-expect-error: not a label of mpaa_rating
  await db.updateTable("film").set({ rating: "PG13" }).execute();
  // @ts-expect-error: partitions are emitted as their parent only
  await db.selectFrom("payment_p2022_01").selectAll().execute();
}
export { run };
