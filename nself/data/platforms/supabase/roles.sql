-- The roles of the Supabase platform (nself's own definition, written from what
-- supabase/postgres `migrations/db/init-scripts/` creates). Roles belong to the cluster,
-- not to one database: each is created only when missing, so this runs on every database
-- the platform is applied to.
DO $platform$
DECLARE
  wanted constant text[][] := ARRAY[
    ['anon', 'NOLOGIN NOINHERIT'],
    ['authenticated', 'NOLOGIN NOINHERIT'],
    ['service_role', 'NOLOGIN NOINHERIT BYPASSRLS'],
    ['authenticator', 'LOGIN NOINHERIT'],
    ['supabase_auth_admin', 'LOGIN NOINHERIT CREATEROLE NOREPLICATION'],
    ['supabase_storage_admin', 'LOGIN NOINHERIT CREATEROLE NOREPLICATION']
  ];
  i integer;
BEGIN
  FOR i IN 1 .. array_length(wanted, 1) LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = wanted[i][1]) THEN
      EXECUTE format('CREATE ROLE %I %s', wanted[i][1], wanted[i][2]);
    END IF;
  END LOOP;
END
$platform$;

-- PostgREST logs in as authenticator and switches to the role the request's JWT names.
GRANT anon, authenticated, service_role TO authenticator;

ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
ALTER ROLE supabase_auth_admin SET search_path = auth;
ALTER ROLE supabase_storage_admin SET search_path = storage;
