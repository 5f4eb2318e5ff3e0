-- A Supabase project of our own (compiled on the Supabase base by the sql frontend):
-- profiles keyed by auth.users, posts with a key to auth.users and one to profiles, and
-- rpc functions whose arguments are optional (DEFAULT NULL), as supabase-js calls them.
create table public.profiles (
  id uuid primary key references auth.users on delete cascade,
  handle text unique not null,
  bio text
);
create table public.posts (
  id bigint generated always as identity primary key,
  author uuid not null default auth.uid() references auth.users (id),
  profile uuid references public.profiles (id),
  title text not null,
  published_at timestamptz
);
alter table public.posts enable row level security;
create policy "own posts" on public.posts for all to authenticated using (author = auth.uid());
create function public.search_posts(query text default null, who uuid default null, max_rows integer default 20)
  returns setof public.posts language sql stable
  as $$ select * from public.posts where (query is null or title ilike query) and (who is null or author = who) limit max_rows $$;
create function public.post_count(who uuid default null) returns bigint language sql stable
  as $$ select count(*) from public.posts where who is null or author = who $$;
create function public.publish(post bigint, at timestamptz default null) returns void language sql volatile
  as $$ update public.posts set published_at = coalesce(at, now()) where id = post $$;
