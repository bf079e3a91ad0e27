BEGIN TRANSACTION;
CREATE TABLE attestations (
            id INTEGER PRIMARY KEY,
            item TEXT NOT NULL,
            status TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            evidence TEXT NOT NULL,
            notes TEXT NOT NULL,
            signed_at REAL NOT NULL,
            expires_at REAL,
            recorded_at REAL NOT NULL);
INSERT INTO "attestations" VALUES(1,'T-001','pass','Jane Doe','jdoe','["Workshop attendance https://wiki.example/training"]','Next session in February',1795827200.0,1803603200.0,1796000000.0);
CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            detail TEXT NOT NULL);
INSERT INTO "audit" VALUES(1,1796000000.0,'migrate','readiness.db','readiness-exporter',NULL,'{"from": 0, "to": 2, "backup": null, "steps": ["status changes, last PASS and decision times, people''s records, audit log", "a signature can be revoked"], "version": "0.1.0"}');
INSERT INTO "audit" VALUES(2,1796000000.0,'open','readiness.db','readiness-exporter',NULL,'{"version": "0.1.0", "schema": 2, "pid": 28943}');
INSERT INTO "audit" VALUES(3,1796000000.0,'status_changes','S-011','readiness-exporter',NULL,'{"changes": 2, "passed": 1, "decisions": 2}');
INSERT INTO "audit" VALUES(4,1796000000.0,'attest','T-001','Jane Doe','jdoe','{"id": 1, "status": "pass"}');
INSERT INTO "audit" VALUES(5,1796000000.0,'accept_risk','S-011','Ana Lopez','ana','{"id": 1, "expires_at": 1798592000.0}');
INSERT INTO "audit" VALUES(6,1796000000.0,'sign','Security Lead','Ana Lopez','ana','{"id": 1, "decision": "no_go", "digest": "sha256:03c7b085eaf2207f0d0a2355abc81703cec11e0bf9d53aa83eeca23eaa4d340a"}');
INSERT INTO "audit" VALUES(7,1796000000.0,'decide','go_with_caution','Carl CTO',NULL,'{"id": 1, "computed": "no_go", "launch_at": 1796604800.0}');
INSERT INTO "audit" VALUES(8,1796000000.0,'remediate','S-011','Bob','bob','{"id": 1, "cleared": false}');
INSERT INTO "audit" VALUES(9,1796000000.0,'sign','CTO','Carl CTO',NULL,'{"id": 2, "decision": "no_go", "digest": "sha256:03c7b085eaf2207f0d0a2355abc81703cec11e0bf9d53aa83eeca23eaa4d340a"}');
INSERT INTO "audit" VALUES(10,1796000000.0,'revoke_signoff','CTO','Carl CTO','carl','{"id": 2}');
CREATE TABLE decision_last_held (
            decision TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
INSERT INTO "decision_last_held" VALUES('go',1795913540.0);
INSERT INTO "decision_last_held" VALUES('no_go',1796000000.0);
CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            decision TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            at REAL NOT NULL,
            computed TEXT NOT NULL,
            launch_at REAL,
            notes TEXT NOT NULL);
INSERT INTO "decisions" VALUES(1,'go_with_caution','Carl CTO',NULL,1796000000.0,'no_go',1796604800.0,'ok');
CREATE TABLE item_last_pass (item TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
INSERT INTO "item_last_pass" VALUES('S-011',1795913540.0);
CREATE TABLE remediations (
            id INTEGER PRIMARY KEY,
            item TEXT NOT NULL,
            text TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            at REAL NOT NULL);
INSERT INTO "remediations" VALUES(1,'S-011','https://tracker.example/SEC-12','Bob','bob',1796000000.0);
CREATE TABLE risk_acceptances (
            id INTEGER PRIMARY KEY,
            item TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            impact TEXT NOT NULL,
            probability TEXT NOT NULL,
            mitigation TEXT NOT NULL,
            notes TEXT NOT NULL,
            expires_at REAL NOT NULL,
            recorded_at REAL NOT NULL,
            revoked_at REAL,
            revoked_by_name TEXT,
            revoked_by_user TEXT);
INSERT INTO "risk_acceptances" VALUES(1,'S-011','Ana Lopez','ana','high','low','WAF drops TLS 1.0 clients','until the load balancer upgrade',1798592000.0,1796000000.0,NULL,NULL,NULL);
CREATE TABLE signoffs (
            id INTEGER PRIMARY KEY,
            role TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            notes TEXT NOT NULL,
            at REAL NOT NULL,
            decision TEXT NOT NULL,
            total_score TEXT,
            critical_score TEXT,
            digest TEXT NOT NULL,
            gaps TEXT NOT NULL, revoked_at REAL, revoked_by_name TEXT, revoked_by_user TEXT);
INSERT INTO "signoffs" VALUES(1,'Security Lead','Ana Lopez','ana','TLS gap accepted',1796000000.0,'no_go','2/3','1/2','sha256:03c7b085eaf2207f0d0a2355abc81703cec11e0bf9d53aa83eeca23eaa4d340a','["S-011"]',NULL,NULL,NULL);
INSERT INTO "signoffs" VALUES(2,'CTO','Carl CTO',NULL,'pending the pen test',1796000000.0,'no_go','2/3','1/2','sha256:03c7b085eaf2207f0d0a2355abc81703cec11e0bf9d53aa83eeca23eaa4d340a','["S-011"]',1796000060.0,'Carl CTO','carl');
CREATE TABLE status_changes (
            id INTEGER PRIMARY KEY,
            item TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            summary TEXT NOT NULL,
            evidence TEXT NOT NULL,
            at REAL NOT NULL);
INSERT INTO "status_changes" VALUES(1,'S-011',NULL,'pass','TLS 1.2 only','{}',1795740800.0);
INSERT INTO "status_changes" VALUES(2,'S-011','pass','fail','TLS 1.0 accepted, expected at least 1.2','{"protocol": "TLSv1", "target": "app.example:443"}',1795913600.0);
CREATE INDEX status_changes_by_item ON status_changes (item, at);
CREATE INDEX attestations_by_item ON attestations (item, recorded_at);
CREATE INDEX risk_acceptances_by_item ON risk_acceptances (item, recorded_at);
CREATE INDEX signoffs_by_role ON signoffs (role, at);
CREATE INDEX remediations_by_item ON remediations (item, at);
CREATE INDEX audit_by_time ON audit (at);
COMMIT;
PRAGMA user_version = 2;
