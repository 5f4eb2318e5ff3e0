// pagila (the shared corpus) through supabase-js's own typings: compiled by
// test_typescript.py with tsc --strict.
import { exactly } from "./checks";
import { createClient } from "@supabase/supabase-js";
import type { Database, Tables, TablesInsert, Enums } from "./pagila_supabase_types";
import { Constants } from "./pagila_supabase_types";

const supabase = createClient<Database>("http://localhost", "key");

async function run(): Promise<void> {
  const films = await supabase.from("film").select("*");
  exactly<typeof films.data, Tables<"film">[] | null>(true);
  // Two keys to language: the hint names the one to follow (to-one, NOT NULL key).
  const withLanguage = await supabase
    .from("film")
    .select("title, rating, language!film_language_id_fkey(name), film_actor(actor(first_name))");
  exactly<
    typeof withLanguage.data,
    | {
        title: string;
        rating: Enums<"mpaa_rating"> | null;
        language: { name: string };
        film_actor: { actor: { first_name: string } }[];
      }[]
    | null
  >(true);
  // To-many the other way, and a chain of to-one keys.
  const customers = await supabase.from("customer").select("email, address(city(city, country(country))), rental(rental_date)");
  exactly<
    typeof customers.data,
    | { email: string | null; address: { city: { city: string; country: { country: string } } }; rental: { rental_date: string }[] }[]
    | null
  >(true);
  const view = await supabase.from("film_list").select("title, price");
  exactly<typeof view.data, { title: string | null; price: number | null }[] | null>(true);
  await supabase.from("actor").insert({ first_name: "A", last_name: "B" });
  await supabase.from("film").update({ rating: "PG-13", special_features: ["Trailers", null] }).eq("film_id", 1);
  const insert: TablesInsert<"rental"> = { rental_date: "2024-01-01", inventory_id: 1, customer_id: 1, staff_id: 1 };
  await supabase.from("rental").insert(insert);
  const rewards = await supabase.rpc("rewards_report", { min_monthly_purchases: 1, min_dollar_amount_purchased: 2.5 });
  exactly<typeof rewards.data, (Tables<"customer"> | null)[] | null>(true);
  const inStock = await supabase.rpc("inventory_in_stock", { p_inventory_id: 1 });
  exactly<typeof inStock.data, boolean | null>(true);
  const ratings: readonly Enums<"mpaa_rating">[] = Constants.public.Enums.mpaa_rating;

  // @ts-expect-error: a required column (last_name) left out
  await supabase.from("actor").insert({ first_name: "A" });
  // @ts-expect-error: not a label of mpaa_rating
  await supabase.from("film").update({ rating: "PG13" });
  // @ts-expect-error: a missing rpc argument
  await supabase.rpc("rewards_report", { min_monthly_purchases: 1 });
  // @ts-expect-error: film_list is a view PostgreSQL cannot update (joins)
  await supabase.from("film_list").insert({ title: "x" });
  void ratings;
}
export { run };
