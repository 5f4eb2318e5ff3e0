-- A schema full of personal data, with every constraint shape an anonymised copy must keep:
-- an email used as a foreign key, composite unique keys, a self-reference, a cycle through a
-- deferrable foreign key, CHECKs, a domain, varchar lengths, JSON profiles and free text.
CREATE DOMAIN email_address AS varchar(60) CHECK (VALUE LIKE '%_@_%');

CREATE TABLE roles (id int PRIMARY KEY, name text NOT NULL UNIQUE);

CREATE TABLE people (
    id serial PRIMARY KEY,
    email email_address NOT NULL UNIQUE,
    first_name varchar(30) NOT NULL,
    last_name varchar(30) NOT NULL,
    phone varchar(20) CHECK (phone ~ '^\+?[0-9 ()-]+$'),
    ssn char(11) CHECK (ssn ~ '^[0-9]{3}-[0-9]{2}-[0-9]{4}$'),
    birth_date date CHECK (birth_date > '1900-01-01'),
    signup_ip inet,
    salary numeric(10, 2) CHECK (salary >= 0),
    role_id int REFERENCES roles (id),
    manager_id int REFERENCES people (id),                 -- self-reference
    home_address_id bigint,                                 -- closes a cycle with addresses
    profile jsonb,
    bio text,
    created_at timestamptz NOT NULL,
    email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED
);
COMMENT ON COLUMN people.bio IS 'free text written by the user';

CREATE TABLE addresses (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id int NOT NULL REFERENCES people (id),
    kind text NOT NULL CHECK (kind IN ('home', 'work')),
    street varchar(60) NOT NULL,
    city varchar(40) NOT NULL,
    postcode varchar(10),
    UNIQUE (person_id, kind)                                -- composite unique key
);
ALTER TABLE people ADD FOREIGN KEY (home_address_id) REFERENCES addresses (id) DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_email email_address NOT NULL REFERENCES people (email) ON UPDATE CASCADE,  -- email as a key
    order_no int NOT NULL,
    total numeric(12, 2) NOT NULL CHECK (total >= 0),
    placed_at timestamptz NOT NULL,
    shipping_address text,
    notes text,
    UNIQUE (customer_email, order_no)                       -- composite unique with an anonymised column
);

CREATE TABLE payments (
    id serial PRIMARY KEY,
    order_id int NOT NULL REFERENCES orders (id),
    card_number varchar(19) NOT NULL,
    card_holder text,
    amount numeric(12, 2) NOT NULL,
    billing_address text
);

CREATE TABLE messages (
    id serial PRIMARY KEY,
    author_id int NOT NULL REFERENCES people (id),
    sent_at timestamptz NOT NULL,
    body text NOT NULL
);

INSERT INTO roles VALUES (1, 'admin'), (2, 'member');

INSERT INTO people (email, first_name, last_name, phone, ssn, birth_date, signup_ip, salary, role_id,
                    manager_id, profile, bio, created_at)
SELECT format('%s.%s%s@realmail.test', lower(f), lower(l), i),
       f, l,
       format('+1 (%s) %s-%s', 200 + i % 700, 100 + i % 900, lpad((i * 37 % 10000)::text, 4, '0')),
       format('%s-%s-%s', lpad((100 + i)::text, 3, '0'), lpad((i % 100)::text, 2, '0'), lpad((i * 7 % 10000)::text, 4, '0')),
       date '1960-01-01' + i * 53,
       format('192.168.%s.%s', i / 250, i % 250 + 1)::inet,
       30000 + i * 17.25,
       1 + i % 2,
       CASE WHEN i > 5 THEN 1 + i % 5 END,
       jsonb_build_object('nickname', lower(f) || i, 'contact', jsonb_build_object('phone', format('555%s', lpad(i::text, 7, '0')),
                          'email', format('%s.alt%s@othermail.test', lower(l), i)),
                          'preferences', jsonb_build_object('theme', 'dark', 'newsletter', i % 2 = 0),
                          'kids', jsonb_build_array(jsonb_build_object('name', f || 'son' || i, 'age', i % 17))),
       format('Hi, I am %s %s from %s; write to %s.%s%s@realmail.test', f, l, 'Springfield', lower(f), lower(l), i),
       timestamptz '2020-01-01 00:00:00+00' + i * interval '7 hours'
FROM generate_series(1, 120) AS i,
     LATERAL (SELECT (ARRAY['Jonathan','Margaret','Gwendolyn','Bartholomew','Cornelius','Philippa','Reginald','Theodora'])[1 + i % 8] AS f,
                     (ARRAY['Smithson','Okafor','Vasquez','Thompsett','Wojcik','Fairbanks','Hollister','Ng-Baptiste'])[1 + (i / 8) % 8] AS l) AS n;

INSERT INTO addresses (person_id, kind, street, city, postcode)
SELECT p.id, k.kind, format('%s Elmwood Boulevard', p.id * 3), (ARRAY['Springfield','Shelbyville','Ogdenville'])[1 + p.id % 3],
       format('%s AB', lpad((p.id * 11)::text, 5, '0'))
FROM people p, (VALUES ('home'), ('work')) AS k(kind)
WHERE k.kind = 'home' OR p.id % 3 = 0;

UPDATE people p SET home_address_id = a.id FROM addresses a WHERE a.person_id = p.id AND a.kind = 'home';

INSERT INTO orders (customer_email, order_no, total, placed_at, shipping_address, notes)
SELECT p.email, n, 10 + p.id * n * 1.5, p.created_at + n * interval '1 day',
       format('%s Elmwood Boulevard, %s', p.id * 3, 'Springfield'),
       CASE WHEN n = 2 THEN format('Call %s %s before delivery', p.first_name, p.last_name) END
FROM people p, generate_series(1, 3) AS n
WHERE p.id % 4 <> 0;

INSERT INTO payments (order_id, card_number, card_holder, amount, billing_address)
SELECT o.id, format('4%s %s %s %s', lpad((o.id % 1000)::text, 3, '0'), lpad((o.id * 13 % 10000)::text, 4, '0'),
                    lpad((o.id * 29 % 10000)::text, 4, '0'), lpad((o.id * 31 % 10000)::text, 4, '0')),
       p.first_name || ' ' || p.last_name, o.total, o.shipping_address
FROM orders o JOIN people p ON p.email = o.customer_email;

INSERT INTO messages (author_id, sent_at, body)
SELECT p.id, p.created_at + interval '1 hour', format('Dear team, %s here. My number is %s.', p.first_name, p.phone)
FROM people p;
