-- porter database schema.
--
-- Migrations are keyed by PRAGMA user_version. Each block starts with a line
--   -- migration N: what it does
-- and is applied, in one transaction together with `PRAGMA user_version = N`, when the
-- database is older than N. Blocks are never edited once released: a change to the schema
-- is a new block at the end. A database whose user_version is greater than the last block
-- here was written by a newer porter and is refused.
--
-- Conventions
--   * Every time is INTEGER milliseconds since the Unix epoch, UTC; dates (arrival,
--     due date, insurance expiry) are TEXT 'YYYY-MM-DD'.
--   * Every row that mirrors a PMS record keeps account_id + remote_id, UNIQUE together,
--     and remote_updated_at (0 when the PMS gives none): apply never lets an older
--     remote_updated_at overwrite a newer one.
--   * Rows porter creates before the PMS has them (a reply, a new work order) have
--     remote_id NULL until the outbox op is acknowledged.
--   * Canonical enumerations are CHECKed here; raw PMS strings are kept beside them
--     (remote_status) so nothing the PMS said is lost.

-- migration 1: the canonical model
CREATE TABLE account (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,          -- section name in accounts.conf
    adapter         TEXT NOT NULL,                 -- hostaway | guesty | buildium
    remote_id       TEXT,                          -- the PMS's own account id, when known
    state           TEXT NOT NULL DEFAULT 'unknown'
                    CHECK (state IN ('unknown', 'ok', 'degraded', 'down', 'auth_failed')),
    state_reason    TEXT,
    circuit         TEXT NOT NULL DEFAULT 'closed' CHECK (circuit IN ('closed', 'open', 'half_open')),
    last_pull_at    INTEGER,
    last_webhook_at INTEGER,
    token           TEXT,                          -- cached OAuth token (never logged)
    token_expires_at INTEGER,
    created_at      INTEGER NOT NULL
);

-- Every OAuth token minted, so caps like "5 per 24 h" hold across restarts.
CREATE TABLE token_mint (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    minted_at  INTEGER NOT NULL
);
CREATE INDEX token_mint_account ON token_mint(account_id, minted_at);

CREATE TABLE property (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    remote_id         TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    address           TEXT NOT NULL DEFAULT '',
    timezone          TEXT,
    remote_updated_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, remote_id)
);

CREATE TABLE unit (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    remote_id         TEXT NOT NULL,
    property_id       INTEGER REFERENCES property(id) ON DELETE SET NULL,
    name              TEXT NOT NULL DEFAULT '',
    remote_updated_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, remote_id)
);
CREATE INDEX unit_property ON unit(property_id);

-- Guests, tenants, owners, staff: anyone a thread is with.
CREATE TABLE contact (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    remote_id         TEXT NOT NULL,
    kind              TEXT NOT NULL DEFAULT 'guest'
                      CHECK (kind IN ('guest', 'tenant', 'owner', 'staff', 'other')),
    name              TEXT NOT NULL DEFAULT '',
    email             TEXT,
    phone             TEXT,
    remote_updated_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, remote_id)
);

-- A reservation (vacation rental) or a lease (residential).
CREATE TABLE stay (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    remote_id         TEXT NOT NULL,
    kind              TEXT NOT NULL DEFAULT 'reservation' CHECK (kind IN ('reservation', 'lease')),
    property_id       INTEGER REFERENCES property(id) ON DELETE SET NULL,
    unit_id           INTEGER REFERENCES unit(id) ON DELETE SET NULL,
    contact_id        INTEGER REFERENCES contact(id) ON DELETE SET NULL,
    status            TEXT NOT NULL DEFAULT 'unknown',  -- canonical: inquiry, confirmed, cancelled, ...
    remote_status     TEXT,                             -- the PMS's own string
    channel           TEXT,
    arrival           TEXT,
    departure         TEXT,
    guests            INTEGER,
    confirmation_code TEXT,
    remote_updated_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, remote_id)
);
CREATE INDEX stay_unit ON stay(unit_id, arrival);
CREATE INDEX stay_arrival ON stay(arrival);

CREATE TABLE thread (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    remote_id            TEXT NOT NULL,
    kind                 TEXT NOT NULL DEFAULT 'guest' CHECK (kind IN ('guest', 'tenant', 'owner', 'other')),
    subject              TEXT NOT NULL DEFAULT '',
    contact_id           INTEGER REFERENCES contact(id) ON DELETE SET NULL,
    stay_id              INTEGER REFERENCES stay(id) ON DELETE SET NULL,
    property_id          INTEGER REFERENCES property(id) ON DELETE SET NULL,
    unit_id              INTEGER REFERENCES unit(id) ON DELETE SET NULL,
    channel              TEXT NOT NULL DEFAULT 'email',
    -- derived from messages by the store on every message write
    last_message_at      INTEGER NOT NULL DEFAULT 0,
    last_preview         TEXT NOT NULL DEFAULT '',
    last_inbound_at      INTEGER,                 -- SLA clock starts here
    needs_reply          INTEGER NOT NULL DEFAULT 0 CHECK (needs_reply IN (0, 1)),
    unread               INTEGER NOT NULL DEFAULT 0,
    message_count        INTEGER NOT NULL DEFAULT 0,
    -- local triage state (field owner 'local': never pushed)
    assignee             TEXT,
    snoozed_until        INTEGER,
    done                 INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    tags                 TEXT NOT NULL DEFAULT '',  -- ",tag1,tag2," for LIKE matching
    remote_updated_at    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, remote_id)
);
-- Inbox lists: newest first, keyset-paged on (last_message_at, id).
CREATE INDEX thread_inbox ON thread(done, last_message_at DESC, id DESC);
CREATE INDEX thread_account ON thread(account_id, done, last_message_at DESC, id DESC);
CREATE INDEX thread_needs_reply ON thread(needs_reply, done, last_inbound_at, id);
CREATE INDEX thread_assignee ON thread(assignee, done, last_message_at DESC, id DESC);
CREATE INDEX thread_stay ON thread(stay_id);

CREATE TABLE message (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    thread_id         INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
    remote_id         TEXT,
    direction         TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note', 'system')),
    channel           TEXT NOT NULL DEFAULT 'email',
    author            TEXT NOT NULL DEFAULT '',
    body              TEXT NOT NULL DEFAULT '',
    sent_at           INTEGER NOT NULL,
    send_state        TEXT NOT NULL DEFAULT 'synced'
                      CHECK (send_state IN ('synced', 'pending', 'failed', 'dead')),
    send_error        TEXT,
    idem_key          TEXT UNIQUE,                 -- set on messages porter wrote
    origin            TEXT NOT NULL DEFAULT 'pms' CHECK (origin IN ('pms', 'porter', 'rule')),
    remote_updated_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, remote_id)
);
CREATE INDEX message_thread ON message(thread_id, sent_at, id);
CREATE INDEX message_state ON message(send_state) WHERE send_state <> 'synced';

CREATE VIRTUAL TABLE message_fts USING fts5(
    body, author, content = 'message', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER message_fts_ai AFTER INSERT ON message BEGIN
    INSERT INTO message_fts(rowid, body, author) VALUES (new.id, new.body, new.author);
END;
CREATE TRIGGER message_fts_ad AFTER DELETE ON message BEGIN
    INSERT INTO message_fts(message_fts, rowid, body, author)
    VALUES ('delete', old.id, old.body, old.author);
END;
CREATE TRIGGER message_fts_au AFTER UPDATE OF body, author ON message BEGIN
    INSERT INTO message_fts(message_fts, rowid, body, author)
    VALUES ('delete', old.id, old.body, old.author);
    INSERT INTO message_fts(rowid, body, author) VALUES (new.id, new.body, new.author);
END;

CREATE TABLE vendor (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    remote_id         TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    trade             TEXT NOT NULL DEFAULT '',     -- plumbing, electrical, hvac, ...
    phone             TEXT,
    email             TEXT,
    insurance_expires TEXT,
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    remote_updated_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, remote_id)
);
CREATE INDEX vendor_trade ON vendor(account_id, trade, name);

-- Preferred vendors per property.
CREATE TABLE vendor_property (
    vendor_id   INTEGER NOT NULL REFERENCES vendor(id) ON DELETE CASCADE,
    property_id INTEGER NOT NULL REFERENCES property(id) ON DELETE CASCADE,
    preferred   INTEGER NOT NULL DEFAULT 1 CHECK (preferred IN (0, 1)),
    PRIMARY KEY (vendor_id, property_id)
);
CREATE INDEX vendor_property_property ON vendor_property(property_id);

CREATE TABLE work_order (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    remote_id         TEXT,
    title             TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'assigned', 'scheduled', 'in_progress', 'on_hold',
                                        'completed', 'closed', 'cancelled')),
    remote_status     TEXT,
    priority          TEXT NOT NULL DEFAULT 'normal'
                      CHECK (priority IN ('low', 'normal', 'high', 'emergency')),
    trade             TEXT NOT NULL DEFAULT '',
    property_id       INTEGER REFERENCES property(id) ON DELETE SET NULL,
    unit_id           INTEGER REFERENCES unit(id) ON DELETE SET NULL,
    stay_id           INTEGER REFERENCES stay(id) ON DELETE SET NULL,
    thread_id         INTEGER REFERENCES thread(id) ON DELETE SET NULL,
    message_id        INTEGER REFERENCES message(id) ON DELETE SET NULL,
    vendor_id         INTEGER REFERENCES vendor(id) ON DELETE SET NULL,
    assignee          TEXT,                        -- local: the coordinator who owns it
    schedule_start    INTEGER,
    schedule_end      INTEGER,
    due_date          TEXT,
    sync_state        TEXT NOT NULL DEFAULT 'synced' CHECK (sync_state IN ('synced', 'pending', 'failed')),
    sync_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    remote_updated_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, remote_id)
);
-- Board columns: by status, emergencies first, oldest first.
CREATE INDEX work_order_board ON work_order(status, (priority = 'emergency') DESC, created_at, id);
CREATE INDEX work_order_thread ON work_order(thread_id);
CREATE INDEX work_order_vendor ON work_order(vendor_id, status);

-- Work-order history: status, notes, vendor and schedule changes, from either side.
CREATE TABLE wo_event (
    id            INTEGER PRIMARY KEY,
    work_order_id INTEGER NOT NULL REFERENCES work_order(id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('created', 'status', 'note', 'vendor', 'schedule',
                                                'priority', 'field')),
    old_value     TEXT,
    new_value     TEXT,
    actor         TEXT NOT NULL DEFAULT '',
    origin        TEXT NOT NULL CHECK (origin IN ('porter', 'pms', 'rule')),
    remote_id     TEXT
);
CREATE INDEX wo_event_wo ON wo_event(work_order_id, at, id);

-- Durable outbound queue. A row is written in the same transaction as the change it
-- carries; the pusher sends rows in id order per (entity, entity_id).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    entity          TEXT NOT NULL CHECK (entity IN ('message', 'work_order', 'thread')),
    entity_id       INTEGER NOT NULL,
    op              TEXT NOT NULL CHECK (op IN ('reply', 'note', 'wo_create', 'wo_status',
                                                'wo_vendor', 'wo_schedule', 'wo_priority',
                                                'wo_note')),
    payload         TEXT NOT NULL DEFAULT '{}',     -- JSON, canonical (not dialect)
    idem_key        TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'inflight', 'sent', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    remote_id       TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox(account_id, state, next_attempt_at, id);
CREATE INDEX outbox_entity ON outbox(entity, entity_id, id);

-- Raw inbound webhook events, committed before the 2xx.
CREATE TABLE inbound_event (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,                  -- dialect id, or sha256 of the body
    kind            TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'new'
                    CHECK (state IN ('new', 'applied', 'retry', 'quarantined')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    applied_at      INTEGER,
    error           TEXT,
    UNIQUE (account_id, event_id)
);
CREATE INDEX inbound_due ON inbound_event(state, next_attempt_at, id);

CREATE TABLE sync_cursor (
    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    entity     TEXT NOT NULL,
    cursor     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, entity)
);

-- Who owns each synced field. Seeded from data/ownership defaults; porter.conf overrides.
CREATE TABLE field_owner (
    entity    TEXT NOT NULL,
    field     TEXT NOT NULL,
    owner     TEXT NOT NULL CHECK (owner IN ('pms', 'local', 'shared')),
    rule      TEXT NOT NULL DEFAULT 'pms_wins' CHECK (rule IN ('pms_wins', 'local_wins')),
    PRIMARY KEY (entity, field)
);

-- The last value both sides agreed on, per shared field of a row.
CREATE TABLE sync_base (
    entity    TEXT NOT NULL,
    row_id    INTEGER NOT NULL,
    field     TEXT NOT NULL,
    value     TEXT,
    PRIMARY KEY (entity, row_id, field)
);

CREATE TABLE conflict (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    entity       TEXT NOT NULL,
    row_id       INTEGER NOT NULL,
    field        TEXT NOT NULL,
    base_value   TEXT,
    local_value  TEXT,
    remote_value TEXT,
    winner       TEXT NOT NULL CHECK (winner IN ('local', 'remote')),
    rule         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    resolved_at  INTEGER,
    resolution   TEXT
);
CREATE INDEX conflict_open ON conflict(resolved_at, created_at);

CREATE TABLE alert (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES account(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('sync_down', 'auth_failed', 'schema_drift',
                                             'push_failed', 'rate_limited', 'mass_delete',
                                             'webhook_rejected', 'config')),
    subject    TEXT NOT NULL DEFAULT '',          -- e.g. "hostaway/message.body"
    message    TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1,
    acked_at   INTEGER,
    UNIQUE (account_id, kind, subject)
);
CREATE INDEX alert_open ON alert(acked_at, last_seen DESC);

-- Samples and counters for the health view (latency, failures, 429s).
CREATE TABLE metric (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES account(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    at         INTEGER NOT NULL,
    value      REAL NOT NULL
);
CREATE INDEX metric_name ON metric(account_id, name, at);

-- The sync leader: exactly one process per database runs the workers.
CREATE TABLE lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Who has which thread open (other staff on the same database).
CREATE TABLE presence (
    thread_id    INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
    who          TEXT NOT NULL,
    since        INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    PRIMARY KEY (thread_id, who)
);

-- migration 2: outbox lanes and local-only messages
-- An outbox op's lane orders it: ops of one lane are sent strictly in id order (one
-- thread's replies, one work order's changes); different lanes go concurrently.
ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT '';
UPDATE outbox SET lane = CASE entity
    WHEN 'message' THEN 'thread:' || (SELECT thread_id FROM message WHERE message.id = outbox.entity_id)
    ELSE entity || ':' || entity_id END;
CREATE INDEX outbox_lane ON outbox(account_id, lane, state, id);
-- 1: the PMS has no place for this message (e.g. internal notes on Hostaway): kept here only.
ALTER TABLE message ADD COLUMN local_only INTEGER NOT NULL DEFAULT 0 CHECK (local_only IN (0, 1));

-- migration 3: the full-screen inbox (needs-reply-first order, filters) and door codes
-- The inbox order: needs reply first, then newest first, keyset-paged on
-- (needs_reply, last_message_at, id) within done = 0. The trailing columns make the index
-- cover the common filters (snooze, account, unread, assignee, channel, tag) and the other
-- sort keys, so a page, a count or a rank of any sort reads the index only.
CREATE INDEX thread_inbox_nr ON thread(done, needs_reply, last_message_at, id, snoozed_until,
                                       account_id, unread, assignee, channel, tags,
                                       last_inbound_at);
-- The same order within one property (the property filter).
CREATE INDEX thread_property ON thread(property_id, done, needs_reply, last_message_at);
-- One open thread per porter process: presence rows are replaced by `who`.
CREATE INDEX presence_who ON presence(who);
-- A waiting thread always has last_inbound_at (the SLA list is keyset-paged on it); make
-- sure no older row breaks that.
UPDATE thread SET last_inbound_at = last_message_at
WHERE needs_reply = 1 AND last_inbound_at IS NULL;
-- The door code the PMS gives for a stay; NULL when it has none.
ALTER TABLE stay ADD COLUMN door_code TEXT;

-- migration 4: automations (docs/automations.md)
-- What happened, for the rules to act on. Written by the triggers below, in the same
-- transaction as the change, whichever process or thread made it; read by the one rules
-- worker of the sync leader. Nothing is journaled for an account before its first complete
-- pull (account.last_pull_at): the initial import is history, not news.
CREATE TABLE rule_event (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('message', 'reservation_created',
                                                'reservation_modified', 'reservation_cancelled',
                                                'checkin', 'checkout', 'wo_created', 'wo_status',
                                                'wo_scheduled', 'sla', 'alert')),
    account_id    INTEGER,
    thread_id     INTEGER,
    message_id    INTEGER,
    stay_id       INTEGER,
    work_order_id INTEGER,
    alert_id      INTEGER,
    old_value     TEXT,
    new_value     TEXT,
    actor         TEXT NOT NULL DEFAULT '',
    origin        TEXT NOT NULL DEFAULT 'pms',
    key           TEXT UNIQUE,                   -- time-based events: one per record and day
    depth         INTEGER NOT NULL DEFAULT 0,    -- made by a rule's action: its event's + 1
    cause_fire    INTEGER,                       -- the rule_fire whose action made it
    state         TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'done'))
);
CREATE INDEX rule_event_new ON rule_event(id) WHERE state = 'new';

-- One row per (rule, event): the UNIQUE is what makes a rule fire at most once per event,
-- restarts and replays included.
CREATE TABLE rule_fire (
    id        INTEGER PRIMARY KEY,
    rule      TEXT NOT NULL,
    event_id  INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    outcome   TEXT NOT NULL CHECK (outcome IN ('done', 'partial', 'failed', 'skipped')),
    summary   TEXT NOT NULL DEFAULT '',
    error     TEXT,
    undone_at INTEGER,
    undone_by TEXT,
    UNIQUE (rule, event_id)
);
CREATE INDEX rule_fire_at ON rule_fire(at);
CREATE INDEX rule_fire_event ON rule_fire(event_id);

-- What each firing did, in order, with what undo needs (the value before).
CREATE TABLE rule_action (
    id        INTEGER PRIMARY KEY,
    fire_id   INTEGER NOT NULL REFERENCES rule_fire(id) ON DELETE CASCADE,
    action    TEXT NOT NULL,
    entity    TEXT,                            -- thread, message, work_order
    entity_id INTEGER,
    old_value TEXT,
    new_value TEXT,
    state     TEXT NOT NULL CHECK (state IN ('done', 'skipped', 'failed', 'queued', 'running',
                                             'undone')),
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rule_action_fire ON rule_action(fire_id);
CREATE INDEX rule_action_queued ON rule_action(state) WHERE state IN ('queued', 'running');

CREATE TRIGGER rule_ev_message AFTER INSERT ON message
WHEN NEW.direction = 'in'
  AND (SELECT last_pull_at FROM account WHERE id = NEW.account_id) IS NOT NULL
BEGIN
    INSERT INTO rule_event(at, kind, account_id, thread_id, message_id)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'message',
            NEW.account_id, NEW.thread_id, NEW.id);
END;

CREATE TRIGGER rule_ev_stay_new AFTER INSERT ON stay
WHEN (SELECT last_pull_at FROM account WHERE id = NEW.account_id) IS NOT NULL
BEGIN
    INSERT INTO rule_event(at, kind, account_id, stay_id, new_value)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
            CASE WHEN NEW.status = 'cancelled' THEN 'reservation_cancelled'
                 ELSE 'reservation_created' END,
            NEW.account_id, NEW.id, NEW.status);
END;

CREATE TRIGGER rule_ev_stay_change AFTER UPDATE OF status, arrival, departure, guests ON stay
WHEN (OLD.status IS NOT NEW.status OR OLD.arrival IS NOT NEW.arrival
      OR OLD.departure IS NOT NEW.departure OR OLD.guests IS NOT NEW.guests)
  AND (SELECT last_pull_at FROM account WHERE id = NEW.account_id) IS NOT NULL
BEGIN
    INSERT INTO rule_event(at, kind, account_id, stay_id, old_value, new_value)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
            CASE WHEN NEW.status = 'cancelled' AND OLD.status IS NOT 'cancelled'
                 THEN 'reservation_cancelled' ELSE 'reservation_modified' END,
            NEW.account_id, NEW.id, OLD.status, NEW.status);
END;

-- A work order the PMS made (porter's own are journaled by their 'created' history line,
-- which names who made them).
CREATE TRIGGER rule_ev_wo_new AFTER INSERT ON work_order
WHEN NEW.remote_id IS NOT NULL
  AND (SELECT last_pull_at FROM account WHERE id = NEW.account_id) IS NOT NULL
BEGIN
    INSERT INTO rule_event(at, kind, account_id, thread_id, work_order_id, new_value, actor)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'wo_created',
            NEW.account_id, NEW.thread_id, NEW.id, NEW.status, 'pms');
END;

CREATE TRIGGER rule_ev_wo_event AFTER INSERT ON wo_event
WHEN NEW.kind IN ('created', 'status', 'schedule')
  AND (SELECT a.last_pull_at FROM work_order w JOIN account a ON a.id = w.account_id
       WHERE w.id = NEW.work_order_id) IS NOT NULL
BEGIN
    INSERT INTO rule_event(at, kind, account_id, thread_id, work_order_id, old_value, new_value,
                           actor, origin)
    SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
           CASE NEW.kind WHEN 'created' THEN 'wo_created' WHEN 'status' THEN 'wo_status'
                ELSE 'wo_scheduled' END,
           w.account_id, w.thread_id, w.id, NEW.old_value, NEW.new_value, NEW.actor, NEW.origin
    FROM work_order w WHERE w.id = NEW.work_order_id;
END;

CREATE TRIGGER rule_ev_alert_new AFTER INSERT ON alert
BEGIN
    INSERT INTO rule_event(at, kind, account_id, alert_id, old_value, new_value, actor)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'alert',
            NEW.account_id, NEW.id, NEW.subject, NEW.kind, 'porter');
END;

-- An alert raised again after someone acknowledged it is news again.
CREATE TRIGGER rule_ev_alert_again AFTER UPDATE OF acked_at ON alert
WHEN OLD.acked_at IS NOT NULL AND NEW.acked_at IS NULL
BEGIN
    INSERT INTO rule_event(at, kind, account_id, alert_id, old_value, new_value, actor)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'alert',
            NEW.account_id, NEW.id, NEW.subject, NEW.kind, 'porter');
END;
