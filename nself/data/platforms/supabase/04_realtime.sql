-- Supabase Realtime streams the changes of the tables in this publication (none at first:
-- projects add theirs with ALTER PUBLICATION supabase_realtime ADD TABLE ...).
DROP PUBLICATION IF EXISTS supabase_realtime;
CREATE PUBLICATION supabase_realtime;
