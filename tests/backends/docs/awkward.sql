-- Awkward cases for the schema documentation: markup and pipes in comments, names with
-- spaces and quotes, the same table name in two schemas, links across schemas.
CREATE SCHEMA "Sales Data";
COMMENT ON SCHEMA "Sales Data" IS 'Orders & invoices <b>not bold</b>';
CREATE SCHEMA billing;

CREATE TYPE public.mood AS ENUM ('happy', 'so-so', 'a|b', '<sad>');
COMMENT ON TYPE public.mood IS 'How "someone" feels';
CREATE DOMAIN public.positive AS integer NOT NULL DEFAULT 1 CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE TYPE public.pair AS (left_value integer, "Right Value" public.mood);

CREATE TABLE public.users (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    feeling public.mood DEFAULT 'happy',
    score public.positive,
    email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED
);
COMMENT ON TABLE public.users IS '<script>alert("x")</script> people who sign in';
COMMENT ON COLUMN public.users.email IS 'a | b
second line * _not emphasis_ `tick`';
CREATE INDEX users_lower_email ON public.users (lower(email)) WHERE email_domain <> 'example.com';
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own row" ON public.users FOR SELECT USING (id = 1);

CREATE TABLE "Sales Data"."Order ""Items""" (
    "Item ID" bigserial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
    qty integer CHECK (qty > 0 AND qty < 100)
);
COMMENT ON COLUMN "Sales Data"."Order ""Items"""."Item ID" IS '# not a heading
- not a list';

CREATE TABLE billing.users (id integer PRIMARY KEY, owner integer REFERENCES public.users (id));
COMMENT ON TABLE billing.users IS 'same name as public.users';

CREATE TABLE public.events (id integer, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

CREATE VIEW public.active_users AS SELECT id, email FROM public.users WHERE feeling <> '<sad>';
COMMENT ON VIEW public.active_users IS 'Users & friends';
CREATE MATERIALIZED VIEW billing.totals AS SELECT owner, count(*) AS n FROM billing.users GROUP BY owner;

CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
COMMENT ON FUNCTION public.touch() IS 'Keeps <updated_at> current';
CREATE FUNCTION public.add(a integer, b integer DEFAULT 2) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION public.add(a text, b text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT a || b';
CREATE TRIGGER users_touch BEFORE UPDATE OF email ON public.users FOR EACH ROW EXECUTE FUNCTION public.touch();
CREATE SEQUENCE billing.invoice_no START 1000 INCREMENT 10;

-- Operators: one whose function is linked (not overloaded), one over an overloaded function
-- (shown, not linked), a prefix one.
CREATE FUNCTION public.near(a integer, b integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) < 10 $$;
CREATE OPERATOR public.~~~ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.near);
COMMENT ON OPERATOR public.~~~ (integer, integer) IS 'within | ten <b>';
CREATE OPERATOR public.#+# (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.add);
CREATE FUNCTION billing.neg(a integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT -a $$;
CREATE OPERATOR billing.~- (RIGHTARG = integer, FUNCTION = billing.neg);
