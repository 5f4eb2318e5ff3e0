-- Extensions Supabase ships that this server lacks (nself/platforms.py, `stand_ins`): what
-- projects call from them, defined here without the extension, from each one's own SQL.
-- A project's CREATE EXTENSION of one of them is compiled with a warning and not run.

-- pgjwt 0.2.0 (Michel Pelletier, MIT licence): JSON Web Tokens over pgcrypto's hmac(), in
-- the extensions schema, where Supabase installs it. Its own SQL, @extschema@ = extensions.
CREATE FUNCTION extensions.url_encode(data bytea) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT translate(encode(data, 'base64'), E'+/=\n', '-_');
$$;

CREATE FUNCTION extensions.url_decode(data text) RETURNS bytea
    LANGUAGE sql IMMUTABLE
    AS $$
WITH t AS (SELECT translate(data, '-_', '+/') AS trans),
     rem AS (SELECT length(t.trans) % 4 AS remainder FROM t) -- compute padding size
    SELECT decode(
        t.trans ||
        CASE WHEN rem.remainder > 0
           THEN repeat('=', (4 - rem.remainder))
           ELSE '' END,
    'base64') FROM t, rem;
$$;

CREATE FUNCTION extensions.algorithm_sign(signables text, secret text, algorithm text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
WITH
  alg AS (
    SELECT CASE
      WHEN algorithm = 'HS256' THEN 'sha256'
      WHEN algorithm = 'HS384' THEN 'sha384'
      WHEN algorithm = 'HS512' THEN 'sha512'
      ELSE '' END AS id)  -- hmac throws error
SELECT extensions.url_encode(extensions.hmac(signables, secret, alg.id)) FROM alg;
$$;

CREATE FUNCTION extensions.sign(payload json, secret text, algorithm text DEFAULT 'HS256'::text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
WITH
  header AS (
    SELECT extensions.url_encode(convert_to('{"alg":"' || algorithm || '","typ":"JWT"}', 'utf8')) AS data
    ),
  payload AS (
    SELECT extensions.url_encode(convert_to(payload::text, 'utf8')) AS data
    ),
  signables AS (
    SELECT header.data || '.' || payload.data AS data FROM header, payload
    )
SELECT
    signables.data || '.' ||
    extensions.algorithm_sign(signables.data, secret, algorithm) FROM signables;
$$;

CREATE FUNCTION extensions.try_cast_double(inp text) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE
    AS $$
  BEGIN
    BEGIN
      RETURN inp::double precision;
    EXCEPTION
      WHEN OTHERS THEN RETURN NULL;
    END;
  END;
$$;

CREATE FUNCTION extensions.verify(token text, secret text, algorithm text DEFAULT 'HS256'::text)
    RETURNS TABLE(header json, payload json, valid boolean)
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT
    jwt.header AS header,
    jwt.payload AS payload,
    jwt.signature_ok AND tstzrange(
      to_timestamp(extensions.try_cast_double(jwt.payload->>'nbf')),
      to_timestamp(extensions.try_cast_double(jwt.payload->>'exp'))
    ) @> CURRENT_TIMESTAMP AS valid
  FROM (
    SELECT
      convert_from(extensions.url_decode(r[1]), 'utf8')::json AS header,
      convert_from(extensions.url_decode(r[2]), 'utf8')::json AS payload,
      r[3] = extensions.algorithm_sign(r[1] || '.' || r[2], secret, algorithm) AS signature_ok
    FROM regexp_split_to_array(token, '\.') r
  ) jwt
$$;

-- pg_net (Supabase, Apache 2.0 licence): its request queue and its public functions as its
-- SQL defines them; the URL encoding its C helpers do is SQL here. No background worker
-- runs on this server: a request is queued, never sent, and gets no response row.
CREATE SCHEMA net;
GRANT USAGE ON SCHEMA net TO anon, authenticated, service_role;

CREATE DOMAIN net.http_method AS text
    CONSTRAINT http_method_check CHECK (VALUE ILIKE 'get' OR VALUE ILIKE 'post' OR VALUE ILIKE 'delete');

CREATE UNLOGGED TABLE net.http_request_queue (
    id bigserial NOT NULL,
    method net.http_method NOT NULL,
    url text NOT NULL,
    headers jsonb,
    body bytea,
    timeout_milliseconds integer NOT NULL
);

CREATE UNLOGGED TABLE net._http_response (
    id bigint,
    status_code integer,
    content_type text,
    headers jsonb,
    content text,
    timed_out boolean,
    error_msg text,
    created timestamp with time zone DEFAULT now() NOT NULL
);
CREATE INDEX _http_response_created_idx ON net._http_response USING btree (created);

CREATE FUNCTION net._urlencode_string(string character varying) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT coalesce(string_agg(
        CASE WHEN b < 128 AND chr(b) ~ '[A-Za-z0-9_.~-]' THEN chr(b) ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END,
        '' ORDER BY i), '')
    FROM (SELECT i, get_byte(convert_to(string, 'UTF8'), i) AS b
          FROM generate_series(0, octet_length(convert_to(string, 'UTF8')) - 1) AS i) AS bytes
$$;

CREATE FUNCTION net._encode_url_with_params_array(url text, params_array text[]) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN cardinality(params_array) = 0 THEN url
                ELSE url || CASE WHEN strpos(url, '?') > 0 THEN '&' ELSE '?' END || array_to_string(params_array, '&')
           END
$$;

CREATE FUNCTION net.http_get(url text, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{}'::jsonb, timeout_milliseconds integer DEFAULT 5000) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
declare
    request_id bigint;
    params_array text[];
begin
    select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    into params_array
    from jsonb_each_text(params);

    insert into net.http_request_queue(method, url, headers, timeout_milliseconds)
    values ('GET', net._encode_url_with_params_array(url, params_array), headers, timeout_milliseconds)
    returning id
    into request_id;

    return request_id;
end
$$;

CREATE FUNCTION net.http_post(url text, body jsonb DEFAULT '{}'::jsonb, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{"Content-Type": "application/json"}'::jsonb, timeout_milliseconds integer DEFAULT 5000) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
declare
    request_id bigint;
    params_array text[];
    content_type text;
begin
    select header_value into content_type
    from jsonb_each_text(coalesce(headers, '{}'::jsonb)) r(header_name, header_value)
    where lower(header_name) = 'content-type'
    limit 1;

    if content_type is null then
        select headers || '{"Content-Type": "application/json"}'::jsonb into headers;
    end if;

    if content_type <> 'application/json' then
        raise exception 'Content-Type header must be "application/json"';
    end if;

    select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    into params_array
    from jsonb_each_text(params);

    insert into net.http_request_queue(method, url, headers, body, timeout_milliseconds)
    values ('POST', net._encode_url_with_params_array(url, params_array), headers, convert_to(body::text, 'UTF8'), timeout_milliseconds)
    returning id
    into request_id;

    return request_id;
end
$$;

CREATE FUNCTION net.http_delete(url text, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{}'::jsonb, timeout_milliseconds integer DEFAULT 5000, body jsonb DEFAULT NULL::jsonb) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
declare
    request_id bigint;
    params_array text[];
begin
    select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    into params_array
    from jsonb_each_text(params);

    insert into net.http_request_queue(method, url, headers, body, timeout_milliseconds)
    values ('DELETE', net._encode_url_with_params_array(url, params_array), headers, convert_to(body::text, 'UTF8'), timeout_milliseconds)
    returning id
    into request_id;

    return request_id;
end
$$;

-- pg_graphql: its schemas, and the placeholder Supabase's own base keeps in graphql_public
-- while pg_graphql is not enabled (supabase/postgres, extensions.set_graphql_placeholder).
CREATE SCHEMA graphql;
CREATE SCHEMA graphql_public;
GRANT USAGE ON SCHEMA graphql, graphql_public TO anon, authenticated, service_role;

CREATE FUNCTION graphql_public.graphql("operationName" text DEFAULT NULL::text, query text DEFAULT NULL::text, variables jsonb DEFAULT NULL::jsonb, extensions jsonb DEFAULT NULL::jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
    BEGIN
        RETURN jsonb_build_object(
            'errors', jsonb_build_array(
                jsonb_build_object(
                    'message', 'pg_graphql extension is not enabled.'
                )
            )
        );
    END;
$$;
