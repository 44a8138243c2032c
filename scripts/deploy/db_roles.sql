-- AllReview's two PostgreSQL roles. Run once as a superuser (idempotent: run it again to rotate
-- passwords, or after a restore, which leaves the superuser owning what it restored):
--
--   psql -v ON_ERROR_STOP=1 -v dbname=allreview \
--        -v owner=allreview_owner -v owner_password=... \
--        -v app=allreview_app -v app_password=... -f scripts/deploy/db_roles.sql
--
-- owner  owns the database, its schema and every table: migrations run as it
--        (MIGRATION_DATABASE_URL); `manage.py migrate_locked` then grants the app role its rights.
-- app    what the web server and workers connect as (DATABASE_URL): no superuser, owns nothing,
--        creates nothing; rows only, and append-only tables (audit events, labels, deployments, sign-offs, signed cells,
--        reopenings, reader QC's placements and reads) it may read and insert but never update, delete, truncate or un-trigger.
-- scripts/deploy/db-roles.sh runs this for compose; docs/deployment.md explains.

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I', :'app')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec

ALTER ROLE :"owner" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'owner_password';
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  NOINHERIT PASSWORD :'app_password';

ALTER DATABASE :"dbname" OWNER TO :"owner";
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO :"app";

\connect :"dbname"
\set ON_ERROR_STOP on

ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";

-- An install that ran as the superuser (or a restore) leaves it owning the tables: hand them to
-- the owner. Sequences behind serial and identity columns follow their tables.
SELECT format('ALTER TABLE public.%I OWNER TO %I', tablename, :'owner')
  FROM pg_tables WHERE schemaname = 'public' AND tableowner <> :'owner' \gexec
SELECT format('ALTER VIEW public.%I OWNER TO %I', viewname, :'owner')
  FROM pg_views WHERE schemaname = 'public' AND viewowner <> :'owner' \gexec
SELECT format('ALTER SEQUENCE public.%I OWNER TO %I', s.relname, :'owner')
  FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
 WHERE n.nspname = 'public' AND s.relkind = 'S'
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = s.oid AND d.deptype IN ('a', 'i'))
   AND pg_get_userbyid(s.relowner) <> :'owner' \gexec
SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, :'owner')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> :'owner' \gexec

-- The app's rights on tables that exist now; migrate_locked re-applies them after every migrate
-- (`manage.py db_roles sql --app-role NAME` prints the full list with the append-only tables).
SET ROLE :"owner";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app";
SELECT format('REVOKE UPDATE, DELETE, TRUNCATE ON public.%I FROM %I', tablename, :'app')
  FROM pg_tables
 WHERE schemaname = 'public'
   AND tablename IN ('audit_auditevent', 'cases_label', 'fields_detectionreview',
                     'mlmodels_deployment',
                     'quality_referencelabel', 'quality_referenceplacement',
                     'review_casereopening', 'review_signedcell', 'review_signoff')
  \gexec
RESET ROLE;
