-- A schema with every constraint kind mock generation must respect.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TYPE status AS ENUM ('draft', 'read-only', 'Guest User', '2fa_pending');
CREATE DOMAIN percentage AS integer NOT NULL CHECK (VALUE >= 0 AND VALUE <= 100);
CREATE DOMAIN short_code AS varchar(6) CHECK (VALUE <> '');
CREATE TYPE money_pair AS (amount numeric(10, 2), currency char(3));

CREATE TABLE organisations (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    code short_code NOT NULL UNIQUE,
    parent_id uuid REFERENCES organisations (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organisations_lower_name ON organisations (lower(name));

CREATE TABLE people (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations ON DELETE CASCADE,
    email varchar(40) NOT NULL UNIQUE,
    nickname varchar(8),
    age integer CHECK (age BETWEEN 18 AND 99),
    score numeric(5, 2) CHECK (score > 0 AND score < 10),
    level text NOT NULL CHECK (level IN ('junior', 'senior', 'lead')),
    state status NOT NULL DEFAULT 'draft',
    progress percentage,
    tags text[] NOT NULL DEFAULT '{}',
    matrix integer[][],
    wallet money_pair,
    profile jsonb,
    full_label text GENERATED ALWAYS AS (email || ':' || level) STORED,
    mentor_id bigint REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE teams (
    id serial PRIMARY KEY,
    name text NOT NULL,
    lead_id bigint REFERENCES people (id)
);
ALTER TABLE people ADD COLUMN team_id integer REFERENCES teams (id);

CREATE TABLE memberships (
    person_id bigint NOT NULL REFERENCES people,
    team_id integer NOT NULL REFERENCES teams,
    role text NOT NULL DEFAULT 'member',
    PRIMARY KEY (person_id, team_id)
);

CREATE TABLE badges (
    person_id bigint PRIMARY KEY REFERENCES people,
    awarded_on date NOT NULL
);

CREATE TABLE bookings (
    id serial PRIMARY KEY,
    room integer NOT NULL CHECK (room > 0 AND room <= 20),
    during tstzrange NOT NULL,
    EXCLUDE USING gist (during WITH &&)
);

CREATE TABLE measurements (
    id bigserial,
    taken_on date NOT NULL,
    value double precision,
    PRIMARY KEY (id, taken_on)
) PARTITION BY RANGE (taken_on);
CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');

CREATE TABLE events (
    id serial,
    kind text NOT NULL,
    PRIMARY KEY (id, kind)
) PARTITION BY LIST (kind);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('signup', 'login');
CREATE TABLE events_b PARTITION OF events FOR VALUES IN ('logout');
