-- migrate:up
CREATE TYPE user_role AS ENUM ('reader', 'author', 'admin');

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email LIKE '%@%'),
    name varchar(120) NOT NULL,
    role user_role NOT NULL DEFAULT 'reader',
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'People who read and write posts';

-- migrate:down
DROP TABLE users;
DROP TYPE user_role;
