-- Rows for every_case.sql: each table that JSON can carry into the Go types gets one row
-- with every column set and one with every nullable column NULL. Values avoid what
-- encoding/json cannot read from PostgreSQL's JSON (dates and timestamps without an offset,
-- bytea's hex): docs/types.md, Go. public.array_elements has arrays with NULL elements (in
-- two dimensions too) where its columns allow them.

INSERT INTO public."type" ("struct", "fn", "match", "self", "Self", "class", "func", "import",
    "default", "range", "crate", "super", "package", "interface", "protocol", "Type", "init",
    "where", "async", "await", "let")
VALUES ('s', 'f', 1, true, false, 'c', 'fu', 'i', 'd', '[1,5)', 'cr', 'su', 'p', 'in', 'pr',
    'T', 'ini', 'w', 'as', 'aw', 'l');
INSERT INTO public."type" ("struct") VALUES ('only');

INSERT INTO public.users (email, backup_email, mood, "userId", user_id, "Display Name",
    "2nd_line", "ID")
VALUES ('a@example.com', 'b@example.com', 'Guest User', 7, 8, 'Ann', 'line 2', 'X-1');
INSERT INTO public.users (email, mood) VALUES ('c@example.com', '2fa_pending');

INSERT INTO billing.users (status, statuses) VALUES ('paid', '{open,void}');
INSERT INTO billing.users DEFAULT VALUES;

INSERT INTO public.billing_users DEFAULT VALUES;
INSERT INTO public."3rd_party" VALUES (3), (NULL);
INSERT INTO public.users_insert VALUES ('note'), (NULL);
INSERT INTO public.only_identity DEFAULT VALUES;
INSERT INTO "Audit Log"."Event Entries" (payload) VALUES ('{"a": [1, 2.5, "x", null, true]}');

INSERT INTO public.all_types (
    c_smallint, c_integer, c_bigint, c_real, c_double, c_numeric, c_numeric_p, c_money,
    c_text, c_varchar, c_char, c_qchar, c_name, c_citext, c_bool, c_timetz, c_time,
    c_timestamptz, c_interval, c_interval_ym, c_uuid, c_json, c_jsonb, c_jsonpath, c_xml,
    c_inet, c_cidr, c_macaddr, c_macaddr8, c_bit, c_varbit, c_tsvector, c_tsquery,
    c_point, c_line, c_lseg, c_box, c_path, c_polygon, c_circle,
    c_int4range, c_int8range, c_numrange, c_tsrange, c_tstzrange, c_daterange,
    c_int4multirange, c_float_range, c_oid, c_regclass, c_pg_lsn,
    c_int_array, c_int_matrix, c_text_array, c_uuid_array, c_ts_array, c_mood_array,
    c_numeric_array, c_email, c_maybe_email, c_positive, c_strict, c_tags, c_tag_matrix,
    c_mood, c_mood_d, c_address, c_addresses, c_line_item, c_default)
VALUES (
    -32768, 2147483647, 9223372036854775807, 1.5, 2.25, 123456789012345678901234567890.123456789,
    12345678.90, 12.34,
    'text', 'varchar', 'abc', 'q', 'name', 'CiText', true, '10:11:12+02', '10:11:12.5',
    '2024-02-29 10:11:12.345+00', '1 year 2 mons 3 days 04:05:06', '1 year', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '{"j": 1}', '{"big": 12345678901234567890}', '$.a[*]', '<a>x</a>',
    '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '101', '1101',
    'a fat cat', 'fat & cat',
    '(1,2)', '{1,2,3}', '[(1,2),(3,4)]', '(3,4),(1,2)', '[(1,2),(3,4)]', '((1,2),(3,4),(5,6))', '<(1,2),3>',
    '[1,10)', '[1,10)', '(1.5,2.5]', '[2024-01-01 00:00,2024-01-02 00:00)', '[2024-01-01 00:00+00,)',
    '[2024-01-01,2024-02-01)',
    '{[1,3),[5,7)}', '[1.5,2.5]', 42, 'pg_class', '16/B374D848',
    '{1,2,3}', '{{4,5},{6,7}}', '{"a","b c"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
    '{"2024-01-01 00:00:00+00"}', '{happy,read-only}',
    '{1.10,99999999999999999999.5}', 'd@example.com', 'e@example.com', 5, 6, '{x,y}', NULL,
    'type', 'Self', ROW('Main St', 'Springfield', '12345', 'home', '(1,2)'),
    ARRAY[ROW('A', 'B', '1', NULL, NULL)::public.address], ROW('sku', 2, 9.99, NULL, '{ReadOnly}', '{{1,2}}'),
    'y');
INSERT INTO public.all_types (c_smallint, c_integer, c_bigint, c_numeric_p, c_bool,
    c_timestamptz, c_uuid, c_jsonb, c_int_matrix, c_maybe_email, c_strict, c_email)
VALUES (0, 0, 0, 0, false, '1970-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000000', 'null',
    '{}', '', 1, 'f@example.com');

INSERT INTO public.array_elements VALUES
    (1, '{a,NULL,c}', '{1,NULL}', '{{1,NULL},{NULL,4}}', '{happy,NULL}', '{x,y}', '{p,q}', '{9}'),
    (2, '{NULL}', '{}', NULL, NULL, NULL, NULL, NULL),
    (3, NULL, '{7}', '{}', '{}', '{}', '{}', '{}');
