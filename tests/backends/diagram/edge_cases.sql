-- The ER diagram's edge cases: one-to-one (UNIQUE and PK foreign keys), nullable foreign
-- keys, self references, a composite foreign key, the same table name in two schemas, names
-- with spaces, quotes, percent signs, backslashes, `#` and mermaid's keywords, views and
-- materialized views, a partitioned table with a partition.
CREATE SCHEMA sales;
CREATE SCHEMA "odd ""schema""";

CREATE TABLE public.customer (
  id integer PRIMARY KEY,
  name text NOT NULL,
  referred_by integer REFERENCES public.customer (id),
  email text UNIQUE
);

-- one-to-one through the primary key
CREATE TABLE public.customer_profile (
  customer_id integer PRIMARY KEY REFERENCES public.customer (id),
  bio text
);

-- one-to-one through UNIQUE, nullable: zero-or-one on both sides
CREATE TABLE public.passport (
  id integer PRIMARY KEY,
  holder integer UNIQUE REFERENCES public.customer (id),
  number text
);
-- partial: unique only where the predicate holds, so `number` is not marked unique
CREATE UNIQUE INDEX passport_number_issued ON public.passport (number) WHERE number <> '';

-- the same name in another schema, with a composite key
CREATE TABLE sales.customer (
  region text NOT NULL,
  number integer NOT NULL,
  public_id integer NOT NULL REFERENCES public.customer (id),
  PRIMARY KEY (region, number)
);

-- a composite foreign key (one edge), identifying (its columns are in the primary key)
CREATE TABLE sales."order line" (
  region text NOT NULL,
  number integer NOT NULL,
  line integer NOT NULL,
  "qty ""each""" numeric(10, 2),
  PRIMARY KEY (region, number, line),
  FOREIGN KEY (region, number) REFERENCES sales.customer (region, number)
);

-- one-to-one through a unique index (not a constraint)
CREATE TABLE sales.invoice (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  region text NOT NULL,
  number integer NOT NULL,
  FOREIGN KEY (region, number) REFERENCES sales.customer (region, number)
);
CREATE UNIQUE INDEX invoice_one_per_customer ON sales.invoice (region, number);

CREATE TYPE "odd ""schema""".mood AS ENUM ('ok');

-- names the formats must escape, and a self reference over two columns
CREATE TABLE "odd ""schema"""."100% \back#slash" (
  "pk" integer PRIMARY KEY,
  "one" integer,
  "to" text,
  "weird`name" "odd ""schema""".mood,
  parent integer REFERENCES "odd ""schema"""."100% \back#slash" ("pk"),
  customer integer NOT NULL REFERENCES public.customer (id)
);

CREATE TABLE public.events (
  id integer NOT NULL,
  at date NOT NULL,
  customer_id integer REFERENCES public.customer (id),
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE public.events_2024 PARTITION OF public.events
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

CREATE VIEW public.customer_names AS SELECT id, name FROM public.customer;
CREATE MATERIALIZED VIEW sales.customer_count AS SELECT region, count(*) AS n FROM sales.customer GROUP BY region;
-- a unique index (no constraint) marks its one column unique, on a materialized view too
CREATE UNIQUE INDEX customer_count_region ON sales.customer_count (region);
