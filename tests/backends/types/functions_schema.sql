-- Functions every language types: SETOF with NULL rows, TABLE and OUT columns, one OUT
-- parameter, unnamed and defaulted arguments, a NOT NULL domain result, VARIADIC.
CREATE DOMAIN public.positive AS integer NOT NULL CHECK (VALUE > 0);
CREATE TABLE public.people (id integer PRIMARY KEY, name text NOT NULL, tags text[]);
INSERT INTO public.people VALUES (1, 'Ann', '{a,NULL}'), (2, 'Bob', NULL);

CREATE FUNCTION public.people_named(pattern text, max_rows integer DEFAULT 10)
RETURNS SETOF public.people LANGUAGE sql STABLE
AS $$ SELECT p FROM public.people p WHERE name LIKE pattern UNION ALL SELECT NULL::public.people LIMIT max_rows $$;
CREATE FUNCTION public.maybe_numbers(n integer)
RETURNS SETOF integer LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN i % 2 = 0 THEN NULL ELSE i END FROM generate_series(1, n) i $$;
CREATE FUNCTION public.stats(since integer)
RETURNS TABLE(person_id integer, "Label" text) LANGUAGE sql STABLE AS $$ SELECT id, NULL::text FROM public.people WHERE id >= since $$;
CREATE FUNCTION public.split_name(full_name text, OUT first text, OUT last text)
LANGUAGE sql IMMUTABLE AS $$ SELECT split_part(full_name, ' ', 1), nullif(split_part(full_name, ' ', 2), '') $$;
CREATE FUNCTION public.double_it(INOUT x integer) LANGUAGE sql IMMUTABLE AS $$ SELECT x * 2 $$;
CREATE FUNCTION public.shout(text, suffix text DEFAULT '!') RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper($1) || suffix $$;
CREATE FUNCTION public.one() RETURNS public.positive LANGUAGE sql IMMUTABLE AS $$ SELECT 1::public.positive $$;
CREATE FUNCTION public.total(VARIADIC nums integer[]) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT sum(n) FROM unnest(nums) n $$;
CREATE FUNCTION public.nothing() RETURNS void LANGUAGE sql VOLATILE AS $$ SELECT $$;
CREATE FUNCTION public.first_of(x anyelement, rest anyarray DEFAULT NULL) RETURNS anyelement LANGUAGE sql IMMUTABLE AS $$ SELECT x $$;
CREATE FUNCTION public.pairs(n integer) RETURNS SETOF record LANGUAGE sql IMMUTABLE AS $$ SELECT i, i::text FROM generate_series(1, n) i $$;
