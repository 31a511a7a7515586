-- Webhooks: endpoint validation, secrets and signatures, the outbox.
-- Enabled endpoints here point at a closed port: deliveries fail and are
-- retried while the test runs; nothing below depends on their progress.

-- a generated secret has the Standard Webhooks form, and differs each time
SELECT pgm_webhook_secret() ~ '^whsec_[A-Za-z0-9+/]{43}=$' AS whsec_form,
       pgm_webhook_secret() <> pgm_webhook_secret() AS random;
-- the reference test vector of the Standard Webhooks libraries
SELECT pgm_webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
       'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')
       = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' AS matches_reference;
-- the whsec_ prefix is optional, as in the reference libraries
SELECT pgm_webhook_signature('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'm', 1, 'b')
     = pgm_webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'm', 1, 'b') AS same;
SELECT pgm_webhook_signature('whsec_c2hvcnQ=', 'm', 1, 'b');
\echo :LAST_ERROR_SQLSTATE

-- URLs: http and https only, with a host, without credentials
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'file:///etc/passwd');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'ftp://example.com/upload');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'gopher://example.com/');
\echo :LAST_ERROR_SQLSTATE
-- (libcurl's own reasons, in DETAIL, vary with its version)
\set VERBOSITY terse
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'javascript:alert(1)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'example.com/hook');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'https://user:pw@example.com/hook');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://exa mple.com/');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
INSERT INTO pgm_endpoint (name, url) VALUES ('f', NULL);
\echo :LAST_ERROR_SQLSTATE
-- link-local and cloud-metadata addresses, in every spelling (see 046 for the setting that allows them)
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://169.254.169.254/latest/meta-data/');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://169.254.0.1:8080/');
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://2852039166/');
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://0xa9.0xfe.0xa9.0xfe/');
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://100.100.100.200/latest/meta-data/');
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://[fd00:ec2::254]/latest/meta-data/');
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://[fe80::1]/');
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://[fe80::1%25eth0]/');
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://[febf::1]/');
INSERT INTO pgm_endpoint (name, url) VALUES ('f', 'http://[::ffff:169.254.169.254]/');
\set VERBOSITY default
-- loopback and private ranges are allowed by default (disabled: nothing is sent)
INSERT INTO pgm_endpoint (name, url, enabled)
VALUES ('p1', 'http://10.1.2.3/', false), ('p2', 'http://[fec0::1]/', false), ('p3', 'http://169.253.255.255/', false);
DELETE FROM pgm_endpoint WHERE name IN ('p1', 'p2', 'p3');

-- the other columns
INSERT INTO pgm_endpoint (name, url) VALUES ('bad name', 'http://example.com/');
\echo :LAST_ERROR_SQLSTATE
-- a bad secret is refused without being shown
INSERT INTO pgm_endpoint (name, url, secret) VALUES ('f', 'http://example.com/', 'whsec_dG9vIHNob3J0');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, secret) VALUES ('f', 'http://example.com/', 'hunter2');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, event_kinds) VALUES ('f', 'http://example.com/', '{}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, event_kinds) VALUES ('f', 'http://example.com/', '{Backup}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, event_kinds) VALUES ('f', 'http://example.com/', '{backup,NULL}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, timeout) VALUES ('f', 'http://example.com/', '0');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, timeout) VALUES ('f', 'http://example.com/', '10 min');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, max_attempts) VALUES ('f', 'http://example.com/', 0);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, headers) VALUES ('f', 'http://example.com/', '["X-A: b"]');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, headers) VALUES ('f', 'http://example.com/', '{"Content-Type": "text/plain"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, headers) VALUES ('f', 'http://example.com/', '{"Webhook-Signature": "v1,x"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, headers) VALUES ('f', 'http://example.com/', '{"X-Count": 1}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, headers) VALUES ('f', 'http://example.com/', '{"X-A": "b\r\nX-B: c"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, headers) VALUES ('f', 'http://example.com/', '{"X-A": "\u001b[31mred"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, headers) VALUES ('f', 'http://example.com/', '{"bad name": "x"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, ca_file) VALUES ('f', 'https://example.com/', 'certs/ca.pem');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('f', 'http://example.com/', NULL);
\echo :LAST_ERROR_SQLSTATE

-- valid endpoints (a, b, c enabled, d disabled), all at a closed port
INSERT INTO pgm_endpoint (name, url, event_kinds, headers, timeout, max_attempts)
VALUES ('a', 'http://127.0.0.1:1/a', '{backup}', '{"Authorization": "Bearer t0ken"}', '2s', 3),
       ('b', 'http://127.0.0.1:1/b', '{disk_alert,disk_ok}', '{}', '10s', 20),
       ('c', 'http://127.0.0.1:1/c', NULL, '{}', '10s', 20);
INSERT INTO pgm_endpoint (name, url, enabled, ca_file)
VALUES ('d', 'https://127.0.0.1:1/d', false, '/etc/ssl/certs/ca-certificates.crt');
SELECT name, url, event_kinds, timeout, max_attempts, enabled, follow_redirects,
       secret ~ '^whsec_' AS generated_secret
FROM pgm_endpoint ORDER BY name;
-- updates are checked too
UPDATE pgm_endpoint SET url = 'ftp://example.com/' WHERE name = 'a';
\echo :LAST_ERROR_SQLSTATE

-- events: fan-out to the enabled endpoints whose kinds match
SELECT pgm_trigger_backup('before upgrade') AS backup_id \gset
SELECT endpoint FROM pgm_delivery WHERE event_id = :backup_id ORDER BY 1;
SELECT pgm_emit_event('disk_alert', '{"area": "data_directory"}', 'data_directory') AS alert_id \gset
SELECT endpoint FROM pgm_delivery WHERE event_id = :alert_id ORDER BY 1;
SELECT pgm_emit_event('vacuum_failed') AS other_id \gset
SELECT endpoint FROM pgm_delivery WHERE event_id = :other_id ORDER BY 1;
-- a named endpoint gets it whatever its kinds (a disabled one once it is enabled)
SELECT pgm_trigger_backup('to d', 'd') AS d_id \gset
SELECT endpoint FROM pgm_delivery WHERE event_id = :d_id ORDER BY 1;
-- the payload
SELECT kind, payload->>'label' AS label, payload->>'kind' AS payload_kind,
       (payload->>'id')::bigint = id AS id_matches,
       payload->>'requested_by' = current_user AS requested_by,
       payload->>'database' = current_database() AS database,
       (payload->>'database_size')::bigint > 0 AS has_size,
       (payload->>'wal_lsn')::pg_lsn <= pg_current_wal_lsn() AS lsn,
       payload->'cluster'->>'system_identifier' = (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
       (payload->'cluster'->>'port')::int = current_setting('port')::int AS port,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(payload) k) AS keys
FROM pgm_event WHERE id = :backup_id;
SELECT payload->'data' AS data, payload ? 'database_size' AS has_size
FROM pgm_event WHERE id = :alert_id;
-- errors
SELECT pgm_emit_event('Disk Alert');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_emit_event(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_trigger_backup('x', 'no_such_endpoint');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_emit_event('test', NULL, repeat('l', 1025));
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_emit_event('test', NULL, repeat('l', 1024)) > 0 AS label_of_1024_bytes;
-- a rolled back event leaves nothing
BEGIN;
SELECT pgm_trigger_backup('rolled back') IS NOT NULL AS queued;
ROLLBACK;
SELECT count(*) FROM pgm_event WHERE payload->>'label' = 'rolled back';
-- the views
SELECT id = :backup_id AS id, kind, label, endpoint, status IS NOT NULL AS has_status
FROM pgm_events WHERE id = :backup_id ORDER BY endpoint;
SELECT name, header_names, pending + delivered + dead AS deliveries
FROM pgm_endpoint_status ORDER BY name;

-- who may see what: the secret and the header values are for superusers only
CREATE ROLE pgm_webhook_monitor IN ROLE pg_monitor;
SET ROLE pgm_webhook_monitor;
SELECT name FROM pgm_endpoint;
\echo :LAST_ERROR_SQLSTATE
SELECT secret FROM pgm_endpoint_status;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) > 0 AS sees_status FROM pgm_endpoint_status;
SELECT count(*) > 0 AS sees_events FROM pgm_events;
SELECT pgm_trigger_backup('not allowed');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_emit_event('test');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a role granted pgm_trigger_backup may queue backups (SECURITY DEFINER), nothing else
GRANT EXECUTE ON FUNCTION pgm_trigger_backup(text, text) TO pgm_webhook_monitor;
SET ROLE pgm_webhook_monitor;
SELECT pgm_trigger_backup('granted') > 0 AS queued;
RESET ROLE;
SELECT payload->>'requested_by' AS requested_by FROM pgm_event WHERE payload->>'label' = 'granted';
REVOKE EXECUTE ON FUNCTION pgm_trigger_backup(text, text) FROM pgm_webhook_monitor;
DROP ROLE pgm_webhook_monitor;

-- the settings refuse bad values
ALTER SYSTEM SET pgmanage.disk_alert_threshold = 100;
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.disk_alert_threshold = 0;
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.max_concurrent_deliveries = 0;
\echo :LAST_ERROR_SQLSTATE
-- settings with a unit: 17+ prints the unit in the range too ("(10 ms .. 60000 ms)"),
-- so the message is shown without the range's units, the same on every version
\set VERBOSITY sqlstate
ALTER SYSTEM SET pgmanage.webhook_retry_min = '1ms';
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', ' [a-zA-Z]+(?= \.\.|\)$)', '', 'g') AS error;
\set VERBOSITY sqlstate
ALTER SYSTEM SET pgmanage.backup_wal_threshold = '-2MB';
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', ' [a-zA-Z]+(?= \.\.|\)$)', '', 'g') AS error;
\set VERBOSITY sqlstate
ALTER SYSTEM SET pgmanage.disk_check_interval = '-1';
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', ' [a-zA-Z]+(?= \.\.|\)$)', '', 'g') AS error;
ALTER SYSTEM SET pgmanage.webhook_allow_addresses = '169.254.169.254/33';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.webhook_deny_addresses = 'localhost';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.webhook_deny_addresses = '127.0.0.0/8, ::1/128 10.0.0.0/8';
ALTER SYSTEM RESET pgmanage.webhook_deny_addresses;

-- in a database other than pgmanage.database, events are refused (the sender would never see them)
CREATE DATABASE pgm_webhook_elsewhere;
\c pgm_webhook_elsewhere
SET client_min_messages = warning;
CREATE EXTENSION pgmanage;
RESET client_min_messages;
SELECT pgmanage.pgm_emit_event('test');
\echo :LAST_ERROR_SQLSTATE
SELECT pgmanage.pgm_trigger_backup('elsewhere');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS events FROM pgmanage.pgm_event;
\c contrib_regression
DROP DATABASE pgm_webhook_elsewhere;

-- deleting an endpoint deletes its deliveries; events stay until pruned
DELETE FROM pgm_endpoint;
SELECT count(*) FROM pgm_delivery;
SELECT count(*) > 0 AS events_kept FROM pgm_event;
DELETE FROM pgm_event;
