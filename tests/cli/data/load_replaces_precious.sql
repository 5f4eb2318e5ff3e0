-- A plain dump for tests/cli/test_guards_and_secrets.py: loading it replaces `precious`.
DROP TABLE IF EXISTS precious;
CREATE TABLE precious (id int);
