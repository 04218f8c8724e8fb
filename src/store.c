/* store.c - see store.h. The only file that contains SQL.
 *
 * Statement cache: fixed statements are an X-macro list (STMT_LIST) prepared on first use and
 * kept for the life of the connection; the thread-list queries, whose SQL depends on the
 * filter, sort and paging direction, are built from a bit set of those ("shape") and kept in
 * a small per-connection cache keyed by it.
 *
 * Transactions: every function that writes more than one row runs inside tx_enter/tx_leave,
 * which begins IMMEDIATE when the caller has no transaction open and uses a SAVEPOINT inside
 * the caller's transaction, so a multi-row change is atomic either way.
 */
#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"

extern const char porter_schema_sql[];

/* clang-format off */
#define STMT_LIST(X) \
    X(ACCOUNT_GET, "SELECT id FROM account WHERE name = ?1") \
    X(ACCOUNT_ADD, "INSERT INTO account(name, adapter, created_at) VALUES (?1, ?2, ?3)") \
    X(PROPERTY_ID, "SELECT id FROM property WHERE account_id = ?1 AND remote_id = ?2") \
    X(UNIT_ID, "SELECT id FROM unit WHERE account_id = ?1 AND remote_id = ?2") \
    X(CONTACT_ID, "SELECT id FROM contact WHERE account_id = ?1 AND remote_id = ?2") \
    X(STAY_ID, "SELECT id FROM stay WHERE account_id = ?1 AND remote_id = ?2") \
    X(THREAD_ID, "SELECT id FROM thread WHERE account_id = ?1 AND remote_id = ?2") \
    X(VENDOR_ID, "SELECT id FROM vendor WHERE account_id = ?1 AND remote_id = ?2") \
    X(WO_ID, "SELECT id FROM work_order WHERE account_id = ?1 AND remote_id = ?2") \
    X(PROPERTY_UPSERT, \
      "INSERT INTO property(account_id, remote_id, name, address, timezone, remote_updated_at)" \
      " VALUES (?1, ?2, coalesce(?3, ''), coalesce(?4, ''), ?5, ?6)" \
      " ON CONFLICT(account_id, remote_id) DO UPDATE SET name = coalesce(?3, name)," \
      " address = coalesce(?4, address), timezone = coalesce(?5, timezone)," \
      " remote_updated_at = ?6 WHERE ?6 >= remote_updated_at RETURNING id") \
    X(UNIT_UPSERT, \
      "INSERT INTO unit(account_id, remote_id, property_id, name, remote_updated_at)" \
      " VALUES (?1, ?2, ?3, coalesce(?4, ''), ?5)" \
      " ON CONFLICT(account_id, remote_id) DO UPDATE SET" \
      " property_id = coalesce(?3, property_id), name = coalesce(?4, name)," \
      " remote_updated_at = ?5 WHERE ?5 >= remote_updated_at RETURNING id") \
    X(CONTACT_UPSERT, \
      "INSERT INTO contact(account_id, remote_id, kind, name, email, phone, remote_updated_at)" \
      " VALUES (?1, ?2, ?3, coalesce(?4, ''), ?5, ?6, ?7)" \
      " ON CONFLICT(account_id, remote_id) DO UPDATE SET kind = ?3," \
      " name = coalesce(?4, name), email = coalesce(?5, email), phone = coalesce(?6, phone)," \
      " remote_updated_at = ?7 WHERE ?7 >= remote_updated_at RETURNING id") \
    X(STAY_UPSERT, \
      "INSERT INTO stay(account_id, remote_id, kind, property_id, unit_id, contact_id, status," \
      " remote_status, channel, arrival, departure, guests, confirmation_code, remote_updated_at," \
      " door_code)" \
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, 'unknown'), ?8, ?9, ?10, ?11, ?12, ?13, ?14," \
      " ?15)" \
      " ON CONFLICT(account_id, remote_id) DO UPDATE SET kind = ?3," \
      " property_id = coalesce(?4, property_id), unit_id = coalesce(?5, unit_id)," \
      " contact_id = coalesce(?6, contact_id), status = coalesce(?7, status)," \
      " remote_status = coalesce(?8, remote_status), channel = coalesce(?9, channel)," \
      " arrival = coalesce(?10, arrival), departure = coalesce(?11, departure)," \
      " guests = coalesce(?12, guests), confirmation_code = coalesce(?13, confirmation_code)," \
      " door_code = coalesce(?15, door_code)," \
      " remote_updated_at = ?14 WHERE ?14 >= remote_updated_at RETURNING id") \
    X(THREAD_UPSERT, \
      "INSERT INTO thread(account_id, remote_id, kind, subject, contact_id, stay_id, property_id," \
      " unit_id, channel, remote_updated_at)" \
      " VALUES (?1, ?2, ?3, coalesce(?4, ''), ?5, ?6, ?7, ?8, ?9, ?10)" \
      " ON CONFLICT(account_id, remote_id) DO UPDATE SET kind = ?3," \
      " subject = coalesce(?4, subject), contact_id = coalesce(?5, contact_id)," \
      " stay_id = coalesce(?6, stay_id), property_id = coalesce(?7, property_id)," \
      " unit_id = coalesce(?8, unit_id), channel = ?9, remote_updated_at = ?10" \
      " WHERE ?10 >= remote_updated_at RETURNING id") \
    X(THREAD_REF, "SELECT t.account_id, t.remote_id, t.property_id, t.unit_id, t.stay_id," \
      " p.remote_id, u.remote_id, st.remote_id FROM thread t" \
      " LEFT JOIN property p ON p.id = t.property_id LEFT JOIN unit u ON u.id = t.unit_id" \
      " LEFT JOIN stay st ON st.id = t.stay_id WHERE t.id = ?1") \
    X(MESSAGE_FIND, "SELECT id, remote_updated_at FROM message WHERE account_id = ?1" \
      " AND remote_id = ?2") \
    X(MESSAGE_ADOPT, "UPDATE message SET remote_id = ?3, send_state = 'synced', send_error = NULL," \
      " remote_updated_at = ?4 WHERE account_id = ?1 AND idem_key = ?2 AND remote_id IS NULL" \
      " RETURNING id") \
    X(MESSAGE_INSERT, \
      "INSERT INTO message(account_id, thread_id, remote_id, direction, channel, author, body," \
      " sent_at, send_state, idem_key, origin, remote_updated_at)" \
      " VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, ''), coalesce(?7, ''), ?8, ?9, ?10, ?11, ?12)") \
    X(MESSAGE_UPDATE, "UPDATE message SET body = coalesce(?2, body), author = coalesce(?3, author)," \
      " channel = ?4, direction = ?5, sent_at = ?6, remote_updated_at = ?7 WHERE id = ?1") \
    X(THREAD_TOUCH, \
      "UPDATE thread SET message_count = message_count + 1," \
      " last_message_at = max(last_message_at, ?2)," \
      " last_preview = CASE WHEN ?2 >= last_message_at AND ?3 IN ('in', 'out')" \
      "   THEN substr(?4, 1, 240) ELSE last_preview END," \
      " needs_reply = CASE WHEN ?2 < last_message_at THEN needs_reply" \
      "   WHEN ?3 = 'in' THEN 1 WHEN ?3 = 'out' THEN 0 ELSE needs_reply END," \
      " last_inbound_at = CASE WHEN ?3 = 'in' AND (needs_reply = 0 OR last_inbound_at IS NULL)" \
      "   THEN ?2 WHEN ?3 = 'out' AND ?2 >= last_message_at THEN NULL ELSE last_inbound_at END," \
      " unread = unread + (?3 = 'in')," \
      " done = CASE WHEN ?3 = 'in' THEN 0 ELSE done END," \
      " snoozed_until = CASE WHEN ?3 = 'in' THEN NULL ELSE snoozed_until END" \
      " WHERE id = ?1") \
    X(VENDOR_UPSERT, \
      "INSERT INTO vendor(account_id, remote_id, name, trade, phone, email, insurance_expires," \
      " active, remote_updated_at) VALUES (?1, ?2, coalesce(?3, ''), coalesce(?4, ''), ?5, ?6," \
      " ?7, ?8, ?9) ON CONFLICT(account_id, remote_id) DO UPDATE SET" \
      " name = coalesce(?3, name), trade = coalesce(?4, trade), phone = coalesce(?5, phone)," \
      " email = coalesce(?6, email), insurance_expires = coalesce(?7, insurance_expires)," \
      " active = ?8, remote_updated_at = ?9 WHERE ?9 >= remote_updated_at RETURNING id") \
    X(VENDOR_PREF_CLEAR, "DELETE FROM vendor_property WHERE vendor_id = ?1") \
    X(VENDOR_PREF_ADD, "INSERT OR REPLACE INTO vendor_property(vendor_id, property_id, preferred)" \
      " VALUES (?1, ?2, 1)") \
    X(WO_UPSERT, \
      "INSERT INTO work_order(account_id, remote_id, title, description, status, remote_status," \
      " priority, trade, property_id, unit_id, stay_id, thread_id, vendor_id, schedule_start," \
      " schedule_end, due_date, created_at, updated_at, remote_updated_at)" \
      " VALUES (?1, ?2, coalesce(?3, ''), coalesce(?4, ''), ?5, ?6, ?7, coalesce(?8, ''), ?9," \
      " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)" \
      " ON CONFLICT(account_id, remote_id) DO UPDATE SET title = coalesce(?3, title)," \
      " description = coalesce(?4, description), status = ?5," \
      " remote_status = coalesce(?6, remote_status), priority = ?7," \
      " trade = coalesce(?8, trade), property_id = coalesce(?9, property_id)," \
      " unit_id = coalesce(?10, unit_id), stay_id = coalesce(?11, stay_id)," \
      " thread_id = coalesce(?12, thread_id), vendor_id = coalesce(?13, vendor_id)," \
      " schedule_start = coalesce(?14, schedule_start), schedule_end = coalesce(?15, schedule_end)," \
      " due_date = coalesce(?16, due_date), updated_at = ?18, remote_updated_at = ?19" \
      " WHERE ?19 >= remote_updated_at RETURNING id") \
    X(WO_LOCAL_STATUS, "SELECT id, status, EXISTS (SELECT 1 FROM outbox o WHERE" \
      " o.entity = 'work_order' AND o.entity_id = w.id AND o.op = 'wo_status'" \
      " AND o.state IN ('pending', 'inflight')), remote_updated_at FROM work_order w" \
      " WHERE account_id = ?1 AND remote_id = ?2") \
    X(OWNER_GET, "SELECT owner, rule FROM field_owner WHERE entity = ?1 AND field = ?2") \
    X(OWNER_SET, "INSERT INTO field_owner(entity, field, owner, rule) VALUES (?1, ?2, ?3, ?4)" \
      " ON CONFLICT(entity, field) DO UPDATE SET owner = ?3, rule = ?4") \
    X(BASE_GET, "SELECT value FROM sync_base WHERE entity = ?1 AND row_id = ?2 AND field = ?3") \
    X(BASE_SET, "INSERT INTO sync_base(entity, row_id, field, value) VALUES (?1, ?2, ?3, ?4)" \
      " ON CONFLICT(entity, row_id, field) DO UPDATE SET value = ?4") \
    X(BASE_FROM_OP, "INSERT INTO sync_base(entity, row_id, field, value)" \
      " SELECT 'work_order', entity_id, 'status', json_extract(payload, '$.status')" \
      " FROM outbox WHERE id = ?1 AND op = 'wo_status' AND true" \
      " ON CONFLICT(entity, row_id, field) DO UPDATE SET value = excluded.value") \
    X(CONFLICT_ADD, "INSERT INTO conflict(account_id, entity, row_id, field, base_value," \
      " local_value, remote_value, winner, rule, created_at)" \
      " VALUES (?1, 'work_order', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)") \
    X(WO_OP_IN_DOUBT, "SELECT 1 FROM outbox WHERE entity = 'work_order' AND entity_id = ?1" \
      " AND op = 'wo_status' AND state IN ('pending', 'inflight') AND attempts > 0" \
      " AND json_extract(payload, '$.status') = ?2 LIMIT 1") \
    X(WO_OWN_LOCAL, "SELECT EXISTS (SELECT 1 FROM outbox WHERE entity = 'work_order'" \
      " AND entity_id = ?1 AND op = 'wo_status' AND state = 'sent') AND coalesce((SELECT" \
      " json_extract(payload, '$.status') = ?2 FROM outbox WHERE entity = 'work_order'" \
      " AND entity_id = ?1 AND op = 'wo_status' AND state IN ('pending', 'inflight', 'sent')" \
      " ORDER BY id DESC LIMIT 1), 0)") \
    X(RULE_EVENT_DONE, "UPDATE rule_event SET state = 'done' WHERE id = ?1") \
    X(RULE_EVENT_MAX, "SELECT coalesce(max(id), 0) FROM rule_event") \
    X(RULE_EVENTS_CAUSED, "UPDATE rule_event SET cause_fire = ?2, depth = ?3 WHERE id > ?1") \
    X(RULE_FIRED, "SELECT 1 FROM rule_fire WHERE rule = ?1 AND event_id = ?2") \
    X(RULE_FIRE_ADD, "INSERT INTO rule_fire(rule, event_id, at, outcome, summary, error)" \
      " VALUES (?1, ?2, ?3, ?4, coalesce(?5, ''), ?6)") \
    X(RULE_FIRE_SET, "UPDATE rule_fire SET outcome = ?2, summary = coalesce(?3, ''), error = ?4" \
      " WHERE id = ?1") \
    X(RULE_ACTION_ADD, "INSERT INTO rule_action(fire_id, action, entity, entity_id, old_value," \
      " new_value, state, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, coalesce(?8, ''))") \
    X(OPS_SUPERSEDE, "UPDATE outbox SET state = 'failed', last_error = ?2 WHERE" \
      " entity = 'work_order' AND entity_id = ?1 AND op = 'wo_status' AND state = 'pending'") \
    X(WO_EVENT_PMS, "INSERT INTO wo_event(work_order_id, at, kind, old_value, new_value, actor," \
      " origin) VALUES (?1, ?2, 'status', ?3, ?4, 'pms', 'pms')") \
    X(WO_GET_STATUS, "SELECT account_id, status, remote_id FROM work_order WHERE id = ?1") \
    X(WO_SET_STATUS, "UPDATE work_order SET status = ?2, sync_state = 'pending', sync_error = NULL," \
      " updated_at = ?3 WHERE id = ?1") \
    X(WO_INSERT_LOCAL, \
      "INSERT INTO work_order(account_id, title, description, status, priority, property_id," \
      " unit_id, stay_id, thread_id, sync_state, created_at, updated_at)" \
      " VALUES (?1, ?2, coalesce(?3, ''), 'new', ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?9)") \
    X(WO_EVENT_ADD, "INSERT INTO wo_event(work_order_id, at, kind, old_value, new_value, actor," \
      " origin) VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, ''), ?7)") \
    X(OUTBOX_ADD, "INSERT INTO outbox(account_id, entity, entity_id, op, payload, idem_key," \
      " created_at, lane) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)") \
    X(OUTBOX_CLAIM, \
      "SELECT o.id, o.account_id, o.entity, o.entity_id, o.op, o.payload, o.idem_key," \
      " CASE o.entity WHEN 'work_order' THEN (SELECT remote_id FROM work_order w" \
      "   WHERE w.id = o.entity_id) WHEN 'message' THEN (SELECT remote_id FROM message m" \
      "   WHERE m.id = o.entity_id) END, o.attempts, o.created_at FROM outbox o" \
      " WHERE o.account_id = ?1 AND o.state = 'pending' AND o.next_attempt_at <= ?2" \
      " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.account_id = o.account_id" \
      "   AND p.lane = o.lane AND p.id < o.id AND p.state IN ('pending', 'inflight'))" \
      " ORDER BY o.id LIMIT ?3") \
    X(OUTBOX_INFLIGHT, "UPDATE outbox SET state = 'inflight', attempts = attempts + 1" \
      " WHERE id = ?1") \
    X(OUTBOX_WAKE, "UPDATE outbox SET next_attempt_at = 0 WHERE account_id = ?1" \
      " AND state = 'pending'") \
    X(OUTBOX_RECOVER, "UPDATE outbox SET state = 'pending' WHERE account_id = ?1" \
      " AND state = 'inflight'") \
    X(OUTBOX_GET, "SELECT entity, entity_id, account_id FROM outbox WHERE id = ?1") \
    X(OUTBOX_SENT, "UPDATE outbox SET state = 'sent', sent_at = ?2, remote_id = ?3," \
      " last_error = NULL WHERE id = ?1") \
    X(OUTBOX_RETRY, "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, last_error = ?3" \
      " WHERE id = ?1") \
    X(OUTBOX_FAIL, "UPDATE outbox SET state = 'failed', last_error = ?2 WHERE id = ?1") \
    X(OUTBOX_DEPTH_ALL, "SELECT count(*), coalesce(min(created_at), 0) FROM outbox" \
      " WHERE state IN ('pending', 'inflight')") \
    X(OUTBOX_DEPTH, "SELECT count(*), coalesce(min(created_at), 0) FROM outbox" \
      " WHERE state IN ('pending', 'inflight') AND account_id = ?1") \
    X(MESSAGE_ECHO_FIND, "SELECT id, thread_id FROM message WHERE account_id = ?1" \
      " AND remote_id = ?2 AND id <> ?3") \
    X(MESSAGE_DELETE, "DELETE FROM message WHERE id = ?1") \
    X(THREAD_UNCOUNT, "UPDATE thread SET message_count = max(message_count - 1, 0) WHERE id = ?1") \
    X(MESSAGE_SENT, "UPDATE message SET remote_id = coalesce(?2, remote_id)," \
      " send_state = 'synced', send_error = NULL, local_only = ?3 WHERE id = ?1") \
    X(MESSAGE_FAILED, "UPDATE message SET send_state = 'failed', send_error = ?2 WHERE id = ?1") \
    X(WO_SENT, "UPDATE work_order SET remote_id = coalesce(remote_id, ?2), sync_error = NULL," \
      " sync_state = CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.entity = 'work_order'" \
      "   AND o.entity_id = ?1 AND o.state IN ('pending', 'inflight')) THEN 'pending'" \
      "   ELSE 'synced' END WHERE id = ?1") \
    X(NOTE_LANDED, "UPDATE wo_event SET remote_id = ?2 WHERE id = (SELECT" \
      " json_extract(payload, '$.event') FROM outbox WHERE id = ?1 AND op = 'wo_note')") \
    X(WO_FAILED, "UPDATE work_order SET sync_state = 'failed', sync_error = ?2 WHERE id = ?1") \
    X(INBOUND_DUE, "SELECT id, account_id, kind, body, attempts, received_at FROM inbound_event" \
      " WHERE state IN ('new', 'retry') AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2") \
    X(INBOUND_MARK, "UPDATE inbound_event SET state = ?2, next_attempt_at = ?3, error = ?4," \
      " attempts = attempts + 1, applied_at = CASE WHEN ?2 = 'applied' THEN ?5 END WHERE id = ?1") \
    X(CURSOR_GET, "SELECT cursor FROM sync_cursor WHERE account_id = ?1 AND entity = ?2") \
    X(CURSOR_SET, "INSERT INTO sync_cursor(account_id, entity, cursor, updated_at)" \
      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(account_id, entity) DO UPDATE SET cursor = ?3," \
      " updated_at = ?4") \
    X(ACCOUNT_STATE, "UPDATE account SET state = ?2, state_reason = ?3 WHERE id = ?1") \
    X(ACCOUNT_PULLED, "UPDATE account SET last_pull_at = ?2 WHERE id = ?1") \
    X(ACCOUNT_HOOKED, "UPDATE account SET last_webhook_at = ?2 WHERE id = ?1") \
    X(ACCOUNT_CIRCUIT, "UPDATE account SET circuit = ?2 WHERE id = ?1") \
    X(TOKEN_GET, "SELECT token, coalesce(token_expires_at, 0) FROM account WHERE id = ?1" \
      " AND token IS NOT NULL") \
    X(TOKEN_PUT, "UPDATE account SET token = ?2, token_expires_at = ?3 WHERE id = ?1") \
    X(TOKEN_MINT, "INSERT INTO token_mint(account_id, minted_at) VALUES (?1, ?2)") \
    X(TOKEN_MINTS, "SELECT count(*) FROM token_mint WHERE account_id = ?1 AND minted_at >= ?2") \
    X(LEASE_TAKE, "INSERT INTO lease(name, holder, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4)" \
      " ON CONFLICT(name) DO UPDATE SET acquired_at = CASE WHEN holder = ?2 THEN acquired_at" \
      " ELSE ?3 END, holder = ?2, expires_at = ?4 WHERE holder = ?2 OR expires_at < ?3") \
    X(LEASE_HOLDER, "SELECT holder = ?2 FROM lease WHERE name = ?1") \
    X(LEASE_RELEASE, "DELETE FROM lease WHERE name = ?1 AND holder = ?2") \
    X(METRIC_ADD, "INSERT INTO metric(account_id, name, at, value) VALUES (?1, ?2, ?3, ?4)") \
    X(ALERT_BUMP, "UPDATE alert SET count = count + 1, last_seen = ?5, message = ?4," \
      " acked_at = NULL WHERE account_id IS ?1 AND kind = ?2 AND subject = ?3") \
    X(ALERT_ADD, "INSERT INTO alert(account_id, kind, subject, message, first_seen, last_seen)" \
      " VALUES (?1, ?2, ?3, ?4, ?5, ?5)") \
    X(HEALTH_ACCOUNTS, "SELECT id, name, adapter, state, state_reason, circuit," \
      " coalesce(last_pull_at, 0), coalesce(last_webhook_at, 0)," \
      " (SELECT count(*) FROM alert l WHERE l.account_id = a.id AND l.acked_at IS NULL)" \
      " FROM account a ORDER BY name") \
    X(HEALTH_LATENCY, "SELECT value FROM metric WHERE account_id = ?1 AND name = ?2" \
      " AND at >= ?3 ORDER BY value") \
    X(HEALTH_COUNT, "SELECT count(*) FROM metric WHERE account_id = ?1 AND name = ?2" \
      " AND at >= ?3") \
    X(OUTBOX_COUNT_ALL, "SELECT count(*) FROM outbox WHERE state = ?1") \
    X(OUTBOX_COUNT_ACCOUNT, "SELECT count(*) FROM outbox WHERE state = ?1 AND account_id = ?2") \
    X(MESSAGES_OF_THREAD, \
      "SELECT id, remote_id, direction, channel, author, body, sent_at, send_state, send_error," \
      " idem_key FROM message WHERE thread_id = ?1 ORDER BY sent_at, id") \
    X(SEARCH, \
      "SELECT m.id, m.thread_id, snippet(message_fts, 0, '[', ']', '...', 12)" \
      " FROM message_fts JOIN message m ON m.id = message_fts.rowid" \
      " WHERE message_fts MATCH ?1 ORDER BY rank LIMIT ?2") \
    X(WO_LIST_STATUS, WO_SELECT " WHERE w.status = ?1" WO_ORDER) \
    X(WO_LIST_ALL, WO_SELECT " WHERE ?1 IS NULL" WO_ORDER) \
    X(WO_LIST_FILTERED, WO_SELECT " WHERE w.status = ?1 AND (?3 = 0 OR w.priority = 'emergency')" \
      " AND (?4 IS NULL OR (coalesce(w.due_date, '') <> '' AND w.due_date < ?4))" \
      " AND (?5 IS NULL OR w.title LIKE ?5 ESCAPE '\\' OR p.name LIKE ?5 ESCAPE '\\'" \
      "   OR u.name LIKE ?5 ESCAPE '\\' OR v.name LIKE ?5 ESCAPE '\\' OR w.trade LIKE ?5 ESCAPE '\\')" \
      " AND (?6 IS NULL OR w.assignee = ?6)" WO_ORDER) \
    X(INBOUND_PUT, "INSERT INTO inbound_event(account_id, event_id, kind, body, received_at)" \
      " VALUES (?1, ?2, coalesce(?3, ''), ?4, ?5) ON CONFLICT(account_id, event_id) DO NOTHING") \
    X(THREAD_GET, "SELECT " THREAD_COLS " FROM thread t" THREAD_JOINS " WHERE t.id = ?1") \
    X(THREAD_DETAIL, \
      "SELECT coalesce(c.name, ''), coalesce(c.email, ''), coalesce(c.phone, '')," \
      " coalesce(st.id, 0), coalesce(nullif(st.status, 'unknown'), ''), coalesce(st.arrival, '')," \
      " coalesce(st.departure, ''), coalesce(st.door_code, ''), coalesce(st.confirmation_code, '')," \
      " coalesce(st.guests, 0), coalesce(p.name, ''), coalesce(u.name, '')," \
      " coalesce((SELECT group_concat(who, ', ') FROM (SELECT pr.who FROM presence pr" \
      "   WHERE pr.thread_id = t.id AND pr.who IS NOT ?2 AND pr.heartbeat_at >= ?3" \
      "   ORDER BY pr.who)), '')," \
      " coalesce((SELECT m.id FROM message m WHERE m.thread_id = t.id AND m.direction = 'in'" \
      "   ORDER BY m.sent_at DESC, m.id DESC LIMIT 1), 0)" \
      " FROM thread t LEFT JOIN stay st ON st.id = t.stay_id" \
      " LEFT JOIN contact c ON c.id = coalesce(t.contact_id, st.contact_id)" \
      " LEFT JOIN property p ON p.id = coalesce(t.property_id, st.property_id)" \
      " LEFT JOIN unit u ON u.id = coalesce(t.unit_id, st.unit_id) WHERE t.id = ?1") \
    X(THREAD_ASSIGN, "UPDATE thread SET assignee = ?2 WHERE id = ?1 RETURNING id") \
    X(THREAD_SNOOZE, "UPDATE thread SET snoozed_until = ?2 WHERE id = ?1 RETURNING id") \
    X(THREAD_DONE, "UPDATE thread SET done = ?2 WHERE id = ?1 RETURNING id") \
    X(THREAD_READ, "UPDATE thread SET unread = 0 WHERE id = ?1 RETURNING id") \
    X(THREAD_TAG_ADD, "UPDATE thread SET tags = CASE WHEN instr(tags, ',' || ?2 || ',') > 0" \
      " THEN tags WHEN tags = '' THEN ',' || ?2 || ',' ELSE tags || ?2 || ',' END" \
      " WHERE id = ?1 RETURNING id") \
    X(THREAD_TAG_DEL, "UPDATE thread SET tags = CASE WHEN replace(tags, ',' || ?2 || ',', ',') = ','" \
      " THEN '' ELSE replace(tags, ',' || ?2 || ',', ',') END WHERE id = ?1 RETURNING id") \
    X(PRESENCE_TOUCH, "INSERT INTO presence(thread_id, who, since, heartbeat_at)" \
      " SELECT id, ?2, ?3, ?3 FROM thread WHERE id = ?1" \
      " ON CONFLICT(thread_id, who) DO UPDATE SET heartbeat_at = excluded.heartbeat_at" \
      " RETURNING thread_id") \
    X(PRESENCE_OTHERS, "DELETE FROM presence WHERE who = ?2 AND thread_id <> ?1") \
    X(PRESENCE_PURGE, "DELETE FROM presence WHERE heartbeat_at < ?1") \
    X(PRESENCE_LEAVE, "DELETE FROM presence WHERE who = ?1") \
    X(MESSAGE_STATE, "SELECT send_state, thread_id FROM message WHERE id = ?1") \
    X(OUTBOX_REQUEUE, "UPDATE outbox SET state = 'pending', next_attempt_at = 0, last_error = NULL" \
      " WHERE entity = 'message' AND entity_id = ?1 AND state IN ('failed', 'dead')" \
      " RETURNING id") \
    X(MESSAGE_REQUEUE, "UPDATE message SET send_state = 'pending', send_error = NULL WHERE id = ?1") \
    X(OUTBOX_DISCARD, "UPDATE outbox SET state = 'dead', last_error = 'discarded'" \
      " WHERE entity = 'message' AND entity_id = ?1 AND state IN ('failed', 'dead')") \
    X(THREAD_REDERIVE, \
      "UPDATE thread SET message_count = (SELECT count(*) FROM message WHERE thread_id = ?1)," \
      " last_message_at = coalesce((SELECT max(sent_at) FROM message WHERE thread_id = ?1), 0)," \
      " last_preview = coalesce((SELECT substr(body, 1, 240) FROM message WHERE thread_id = ?1" \
      "   AND direction IN ('in', 'out') ORDER BY sent_at DESC, id DESC LIMIT 1), '')," \
      " needs_reply = coalesce((SELECT direction = 'in' FROM message WHERE thread_id = ?1" \
      "   AND direction IN ('in', 'out') ORDER BY sent_at DESC, id DESC LIMIT 1), 0)" \
      " WHERE id = ?1") \
    X(THREAD_REDERIVE_SLA, \
      "UPDATE thread SET last_inbound_at = CASE WHEN needs_reply = 0 THEN NULL ELSE coalesce(" \
      " (SELECT min(m.sent_at) FROM message m WHERE m.thread_id = ?1 AND m.direction = 'in'" \
      "   AND m.sent_at > (SELECT coalesce(max(o.sent_at), -1) FROM message o" \
      "   WHERE o.thread_id = ?1 AND o.direction = 'out'))," \
      " (SELECT max(sent_at) FROM message WHERE thread_id = ?1 AND direction = 'in')," \
      " last_message_at) END WHERE id = ?1")

/* The columns of a struct thread_row (see thread_row_read), over thread `t` and THREAD_JOINS.
 * sla_since: the first inbound message after the last outbound one, while needs_reply. */
#define THREAD_COLS \
    "t.id, t.account_id, a.name, t.remote_id, t.subject, coalesce(c.name, '')," \
    " coalesce(p.name, ''), coalesce(u.name, ''), t.channel, t.last_preview, t.assignee, t.tags," \
    " t.last_message_at, coalesce(t.last_inbound_at, 0), t.needs_reply, t.unread, t.done," \
    " t.message_count," \
    " (SELECT count(*) FROM message m WHERE m.thread_id = t.id AND m.send_state = 'pending')," \
    " (SELECT count(*) FROM message m WHERE m.thread_id = t.id" \
    "   AND m.send_state IN ('failed', 'dead'))," \
    " coalesce(t.snoozed_until, 0)," \
    " CASE WHEN t.needs_reply = 1 THEN coalesce((SELECT min(m.sent_at) FROM message m" \
    "   WHERE m.thread_id = t.id AND m.direction = 'in' AND m.sent_at > (SELECT" \
    "   coalesce(max(o.sent_at), -1) FROM message o WHERE o.thread_id = t.id" \
    "   AND o.direction = 'out')), t.last_inbound_at, t.last_message_at) ELSE 0 END," \
    " coalesce(t.property_id, 0)"
#define THREAD_JOINS \
    " JOIN account a ON a.id = t.account_id LEFT JOIN contact c ON c.id = t.contact_id" \
    " LEFT JOIN property p ON p.id = t.property_id LEFT JOIN unit u ON u.id = t.unit_id"

#define WO_SELECT \
    "SELECT w.id, w.account_id, w.remote_id, w.title, w.status, w.priority, w.trade," \
    " coalesce(p.name, ''), coalesce(u.name, ''), coalesce(v.name, ''), coalesce(w.thread_id, 0)," \
    " w.sync_state, w.sync_error, w.created_at, w.updated_at, coalesce(w.assignee, '')," \
    " coalesce(w.schedule_start, 0), coalesce(w.schedule_end, 0) FROM work_order w" \
    " LEFT JOIN property p ON p.id = w.property_id LEFT JOIN unit u ON u.id = w.unit_id" \
    " LEFT JOIN vendor v ON v.id = w.vendor_id"
#define WO_ORDER " ORDER BY (w.priority = 'emergency') DESC, w.created_at, w.id LIMIT ?2"
/* clang-format on */

#define STMT_ENUM(id, sql) STMT_##id,
enum stmt_id { STMT_LIST(STMT_ENUM) STMT_COUNT };
#undef STMT_ENUM

#define STMT_SQL(id, sql) sql,
static const char *const stmt_sql[] = {STMT_LIST(STMT_SQL)};
#undef STMT_SQL

/* Bits of a thread-list query shape: which conditions and clauses its SQL has. A shape is
 * the key of the connection's small cache of thread-list statements (struct tq_slot). */
enum {
    TQ_ACCOUNT = 1 << 0,
    TQ_NEEDS_REPLY = 1 << 1,
    TQ_DONE = 1 << 2, /* include done */
    TQ_ASSIGNEE = 1 << 3,
    TQ_TAG = 1 << 4,
    TQ_UNREAD = 1 << 5,
    TQ_UNASSIGNED = 1 << 6,
    TQ_CHANNEL = 1 << 7,
    TQ_PROPERTY = 1 << 8,
    TQ_CHECKIN = 1 << 9,
    TQ_SEARCH = 1 << 10,
    TQ_SNOOZED = 1 << 11, /* include snoozed */
    TQ_AFTER = 1 << 12,   /* rows strictly after the key */
    TQ_BEFORE = 1 << 13,  /* rows strictly before the key */
    TQ_REVERSE = 1 << 14, /* walk the order backwards (page_before) */
    TQ_COUNT = 1 << 15,   /* count(*) instead of rows */
    TQ_SORT_SHIFT = 16,   /* enum thread_sort in the bits above */
};

/* Thread-list statements are prepared on first use and kept, least recently used evicted. */
#define TQ_CACHE 32

struct tq_slot {
    sqlite3_stmt *st; /* NULL: free slot */
    unsigned shape;
    uint64_t used;
};

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmts[STMT_COUNT];
    struct tq_slot tq[TQ_CACHE];
    uint64_t tq_clock;
    int tx_depth; /* tx_enter nesting */
    int tx_own;   /* 1 when the outermost tx_enter began the transaction */
};

/* ---- errors and statements ---- */

static int db_err(struct store *s, struct err *e, int rc, const char *what)
{
    enum retry_class r = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? RETRY_LATER : FINAL;
    if ((rc & 0xff) == SQLITE_FULL)
        return err_set(e, rc, RETRY_LATER, "%s: disk full: %s", what, sqlite3_errmsg(s->db));
    return err_set(e, rc & 0xff, r, "%s: %s", what, sqlite3_errmsg(s->db));
}

static sqlite3_stmt *stmt(struct store *s, enum stmt_id id, struct err *e)
{
    if (!s->stmts[id]) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            db_err(s, e, rc, "prepare");
            return NULL;
        }
    }
    return s->stmts[id];
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_id(sqlite3_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static char *col_text0(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return xstrdup(t ? (const char *)t : "");
}

static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Run a statement that returns no row (or whose rows are ignored). */
static int run(struct store *s, sqlite3_stmt *st, struct err *e, const char *what)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    done(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, rc, what);
}

/* Step a statement expected to return at most one row with an integer in column 0.
 * Returns 1 and *out when a row came, 0 when none, -1 on error. */
static int one_int(struct store *s, sqlite3_stmt *st, int64_t *out, struct err *e, const char *what)
{
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW) {
        if (out)
            *out = sqlite3_column_int64(st, 0);
        found = 1;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
    }
    done(st);
    if (rc != SQLITE_DONE)
        return db_err(s, e, rc, what);
    return found;
}

static int exec(struct store *s, const char *sql, struct err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        enum retry_class r = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? RETRY_LATER : FINAL;
        err_set(e, rc, r, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* ---- transactions ---- */

int store_begin(struct store *s, struct err *e)
{
    return exec(s, "BEGIN IMMEDIATE", e);
}

int store_commit(struct store *s, struct err *e)
{
    return exec(s, "COMMIT", e);
}

void store_rollback(struct store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        exec(s, "ROLLBACK", NULL);
}

static int tx_enter(struct store *s, struct err *e)
{
    if (s->tx_depth == 0) {
        s->tx_own = sqlite3_get_autocommit(s->db);
        if (exec(s, s->tx_own ? "BEGIN IMMEDIATE" : "SAVEPOINT store_tx", e) != 0)
            return -1;
    }
    s->tx_depth++;
    return 0;
}

/* Leave a tx_enter: commit (ok) or undo everything since tx_enter (!ok). Returns rc when
 * ok is false, so callers can `return tx_leave(s, rc == 0, rc, e)`. */
static int tx_leave(struct store *s, int ok, int rc, struct err *e)
{
    if (--s->tx_depth > 0)
        return rc;
    if (s->tx_own) {
        if (ok)
            return exec(s, "COMMIT", e) == 0 ? rc : (store_rollback(s), -1);
        store_rollback(s);
        return rc;
    }
    if (ok)
        return exec(s, "RELEASE store_tx", e) == 0 ? rc : -1;
    exec(s, "ROLLBACK TO store_tx", NULL);
    exec(s, "RELEASE store_tx", NULL);
    return rc;
}

/* ---- open and migrate ---- */

/* Find migration `v` in the schema text: sets *start and *len to its body. 0 or -1. */
static int migration_find(int v, const char **start, size_t *len)
{
    char tag[48];
    snprintf(tag, sizeof(tag), "\n-- migration %d:", v);
    const char *p = strstr(porter_schema_sql, tag);
    if (!p)
        return -1;
    p = strchr(p + 1, '\n');
    if (!p)
        return -1;
    const char *end = strstr(p, "\n-- migration ");
    *start = p;
    *len = end ? (size_t)(end - p) : strlen(p);
    return 0;
}

int store_latest_version(void)
{
    const char *st;
    size_t len;
    int v = 0;
    while (migration_find(v + 1, &st, &len) == 0)
        v++;
    return v;
}

int store_version(struct store *s)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

static int migrate(struct store *s, int target, struct err *e)
{
    int latest = store_latest_version();
    if (exec(s, "BEGIN IMMEDIATE", e) != 0)
        return -1;
    int cur = store_version(s);
    if (cur > latest) {
        store_rollback(s);
        return err_set(e, STORE_ENEWER, FINAL,
                       "%s has schema version %d, but this porter knows only up to version %d;"
                       " use a newer porter",
                       s->path, cur, latest);
    }
    for (int v = cur + 1; v <= target; v++) {
        const char *body;
        size_t len;
        migration_find(v, &body, &len);
        char *sql = xasprintf("%.*s\nPRAGMA user_version = %d;", (int)len, body, v);
        int rc = exec(s, sql, e);
        free(sql);
        if (rc != 0) {
            store_rollback(s);
            char msg[ERR_MSG_MAX];
            snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
            return err_set(e, STORE_EINVAL, FINAL, "migration %d of %s failed: %s", v, s->path,
                           msg);
        }
        log_info("store", "migrated %s to schema version %d", s->path, v);
    }
    return exec(s, "COMMIT", e);
}

struct store *store_open_version(const char *path, int version, struct err *e)
{
    /* Create a new database file 0600 ourselves: SQLite gives -wal and -shm the mode of the
     * database. O_EXCL matters: close() drops every POSIX lock this process holds on the
     * file, so opening and closing an existing database behind the back of this process's
     * other connections would let two writers in at once and corrupt it. */
    if (strcmp(path, ":memory:") != 0) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
        else if (errno != EEXIST) {
            err_set(e, errno, FINAL, "cannot open database %s: %s", path, strerror(errno));
            return NULL;
        }
    }
    struct store *s = xcalloc(1, sizeof(*s));
    s->path = xstrdup(path);
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err_set(e, rc, FINAL, "cannot open database %s: %s", path,
                s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        store_close(&s);
        return NULL;
    }
    sqlite3_extended_result_codes(s->db, 0);
    sqlite3_busy_timeout(s->db, 5000);
    if (exec(s,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             " PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
             e) != 0) {
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
        err_set(e, e ? e->code : 0, FINAL, "%s is not a usable porter database: %s", path, msg);
        store_close(&s);
        return NULL;
    }
    if (migrate(s, version, e) != 0) {
        store_close(&s);
        return NULL;
    }
    return s;
}

struct store *store_open(const char *path, struct err *e)
{
    return store_open_version(path, store_latest_version(), e);
}

void store_close(struct store **sp)
{
    struct store *s = sp ? *sp : NULL;
    if (!s)
        return;
    for (size_t i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    for (size_t i = 0; i < TQ_CACHE; i++)
        sqlite3_finalize(s->tq[i].st);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
    *sp = NULL;
}

int store_synchronous(struct store *s, int full, struct err *e)
{
    return exec(s, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", e);
}

int64_t store_data_version(struct store *s)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

int store_check(struct store *s, struct err *e)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_err(s, e, rc, "quick_check");
    char first[256] = "";
    int rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!rows++)
            snprintf(first, sizeof(first), "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(s, e, rc, "quick_check");
    if (rows == 1 && strcmp(first, "ok") == 0)
        return 0;
    return err_set(e, STORE_EINVAL, FINAL, "database damaged (%d problem%s): %s", rows,
                   rows == 1 ? "" : "s", first);
}

/* ---- accounts ---- */

int store_account_ensure(struct store *s, const char *name, const char *adapter, int64_t *id,
                         struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_ACCOUNT_GET, e);
    if (!st)
        return -1;
    bind_text(st, 1, name);
    int64_t got = 0;
    int f = one_int(s, st, &got, e, "account");
    if (f < 0)
        return -1;
    if (!f) {
        st = stmt(s, STMT_ACCOUNT_ADD, e);
        if (!st)
            return -1;
        bind_text(st, 1, name);
        bind_text(st, 2, adapter);
        sqlite3_bind_int64(st, 3, now_ms());
        if (run(s, st, e, "account insert") != 0)
            return -1;
        got = sqlite3_last_insert_rowid(s->db);
    }
    if (id)
        *id = got;
    return 0;
}

/* ---- upserts ---- */

/* Resolve an optional parent: NULL remote id -> *id = 0. Unknown -> STORE_ENOPARENT. */
static int parent(struct store *s, enum stmt_id q, const char *what, int64_t account,
                  const char *remote_id, int64_t *id, struct err *e)
{
    *id = 0;
    if (!remote_id || !*remote_id)
        return 0;
    sqlite3_stmt *st = stmt(s, q, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, remote_id);
    int f = one_int(s, st, id, e, what);
    if (f < 0)
        return -1;
    if (!f)
        return err_set(e, STORE_ENOPARENT, RETRY_LATER, "%s %s is not stored yet", what, remote_id);
    return 0;
}

static int need_remote_id(const char *remote_id, const char *what, struct err *e)
{
    if (!remote_id || !*remote_id)
        return err_set(e, STORE_EINVAL, FINAL, "%s without a remote id", what);
    return 0;
}

/* Finish an upsert statement with RETURNING id: a row means written; none means the stored
 * row is newer (stale), whose id is then looked up with `idq`. */
static int upsert_finish(struct store *s, sqlite3_stmt *st, enum stmt_id idq, int64_t account,
                         const char *remote_id, int64_t *id, struct err *e)
{
    int64_t got = 0;
    int f = one_int(s, st, &got, e, "upsert");
    if (f < 0)
        return -1;
    if (!f) {
        sqlite3_stmt *q = stmt(s, idq, e);
        if (!q)
            return -1;
        sqlite3_bind_int64(q, 1, account);
        bind_text(q, 2, remote_id);
        if (one_int(s, q, &got, e, "upsert lookup") < 0)
            return -1;
    }
    if (id)
        *id = got;
    return f ? STORE_WRITTEN : STORE_STALE;
}

int store_property_upsert(struct store *s, int64_t account, const struct rec_property *r,
                          int64_t *id, struct err *e)
{
    if (need_remote_id(r->remote_id, "property", e) != 0)
        return -1;
    sqlite3_stmt *st = stmt(s, STMT_PROPERTY_UPSERT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    bind_text(st, 3, r->name);
    bind_text(st, 4, r->address);
    bind_text(st, 5, r->timezone);
    sqlite3_bind_int64(st, 6, r->remote_updated_at);
    return upsert_finish(s, st, STMT_PROPERTY_ID, account, r->remote_id, id, e);
}

int store_unit_upsert(struct store *s, int64_t account, const struct rec_unit *r, int64_t *id,
                      struct err *e)
{
    int64_t prop;
    if (need_remote_id(r->remote_id, "unit", e) != 0 ||
        parent(s, STMT_PROPERTY_ID, "property", account, r->property_remote_id, &prop, e) != 0)
        return -1;
    sqlite3_stmt *st = stmt(s, STMT_UNIT_UPSERT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    bind_id(st, 3, prop);
    bind_text(st, 4, r->name);
    sqlite3_bind_int64(st, 5, r->remote_updated_at);
    return upsert_finish(s, st, STMT_UNIT_ID, account, r->remote_id, id, e);
}

int store_contact_upsert(struct store *s, int64_t account, const struct rec_contact *r, int64_t *id,
                         struct err *e)
{
    if (need_remote_id(r->remote_id, "contact", e) != 0)
        return -1;
    if (contact_kind_parse(contact_kind_name(r->kind)) < 0)
        return err_set(e, STORE_EINVAL, FINAL, "contact %s: bad kind %d", r->remote_id, r->kind);
    sqlite3_stmt *st = stmt(s, STMT_CONTACT_UPSERT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    bind_text(st, 3, contact_kind_name(r->kind));
    bind_text(st, 4, r->name);
    bind_text(st, 5, r->email);
    bind_text(st, 6, r->phone);
    sqlite3_bind_int64(st, 7, r->remote_updated_at);
    return upsert_finish(s, st, STMT_CONTACT_ID, account, r->remote_id, id, e);
}

int store_stay_upsert(struct store *s, int64_t account, const struct rec_stay *r, int64_t *id,
                      struct err *e)
{
    int64_t prop, unit, contact;
    if (need_remote_id(r->remote_id, "stay", e) != 0 ||
        parent(s, STMT_PROPERTY_ID, "property", account, r->property_remote_id, &prop, e) != 0 ||
        parent(s, STMT_UNIT_ID, "unit", account, r->unit_remote_id, &unit, e) != 0 ||
        parent(s, STMT_CONTACT_ID, "contact", account, r->contact_remote_id, &contact, e) != 0)
        return -1;
    sqlite3_stmt *st = stmt(s, STMT_STAY_UPSERT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    bind_text(st, 3, r->is_lease ? "lease" : "reservation");
    bind_id(st, 4, prop);
    bind_id(st, 5, unit);
    bind_id(st, 6, contact);
    bind_text(st, 7, r->status);
    bind_text(st, 8, r->remote_status);
    bind_text(st, 9, r->channel);
    bind_text(st, 10, r->arrival);
    bind_text(st, 11, r->departure);
    bind_id(st, 12, r->guests);
    bind_text(st, 13, r->confirmation_code);
    sqlite3_bind_int64(st, 14, r->remote_updated_at);
    bind_text(st, 15, r->door_code && *r->door_code ? r->door_code : NULL);
    return upsert_finish(s, st, STMT_STAY_ID, account, r->remote_id, id, e);
}

int store_thread_upsert(struct store *s, int64_t account, const struct rec_thread *r, int64_t *id,
                        struct err *e)
{
    int64_t contact, stay, prop, unit;
    if (need_remote_id(r->remote_id, "thread", e) != 0 ||
        parent(s, STMT_CONTACT_ID, "contact", account, r->contact_remote_id, &contact, e) != 0 ||
        parent(s, STMT_STAY_ID, "stay", account, r->stay_remote_id, &stay, e) != 0 ||
        parent(s, STMT_PROPERTY_ID, "property", account, r->property_remote_id, &prop, e) != 0 ||
        parent(s, STMT_UNIT_ID, "unit", account, r->unit_remote_id, &unit, e) != 0)
        return -1;
    if (thread_kind_parse(thread_kind_name(r->kind)) < 0 ||
        channel_parse(channel_name(r->channel)) < 0)
        return err_set(e, STORE_EINVAL, FINAL, "thread %s: bad kind or channel", r->remote_id);
    sqlite3_stmt *st = stmt(s, STMT_THREAD_UPSERT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    bind_text(st, 3, thread_kind_name(r->kind));
    bind_text(st, 4, r->subject);
    bind_id(st, 5, contact);
    bind_id(st, 6, stay);
    bind_id(st, 7, prop);
    bind_id(st, 8, unit);
    bind_text(st, 9, channel_name(r->channel));
    sqlite3_bind_int64(st, 10, r->remote_updated_at);
    return upsert_finish(s, st, STMT_THREAD_ID, account, r->remote_id, id, e);
}

/* Update a thread's derived columns for one new message. */
static int thread_touch(struct store *s, int64_t thread, int64_t sent_at, enum direction dir,
                        const char *body, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_THREAD_TOUCH, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, thread);
    sqlite3_bind_int64(st, 2, sent_at);
    bind_text(st, 3, direction_name(dir));
    bind_text(st, 4, body ? body : "");
    return run(s, st, e, "thread update");
}

static int message_insert(struct store *s, int64_t account, int64_t thread, const char *remote_id,
                          enum direction dir, enum channel ch, const char *author, const char *body,
                          int64_t sent_at, enum send_state state, const char *idem_key,
                          const char *origin, int64_t remote_updated_at, int64_t *id, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_MESSAGE_INSERT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, thread);
    bind_text(st, 3, remote_id);
    bind_text(st, 4, direction_name(dir));
    bind_text(st, 5, channel_name(ch));
    bind_text(st, 6, author);
    bind_text(st, 7, body);
    sqlite3_bind_int64(st, 8, sent_at);
    bind_text(st, 9, send_state_name(state));
    bind_text(st, 10, idem_key);
    bind_text(st, 11, origin);
    sqlite3_bind_int64(st, 12, remote_updated_at);
    if (run(s, st, e, "message insert") != 0)
        return -1;
    if (id)
        *id = sqlite3_last_insert_rowid(s->db);
    return thread_touch(s, thread, sent_at, dir, body, e);
}

static int message_upsert_tx(struct store *s, int64_t account, const struct rec_message *r,
                             int64_t *id, struct err *e)
{
    int64_t thread, got = 0;
    if (parent(s, STMT_THREAD_ID, "thread", account, r->thread_remote_id, &thread, e) != 0)
        return -1;
    if (!thread)
        return err_set(e, STORE_EINVAL, FINAL, "message %s without a thread", r->remote_id);
    sqlite3_stmt *st;
    if (r->idem_key) { /* the echo of a message porter queued */
        if (!(st = stmt(s, STMT_MESSAGE_ADOPT, e)))
            return -1;
        sqlite3_bind_int64(st, 1, account);
        bind_text(st, 2, r->idem_key);
        bind_text(st, 3, r->remote_id);
        sqlite3_bind_int64(st, 4, r->remote_updated_at);
        int f = one_int(s, st, &got, e, "message adopt");
        if (f != 0) {
            if (f > 0 && id)
                *id = got;
            return f < 0 ? -1 : STORE_WRITTEN;
        }
    }
    if (!(st = stmt(s, STMT_MESSAGE_FIND, e)))
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    int64_t stored_updated = 0;
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    if (found) {
        got = sqlite3_column_int64(st, 0);
        stored_updated = sqlite3_column_int64(st, 1);
    }
    done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(s, e, rc, "message lookup");
    if (!found)
        return message_insert(s, account, thread, r->remote_id, r->direction, r->channel, r->author,
                              r->body, r->sent_at, SEND_SYNCED, r->idem_key, "pms",
                              r->remote_updated_at, id, e);
    if (id)
        *id = got;
    if (r->remote_updated_at < stored_updated)
        return STORE_STALE;
    if (!(st = stmt(s, STMT_MESSAGE_UPDATE, e)))
        return -1;
    sqlite3_bind_int64(st, 1, got);
    bind_text(st, 2, r->body);
    bind_text(st, 3, r->author);
    bind_text(st, 4, channel_name(r->channel));
    bind_text(st, 5, direction_name(r->direction));
    sqlite3_bind_int64(st, 6, r->sent_at);
    sqlite3_bind_int64(st, 7, r->remote_updated_at);
    return run(s, st, e, "message update");
}

int store_message_upsert(struct store *s, int64_t account, const struct rec_message *r, int64_t *id,
                         struct err *e)
{
    if (need_remote_id(r->remote_id, "message", e) != 0)
        return -1;
    if (direction_parse(direction_name(r->direction)) < 0 ||
        channel_parse(channel_name(r->channel)) < 0)
        return err_set(e, STORE_EINVAL, FINAL, "message %s: bad direction or channel",
                       r->remote_id);
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = message_upsert_tx(s, account, r, id, e);
    return tx_leave(s, rc >= 0, rc, e);
}

static int vendor_upsert_tx(struct store *s, int64_t account, const struct rec_vendor *r,
                            int64_t *id, struct err *e)
{
    int64_t vid;
    sqlite3_stmt *st = stmt(s, STMT_VENDOR_UPSERT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    bind_text(st, 3, r->name);
    bind_text(st, 4, r->trade);
    bind_text(st, 5, r->phone);
    bind_text(st, 6, r->email);
    bind_text(st, 7, r->insurance_expires);
    sqlite3_bind_int(st, 8, r->active ? 1 : 0);
    sqlite3_bind_int64(st, 9, r->remote_updated_at);
    int rc = upsert_finish(s, st, STMT_VENDOR_ID, account, r->remote_id, &vid, e);
    if (id)
        *id = vid;
    if (rc != STORE_WRITTEN || !r->preferred_property_remote_ids)
        return rc;
    if (!(st = stmt(s, STMT_VENDOR_PREF_CLEAR, e)))
        return -1;
    sqlite3_bind_int64(st, 1, vid);
    if (run(s, st, e, "vendor preferences") != 0)
        return -1;
    for (const char *const *p = r->preferred_property_remote_ids; *p; p++) {
        int64_t prop;
        if (parent(s, STMT_PROPERTY_ID, "property", account, *p, &prop, e) != 0)
            return -1;
        if (!(st = stmt(s, STMT_VENDOR_PREF_ADD, e)))
            return -1;
        sqlite3_bind_int64(st, 1, vid);
        sqlite3_bind_int64(st, 2, prop);
        if (run(s, st, e, "vendor preference") != 0)
            return -1;
    }
    return STORE_WRITTEN;
}

int store_vendor_upsert(struct store *s, int64_t account, const struct rec_vendor *r, int64_t *id,
                        struct err *e)
{
    if (need_remote_id(r->remote_id, "vendor", e) != 0 || tx_enter(s, e) != 0)
        return -1;
    int rc = vendor_upsert_tx(s, account, r, id, e);
    return tx_leave(s, rc >= 0, rc, e);
}

static int work_order_upsert_tx(struct store *s, int64_t account, const struct rec_work_order *r,
                                int64_t prop, int64_t unit, int64_t stay, int64_t thread,
                                int64_t vendor, int64_t *id, struct err *e);
static sqlite3_stmt *prep(struct store *s, const char *sql, struct err *e);

int store_work_order_upsert(struct store *s, int64_t account, const struct rec_work_order *r,
                            int64_t *id, struct err *e)
{
    int64_t prop, unit, stay, thread, vendor;
    if (need_remote_id(r->remote_id, "work order", e) != 0 ||
        parent(s, STMT_PROPERTY_ID, "property", account, r->property_remote_id, &prop, e) != 0 ||
        parent(s, STMT_UNIT_ID, "unit", account, r->unit_remote_id, &unit, e) != 0 ||
        parent(s, STMT_STAY_ID, "stay", account, r->stay_remote_id, &stay, e) != 0 ||
        parent(s, STMT_THREAD_ID, "thread", account, r->thread_remote_id, &thread, e) != 0 ||
        parent(s, STMT_VENDOR_ID, "vendor", account, r->vendor_remote_id, &vendor, e) != 0)
        return -1;
    if (wo_status_parse(wo_status_name(r->status)) < 0 ||
        priority_parse(priority_name(r->priority)) < 0)
        return err_set(e, STORE_EINVAL, FINAL, "work order %s: bad status or priority",
                       r->remote_id);
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = work_order_upsert_tx(s, account, r, prop, unit, stay, thread, vendor, id, e);
    return tx_leave(s, rc >= 0, rc, e);
}

/* Text value helpers for the merge. */
static char *get_text(struct store *s, enum stmt_id q, const char *a, int64_t b, const char *c,
                      struct err *e, int *rc)
{
    sqlite3_stmt *st = stmt(s, q, e);
    char *v = NULL;
    *rc = -1;
    if (!st)
        return NULL;
    bind_text(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    bind_text(st, 3, c);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        v = col_text(st, 0);
    done(st);
    *rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_err(s, e, r, "merge");
    return v;
}

static int set_base(struct store *s, int64_t wo, const char *field, const char *value,
                    struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_BASE_SET, e);
    if (!st)
        return -1;
    bind_text(st, 1, "work_order");
    sqlite3_bind_int64(st, 2, wo);
    bind_text(st, 3, field);
    bind_text(st, 4, value);
    return run(s, st, e, "sync base");
}

/* A work order's sync state from its queue: synced unless ops are still unfinished. */
static int wo_synced(struct store *s, int64_t wo, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_WO_SENT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    sqlite3_bind_null(st, 2);
    return run(s, st, e, "work order state");
}

/* The owner and conflict rule of a field ("shared"/"pms_wins" when not configured). */
static void field_rule(struct store *s, const char *entity, const char *field, char owner[8],
                       char rule[12])
{
    strcpy(owner, "shared");
    strcpy(rule, "pms_wins");
    sqlite3_stmt *st = stmt(s, STMT_OWNER_GET, NULL);
    if (!st)
        return;
    bind_text(st, 1, entity);
    bind_text(st, 2, field);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(owner, 8, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(rule, 12, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    done(st);
}

/* Three-way merge of a work order's status (a shared field) when the PMS sends `remote`:
 *   the version porter merged before, its own write acknowledged since -> keep local
 *                                   (a stale read, see below);
 *   no local change pending      -> take remote;
 *   pending, remote == base      -> keep local (the PMS has not moved; our push goes out);
 *   pending, remote == local     -> both agree;
 *   pending, remote moved too    -> a conflict row with base, local and remote; the rule
 *                                   picks the winner and the loser is kept in the row.
 *                                   pms_wins also retires the pending op (failed, with
 *                                   the reason), so the PMS's value is not overwritten.
 * same_version: the record carries the PMS update time porter already stored for it.
 * *resolved gets the status to store. */
static int merge_status(struct store *s, int64_t account, int64_t wo, const char *local,
                        int pending, int same_version, const char *remote, const char **resolved,
                        struct err *e)
{
    char owner[8], rule[12];
    int rc;
    field_rule(s, "work_order", "status", owner, rule);
    *resolved = remote;
    if (strcmp(owner, "local") == 0) {
        *resolved = local;
        return 0;
    }
    if (strcmp(owner, "pms") != 0 && same_version && strcmp(remote, local) != 0) {
        /* A stale read: the PMS's record is the very version porter merged before, and the
         * local status is porter's own queue (its latest op targets it) with at least one
         * of its writes acknowledged since: the poller fetched its page before the pusher's
         * write landed and stores it after. The record carries no change made at the PMS;
         * taking it would undo porter's write locally, or, with a change still queued, look
         * like a conflict and retire it. Nothing moves; the next pull brings the PMS's
         * newer version. */
        sqlite3_stmt *q = stmt(s, STMT_WO_OWN_LOCAL, e);
        int64_t stale = 0;
        if (!q)
            return -1;
        sqlite3_bind_int64(q, 1, wo);
        bind_text(q, 2, local);
        if (one_int(s, q, &stale, e, "stale read") < 0)
            return -1;
        if (stale) {
            *resolved = local;
            return 0;
        }
    }
    if (strcmp(owner, "pms") == 0 || !pending || strcmp(remote, local) == 0)
        return set_base(s, wo, "status", remote, e);
    char *base = get_text(s, STMT_BASE_GET, "work_order", wo, "status", e, &rc);
    if (rc != 0)
        return -1;
    if (!base || strcmp(base, remote) == 0) { /* the PMS has not moved: local goes out */
        *resolved = local;
        free(base);
        return 0;
    }
    /* The PMS shows a status porter itself sent and has not recorded an answer for (the
     * answer was lost, or porter stopped between the request and recording it; the poller
     * can also read the task while the pusher's request is on the wire): porter's own write,
     * not a change made at the PMS. The base moves to it and the later queued changes go
     * out; the op is found at the PMS on its next attempt. */
    sqlite3_stmt *q = stmt(s, STMT_WO_OP_IN_DOUBT, e);
    if (!q) {
        free(base);
        return -1;
    }
    sqlite3_bind_int64(q, 1, wo);
    bind_text(q, 2, remote);
    int ours = one_int(s, q, NULL, e, "own write");
    if (ours != 0) {
        free(base);
        if (ours < 0)
            return -1;
        *resolved = local;
        return set_base(s, wo, "status", remote, e);
    }
    int local_wins = strcmp(rule, "local_wins") == 0;
    sqlite3_stmt *st = stmt(s, STMT_CONFLICT_ADD, e);
    rc = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, account);
        sqlite3_bind_int64(st, 2, wo);
        bind_text(st, 3, "status");
        bind_text(st, 4, base);
        bind_text(st, 5, local);
        bind_text(st, 6, remote);
        bind_text(st, 7, local_wins ? "local" : "remote");
        bind_text(st, 8, rule);
        sqlite3_bind_int64(st, 9, now_ms());
        rc = run(s, st, e, "conflict");
    }
    log_warn("store", "work order %lld: status conflict (base %s, porter %s, PMS %s): %s",
             (long long)wo, base, local, remote, local_wins ? "porter wins" : "PMS wins");
    free(base);
    if (rc != 0)
        return -1;
    if (local_wins) {
        *resolved = local;
        return 0;
    }
    char why[200];
    snprintf(why, sizeof(why), "conflict: the PMS set status %s meanwhile (rule pms_wins)", remote);
    if (!(st = stmt(s, STMT_OPS_SUPERSEDE, e)))
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    bind_text(st, 2, why);
    if (run(s, st, e, "supersede") != 0 || wo_synced(s, wo, e) != 0)
        return -1; /* the card shows the PMS's value: synced unless more is queued */
    return set_base(s, wo, "status", remote, e);
}

static int work_order_upsert_tx(struct store *s, int64_t account, const struct rec_work_order *r,
                                int64_t prop, int64_t unit, int64_t stay, int64_t thread,
                                int64_t vendor, int64_t *id, struct err *e)
{
    const char *resolved = wo_status_name(r->status);
    /* The PMS's copy of a work order porter created, pulled before porter recorded the
     * create's answer (a crash, a lost answer): it is porter's own row, matched by account,
     * title and thread among the creates already attempted, not a second work order. */
    sqlite3_stmt *st =
        prep(s,
             "UPDATE work_order SET remote_id = ?2 WHERE id = (SELECT w.id FROM work_order w"
             "   JOIN outbox o ON o.entity = 'work_order' AND o.entity_id = w.id"
             "   AND o.op = 'wo_create' AND o.attempts > 0 AND o.state IN ('pending', 'inflight')"
             "   WHERE w.account_id = ?1 AND w.remote_id IS NULL AND w.title = ?3"
             "   AND (?4 = 0 OR w.thread_id = ?4) ORDER BY w.id LIMIT 1)"
             " AND NOT EXISTS (SELECT 1 FROM work_order x WHERE x.account_id = ?1"
             "   AND x.remote_id = ?2)",
             e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    bind_text(st, 3, r->title ? r->title : "");
    sqlite3_bind_int64(st, 4, thread);
    int adopt = sqlite3_step(st);
    sqlite3_finalize(st);
    if (adopt != SQLITE_DONE)
        return db_err(s, e, adopt, "work order echo");
    st = stmt(s, STMT_WO_LOCAL_STATUS, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    int64_t wo = 0, stored_updated = 0;
    char *local = NULL;
    int pending = 0;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        wo = sqlite3_column_int64(st, 0);
        local = col_text0(st, 1);
        pending = sqlite3_column_int(st, 2);
        stored_updated = sqlite3_column_int64(st, 3);
    }
    done(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return db_err(s, e, step, "work order");
    int merge = wo && r->remote_updated_at >= stored_updated && !r->status_unknown;
    if (r->status_unknown)
        resolved = wo ? local : wo_status_name(WO_NEW);
    int same_version = stored_updated > 0 && r->remote_updated_at == stored_updated;
    if (merge && merge_status(s, account, wo, local, pending, same_version,
                              wo_status_name(r->status), &resolved, e) != 0) {
        free(local);
        return -1;
    }
    if (merge && strcmp(resolved, local) != 0 &&
        (st = stmt(s, STMT_WO_EVENT_PMS, e))) { /* history: the PMS moved it */
        sqlite3_bind_int64(st, 1, wo);
        sqlite3_bind_int64(st, 2, now_ms());
        bind_text(st, 3, local);
        bind_text(st, 4, resolved);
        if (run(s, st, e, "work-order history") != 0) {
            free(local);
            return -1;
        }
    }
    st = stmt(s, STMT_WO_UPSERT, e);
    if (!st) {
        free(local);
        return -1;
    }
    int64_t now = now_ms();
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, r->remote_id);
    bind_text(st, 3, r->title);
    bind_text(st, 4, r->description);
    bind_text(st, 5, resolved);
    bind_text(st, 6, r->remote_status);
    bind_text(st, 7, priority_name(r->priority));
    bind_text(st, 8, r->trade);
    bind_id(st, 9, prop);
    bind_id(st, 10, unit);
    bind_id(st, 11, stay);
    bind_id(st, 12, thread);
    bind_id(st, 13, vendor);
    bind_id(st, 14, r->schedule_start);
    bind_id(st, 15, r->schedule_end);
    bind_text(st, 16, r->due_date);
    sqlite3_bind_int64(st, 17, r->created_at ? r->created_at : now);
    sqlite3_bind_int64(st, 18, now);
    sqlite3_bind_int64(st, 19, r->remote_updated_at);
    free(local);
    int64_t got = 0;
    int rc = upsert_finish(s, st, STMT_WO_ID, account, r->remote_id, &got, e);
    if (id)
        *id = got;
    if (rc == STORE_WRITTEN && !wo) /* a new row: its first value is agreed */
        rc = set_base(s, got, "status", resolved, e) == 0 ? rc : -1;
    return rc;
}

/* ---- inbox ---- */

/* A sort: its key columns before t.id (the order is total), all in one direction, and the
 * parameters a page_key binds to them. */
struct sort_def {
    const char *col[2]; /* NULL-terminated */
    const char *vals;
    int desc;
};

static const struct sort_def sorts[] = {
    [THREAD_SORT_NEWEST] = {{"t.last_message_at", NULL}, "?4, ?5", 1},
    /* needs_reply = 1 implies last_inbound_at IS NOT NULL (thread_touch, migration 3) */
    [THREAD_SORT_WAITING] = {{"t.last_inbound_at", NULL}, "?4, ?5", 0},
    [THREAD_SORT_INBOX] = {{"t.needs_reply", "t.last_message_at"}, "?7, ?4, ?5", 1},
};

/* "a, b, t.id" or, with `names`, "a AS k0, b AS k1, t.id AS kid" */
static void sort_cols(struct buf *b, const struct sort_def *sd, int names)
{
    for (int i = 0; i < 2 && sd->col[i]; i++)
        buf_printf(b, names ? "%s AS k%d, " : "%s, ", sd->col[i], i);
    buf_puts(b, names ? "t.id AS kid" : "t.id");
}

/* ORDER BY terms, forwards or backwards; `names`: the aliases of sort_cols. */
static void sort_order(struct buf *b, const struct sort_def *sd, int reverse, int names)
{
    const char *dir = sd->desc != reverse ? " DESC" : "";
    for (int i = 0; i < 2 && sd->col[i]; i++) {
        if (names)
            buf_printf(b, "k%d%s, ", i, dir);
        else
            buf_printf(b, "%s%s, ", sd->col[i], dir);
    }
    buf_printf(b, "%s%s", names ? "kid" : "t.id", dir);
}

/* The conditions of a shape other than done, each " AND ...". */
static void thread_conds(struct buf *b, unsigned shape)
{
    const struct sort_def *sd = &sorts[shape >> TQ_SORT_SHIFT];
    /* Index choice (a unary + keeps a column from being used to pick an index): the inbox
     * order reads thread_inbox_nr, which covers account and assignee, rather than an index
     * on those that would need a sort. */
    const char *cov = (shape >> TQ_SORT_SHIFT) == THREAD_SORT_INBOX ? "+" : "";
    if (shape & TQ_ACCOUNT)
        buf_printf(b, " AND %st.account_id = ?1", cov);
    if (shape & TQ_NEEDS_REPLY)
        buf_puts(b, " AND t.needs_reply = 1");
    if (shape & TQ_ASSIGNEE)
        buf_printf(b, " AND %st.assignee = ?2", cov);
    if (shape & TQ_UNASSIGNED)
        buf_printf(b, " AND %st.assignee IS NULL", cov);
    if (shape & TQ_TAG)
        buf_puts(b, " AND instr(t.tags, ',' || lower(?3) || ',') > 0");
    if (shape & TQ_UNREAD)
        buf_puts(b, " AND t.unread > 0");
    if (shape & TQ_CHANNEL)
        buf_puts(b, " AND t.channel = ?8");
    if (shape & TQ_PROPERTY)
        buf_puts(b, " AND t.property_id = ?9");
    if (shape & TQ_CHECKIN)
        buf_puts(b, " AND t.stay_id IN (SELECT st.id FROM stay st WHERE st.arrival = ?10)");
    if (shape & TQ_SEARCH)
        buf_puts(b, " AND t.id IN (SELECT m.thread_id FROM message m WHERE m.id IN"
                    " (SELECT rowid FROM message_fts WHERE message_fts MATCH ?11))");
    if (!(shape & TQ_SNOOZED))
        buf_puts(b, " AND (t.snoozed_until IS NULL OR t.snoozed_until <= ?12)");
    if (shape & (TQ_AFTER | TQ_BEFORE)) {
        int after = (shape & TQ_AFTER) != 0;
        buf_puts(b, " AND (");
        sort_cols(b, sd, 0);
        buf_printf(b, ") %s (%s)", after == sd->desc ? "<" : ">", sd->vals);
    }
}

/* Build the SQL of a shape. Parameters are numbered by meaning, so every shape binds the same
 * way: ?1 account ?2 assignee ?3 tag ?4 key.at ?5 key.id ?6 limit ?7 key.nr ?8 channel
 * ?9 property ?10 checkin_on ?11 FTS query ?12 now.
 *
 * A page is an inner query that walks an index in the sort order and yields at most `limit`
 * ids, and an outer one that decorates only those rows. Every order index starts with done:
 * with include_done the inner query merges the done = 0 and done = 1 halves (a compound
 * SELECT that SQLite runs as a merge of two ordered index scans) instead of sorting. A
 * check-in day is selective: its threads are found from stay_arrival and thread_stay, then
 * sorted (+t.done keeps the order index from being picked). */
static char *thread_sql(unsigned shape)
{
    const struct sort_def *sd = &sorts[shape >> TQ_SORT_SHIFT];
    int reverse = (shape & TQ_REVERSE) != 0;
    struct buf b;
    buf_init(&b);
    if (shape & TQ_COUNT) {
        /* a count (or rank) reads the covering thread_inbox_nr, whatever the sort, unless
         * a selective property or check-in day has an index of its own */
        if (shape & TQ_CHECKIN)
            buf_puts(&b, shape & TQ_DONE ? "SELECT count(*) FROM thread t WHERE 1"
                                         : "SELECT count(*) FROM thread t WHERE +t.done = 0");
        else /* IN: an equality on done for the index, also with include_done */
            buf_printf(&b, "SELECT count(*) FROM thread t%s WHERE %s",
                       shape & TQ_PROPERTY ? "" : " INDEXED BY thread_inbox_nr",
                       shape & TQ_DONE ? "t.done IN (0, 1)" : "t.done = 0");
        thread_conds(&b, shape);
        return buf_steal(&b);
    }
    buf_puts(&b, "SELECT " THREAD_COLS " FROM (");
    if ((shape & TQ_DONE) && !(shape & TQ_CHECKIN)) {
        for (int d = 0; d < 2; d++) {
            buf_puts(&b, d ? " UNION ALL SELECT " : "SELECT ");
            sort_cols(&b, sd, 1);
            buf_printf(&b, " FROM thread t WHERE t.done = %d", d);
            thread_conds(&b, shape);
        }
        buf_puts(&b, " ORDER BY ");
        sort_order(&b, sd, reverse, 1);
    } else {
        buf_puts(&b, "SELECT t.id AS kid FROM thread t WHERE ");
        if (shape & TQ_CHECKIN)
            buf_puts(&b, shape & TQ_DONE ? "1" : "+t.done = 0");
        else
            buf_puts(&b, "t.done = 0");
        thread_conds(&b, shape);
        buf_puts(&b, " ORDER BY ");
        sort_order(&b, sd, reverse, 0);
    }
    buf_puts(&b, " LIMIT ?6) k JOIN thread t ON t.id = k.kid" THREAD_JOINS " ORDER BY ");
    sort_order(&b, sd, 0, 0);
    return buf_steal(&b);
}

static sqlite3_stmt *thread_query(struct store *s, unsigned shape, struct err *e)
{
    struct tq_slot *victim = &s->tq[0];
    for (size_t i = 0; i < TQ_CACHE; i++) {
        struct tq_slot *q = &s->tq[i];
        if (q->st && q->shape == shape) {
            q->used = ++s->tq_clock;
            return q->st;
        }
        if (victim->st && (!q->st || q->used < victim->used))
            victim = q;
    }
    sqlite3_finalize(victim->st);
    victim->st = NULL;
    char *sql = thread_sql(shape);
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &victim->st, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        victim->st = NULL;
        db_err(s, e, rc, "prepare thread list");
        return NULL;
    }
    victim->shape = shape;
    victim->used = ++s->tq_clock;
    return victim->st;
}

static char *fts_query(const char *q);

/* One thread-list query: its shape and the values to bind. */
struct tq {
    unsigned shape;
    const struct thread_filter *f; /* borrowed, may be NULL */
    char *fts;                     /* owned: the FTS form of f->search */
    int64_t now;
};

static int tq_init(struct tq *q, const struct thread_filter *f, enum thread_sort sort,
                   struct err *e)
{
    memset(q, 0, sizeof(*q));
    if ((unsigned)sort > THREAD_SORT_INBOX)
        return err_set(e, STORE_EINVAL, FINAL, "unknown thread sort %d", (int)sort);
    q->f = f;
    q->shape = (unsigned)sort << TQ_SORT_SHIFT;
    q->shape |= sort == THREAD_SORT_WAITING ? TQ_NEEDS_REPLY : 0u;
    q->now = f && f->now ? f->now : now_ms();
    if (!f)
        return 0;
    q->shape |= f->account ? TQ_ACCOUNT : 0u;
    q->shape |= f->needs_reply ? TQ_NEEDS_REPLY : 0u;
    q->shape |= f->include_done ? TQ_DONE : 0u;
    q->shape |= f->assignee ? TQ_ASSIGNEE : 0u;
    q->shape |= f->tag ? TQ_TAG : 0u;
    q->shape |= f->unread ? TQ_UNREAD : 0u;
    q->shape |= f->unassigned ? TQ_UNASSIGNED : 0u;
    q->shape |= f->channel && *f->channel ? TQ_CHANNEL : 0u;
    q->shape |= f->property ? TQ_PROPERTY : 0u;
    q->shape |= f->checkin_on && *f->checkin_on ? TQ_CHECKIN : 0u;
    q->shape |= f->include_snoozed ? TQ_SNOOZED : 0u;
    if (f->search && (q->fts = fts_query(f->search)))
        q->shape |= TQ_SEARCH;
    return 0;
}

static void tq_bind(sqlite3_stmt *st, const struct tq *q, const struct page_key *key, size_t limit)
{
    const struct thread_filter *f = q->f;
    if (q->shape & TQ_ACCOUNT)
        sqlite3_bind_int64(st, 1, f->account);
    if (q->shape & TQ_ASSIGNEE)
        bind_text(st, 2, f->assignee);
    if (q->shape & TQ_TAG)
        bind_text(st, 3, f->tag);
    if (key) {
        sqlite3_bind_int64(st, 4, key->at);
        sqlite3_bind_int64(st, 5, key->id);
        if ((q->shape >> TQ_SORT_SHIFT) == THREAD_SORT_INBOX)
            sqlite3_bind_int(st, 7, key->nr ? 1 : 0);
    }
    if (!(q->shape & TQ_COUNT))
        sqlite3_bind_int64(st, 6, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    if (q->shape & TQ_CHANNEL)
        bind_text(st, 8, f->channel);
    if (q->shape & TQ_PROPERTY)
        sqlite3_bind_int64(st, 9, f->property);
    if (q->shape & TQ_CHECKIN)
        bind_text(st, 10, f->checkin_on);
    if (q->shape & TQ_SEARCH)
        bind_text(st, 11, q->fts);
    if (!(q->shape & TQ_SNOOZED))
        sqlite3_bind_int64(st, 12, q->now);
}

/* The first word of a name ("" when none), owned. */
static char *first_word(const char *name)
{
    const char *p = name ? name : "";
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    size_t n = strcspn(p, " \t\r\n");
    return xstrndup(p, n);
}

/* Read THREAD_COLS into *r; its key is the key of `sort`. */
static void thread_row_read(sqlite3_stmt *st, enum thread_sort sort, struct thread_row *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->account = sqlite3_column_int64(st, 1);
    r->account_name = col_text0(st, 2);
    r->remote_id = col_text0(st, 3);
    r->subject = col_text0(st, 4);
    r->contact = col_text0(st, 5);
    r->property = col_text0(st, 6);
    r->unit = col_text0(st, 7);
    r->channel = col_text0(st, 8);
    r->preview = col_text0(st, 9);
    r->assignee = col_text(st, 10);
    r->tags = col_text0(st, 11);
    r->last_message_at = sqlite3_column_int64(st, 12);
    r->last_inbound_at = sqlite3_column_int64(st, 13);
    r->needs_reply = sqlite3_column_int(st, 14);
    r->unread = sqlite3_column_int(st, 15);
    r->done = sqlite3_column_int(st, 16);
    r->message_count = sqlite3_column_int(st, 17);
    r->pending = sqlite3_column_int(st, 18);
    r->failed = sqlite3_column_int(st, 19);
    r->snoozed_until = sqlite3_column_int64(st, 20);
    r->sla_since = sqlite3_column_int64(st, 21);
    r->property_id = sqlite3_column_int64(st, 22);
    r->contact_first = first_word(r->contact);
    r->key.at = sort == THREAD_SORT_WAITING ? r->last_inbound_at : r->last_message_at;
    r->key.id = r->id;
    r->key.nr = r->needs_reply;
}

static void thread_row_free(struct thread_row *r)
{
    free(r->account_name);
    free(r->remote_id);
    free(r->subject);
    free(r->contact);
    free(r->property);
    free(r->unit);
    free(r->channel);
    free(r->preview);
    free(r->assignee);
    free(r->tags);
    free(r->contact_first);
    memset(r, 0, sizeof(*r));
}

/* A page of rows: `dir` is TQ_AFTER or TQ_BEFORE | TQ_REVERSE (the key bit is dropped when
 * key is NULL). */
static int threads_page(struct store *s, const struct thread_filter *f, enum thread_sort sort,
                        unsigned dir, const struct page_key *key, size_t limit,
                        struct thread_page *out, struct err *e)
{
    out->rows = NULL;
    out->n = 0;
    struct tq q;
    if (tq_init(&q, f, sort, e) != 0)
        return -1;
    if (!key)
        dir &= ~(unsigned)(TQ_AFTER | TQ_BEFORE);
    q.shape |= dir;
    sqlite3_stmt *st = limit ? thread_query(s, q.shape, e) : NULL;
    if (!st) {
        free(q.fts);
        return limit ? -1 : 0;
    }
    tq_bind(st, &q, key, limit);
    free(q.fts);
    out->rows = xcalloc(limit, sizeof(*out->rows));
    int rc = SQLITE_DONE;
    while (out->n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        thread_row_read(st, sort, &out->rows[out->n++]);
    if (out->n == limit)
        rc = SQLITE_DONE;
    done(st);
    if (rc != SQLITE_DONE) {
        thread_page_free(out);
        return db_err(s, e, rc, "thread list");
    }
    return 0;
}

int store_threads_page(struct store *s, const struct thread_filter *f, enum thread_sort sort,
                       const struct page_key *after, size_t limit, struct thread_page *out,
                       struct err *e)
{
    return threads_page(s, f, sort, TQ_AFTER, after, limit, out, e);
}

int store_threads_page_before(struct store *s, const struct thread_filter *f, enum thread_sort sort,
                              const struct page_key *before, size_t limit, struct thread_page *out,
                              struct err *e)
{
    return threads_page(s, f, sort, TQ_BEFORE | TQ_REVERSE, before, limit, out, e);
}

static int threads_count(struct store *s, const struct thread_filter *f, enum thread_sort sort,
                         const struct page_key *before, int64_t *count, struct err *e)
{
    struct tq q;
    *count = 0;
    if (tq_init(&q, f, sort, e) != 0)
        return -1;
    q.shape |= TQ_COUNT | (before ? TQ_BEFORE : 0u);
    sqlite3_stmt *st = thread_query(s, q.shape, e);
    if (st)
        tq_bind(st, &q, before, 0);
    free(q.fts);
    if (!st)
        return -1;
    return one_int(s, st, count, e, "thread count") < 0 ? -1 : 0;
}

int store_threads_rank(struct store *s, const struct thread_filter *f, enum thread_sort sort,
                       const struct page_key *key, int64_t *rank, struct err *e)
{
    if (!key) {
        *rank = 0;
        return err_set(e, STORE_EINVAL, FINAL, "thread rank without a key");
    }
    return threads_count(s, f, sort, key, rank, e);
}

int store_threads_count(struct store *s, const struct thread_filter *f, int64_t *count,
                        struct err *e)
{
    return threads_count(s, f, THREAD_SORT_NEWEST, NULL, count, e);
}

void thread_page_free(struct thread_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        thread_row_free(&p->rows[i]);
    free(p->rows);
    p->rows = NULL;
    p->n = 0;
}

/* ---- one thread ---- */

static int thread_detail_tx(struct store *s, int64_t thread, const char *me, int64_t now,
                            struct thread_detail *out, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_THREAD_GET, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, thread);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        thread_row_read(st, THREAD_SORT_INBOX, &out->t);
    done(st);
    if (rc == SQLITE_DONE)
        return err_set(e, STORE_ENOTFOUND, FINAL, "no thread %lld", (long long)thread);
    if (rc != SQLITE_ROW)
        return db_err(s, e, rc, "thread");
    if (!(st = stmt(s, STMT_THREAD_DETAIL, e)))
        return -1;
    sqlite3_bind_int64(st, 1, thread);
    bind_text(st, 2, me);
    sqlite3_bind_int64(st, 3, now - STORE_PRESENCE_TTL_MS);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->guest_name = col_text0(st, 0);
        out->guest_email = col_text0(st, 1);
        out->guest_phone = col_text0(st, 2);
        out->stay = sqlite3_column_int64(st, 3);
        out->stay_status = col_text0(st, 4);
        out->arrival = col_text0(st, 5);
        out->departure = col_text0(st, 6);
        out->door_code = col_text0(st, 7);
        out->confirmation = col_text0(st, 8);
        out->guests = sqlite3_column_int(st, 9);
        out->property_name = col_text0(st, 10);
        out->unit_name = col_text0(st, 11);
        out->presence = col_text0(st, 12);
        out->last_seen_inbound = sqlite3_column_int64(st, 13);
        out->guest_first = first_word(out->guest_name);
    }
    done(st);
    if (rc == SQLITE_DONE) /* deleted between the two reads */
        return err_set(e, STORE_ENOTFOUND, FINAL, "no thread %lld", (long long)thread);
    return rc == SQLITE_ROW ? 0 : db_err(s, e, rc, "thread detail");
}

int store_thread_get(struct store *s, int64_t thread, const char *me, int64_t now,
                     struct thread_detail *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    /* both reads see one snapshot */
    int own = sqlite3_get_autocommit(s->db);
    if (own && exec(s, "BEGIN", e) != 0)
        return -1;
    int rc = thread_detail_tx(s, thread, me, now ? now : now_ms(), out, e);
    if (own && exec(s, "COMMIT", NULL) != 0)
        store_rollback(s);
    if (rc != 0)
        thread_detail_free(out);
    return rc;
}

void thread_detail_free(struct thread_detail *d)
{
    thread_row_free(&d->t);
    char **owned[] = {&d->guest_name,   &d->guest_first,   &d->guest_email, &d->guest_phone,
                      &d->stay_status,  &d->arrival,       &d->departure,   &d->door_code,
                      &d->confirmation, &d->property_name, &d->unit_name,   &d->presence};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        free(*owned[i]);
    memset(d, 0, sizeof(*d));
}

/* ---- local triage ---- */

/* Run a triage UPDATE ... RETURNING id on `thread` in a short transaction: 0, or -1 with
 * STORE_ENOTFOUND when there is no such thread. st is bound except for ?1. */
static int triage(struct store *s, sqlite3_stmt *st, int64_t thread, const char *what,
                  struct err *e)
{
    if (tx_enter(s, e) != 0) {
        done(st);
        return -1;
    }
    sqlite3_bind_int64(st, 1, thread);
    int f = one_int(s, st, NULL, e, what);
    if (f == 0)
        f = err_set(e, STORE_ENOTFOUND, FINAL, "%s: no thread %lld", what, (long long)thread);
    return tx_leave(s, f > 0, f > 0 ? 0 : -1, e);
}

int store_thread_assign(struct store *s, int64_t thread, const char *who, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_THREAD_ASSIGN, e);
    if (!st)
        return -1;
    bind_text(st, 2, who && *who ? who : NULL);
    return triage(s, st, thread, "assign", e);
}

int store_thread_snooze(struct store *s, int64_t thread, int64_t until, struct err *e)
{
    if (until < 0)
        return err_set(e, STORE_EINVAL, FINAL, "snooze: bad time %lld", (long long)until);
    sqlite3_stmt *st = stmt(s, STMT_THREAD_SNOOZE, e);
    if (!st)
        return -1;
    bind_id(st, 2, until);
    return triage(s, st, thread, "snooze", e);
}

int store_thread_tag(struct store *s, int64_t thread, const char *tag, int add, struct err *e)
{
    char low[33];
    size_t n = tag ? strlen(tag) : 0;
    if (n < 1 || n > 32)
        return err_set(e, STORE_EINVAL, FINAL,
                       "tag: must be 1 to 32 characters of A-Z a-z 0-9 _ -");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tag[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-'))
            return err_set(e, STORE_EINVAL, FINAL,
                           "tag: '%c' is not allowed (only A-Z a-z 0-9 _ -)",
                           c >= 0x20 && c < 0x7f ? c : '?');
        low[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    low[n] = '\0';
    sqlite3_stmt *st = stmt(s, add ? STMT_THREAD_TAG_ADD : STMT_THREAD_TAG_DEL, e);
    if (!st)
        return -1;
    bind_text(st, 2, low);
    return triage(s, st, thread, add ? "tag" : "untag", e);
}

int store_thread_done(struct store *s, int64_t thread, int is_done, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_THREAD_DONE, e);
    if (!st)
        return -1;
    sqlite3_bind_int(st, 2, is_done ? 1 : 0);
    return triage(s, st, thread, "done", e);
}

int store_thread_read(struct store *s, int64_t thread, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_THREAD_READ, e);
    if (!st)
        return -1;
    return triage(s, st, thread, "read", e);
}

/* ---- failed replies ---- */

/* The send state and thread of a message that must have failed to send. */
static int failed_message(struct store *s, int64_t msg, int64_t *thread, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_MESSAGE_STATE, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, msg);
    char state[16] = "";
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(state, sizeof(state), "%s", (const char *)sqlite3_column_text(st, 0));
        *thread = sqlite3_column_int64(st, 1);
    }
    done(st);
    if (rc == SQLITE_DONE)
        return err_set(e, STORE_ENOTFOUND, FINAL, "no message %lld", (long long)msg);
    if (rc != SQLITE_ROW)
        return db_err(s, e, rc, "message");
    if (strcmp(state, "failed") != 0 && strcmp(state, "dead") != 0)
        return err_set(e, STORE_EINVAL, FINAL, "message %lld has not failed (it is %s)",
                       (long long)msg, state);
    return 0;
}

static int message_retry_tx(struct store *s, int64_t msg, struct err *e)
{
    int64_t thread = 0;
    if (failed_message(s, msg, &thread, e) != 0)
        return -1;
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_REQUEUE, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, msg);
    int f = one_int(s, st, NULL, e, "outbox requeue");
    if (f <= 0)
        return f < 0 ? -1
                     : err_set(e, STORE_EINVAL, FINAL, "message %lld has no failed outbox op",
                               (long long)msg);
    if (!(st = stmt(s, STMT_MESSAGE_REQUEUE, e)))
        return -1;
    sqlite3_bind_int64(st, 1, msg);
    return run(s, st, e, "message requeue");
}

int store_message_retry(struct store *s, int64_t msg, struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = message_retry_tx(s, msg, e);
    return tx_leave(s, rc == 0, rc, e);
}

static int message_discard_tx(struct store *s, int64_t msg, struct err *e)
{
    int64_t thread = 0;
    if (failed_message(s, msg, &thread, e) != 0)
        return -1;
    const enum stmt_id steps[] = {STMT_OUTBOX_DISCARD, STMT_MESSAGE_DELETE, STMT_THREAD_REDERIVE,
                                  STMT_THREAD_REDERIVE_SLA};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        sqlite3_stmt *st = stmt(s, steps[i], e);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, i < 2 ? msg : thread);
        if (run(s, st, e, "discard") != 0)
            return -1;
    }
    return 0;
}

int store_message_discard(struct store *s, int64_t msg, struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = message_discard_tx(s, msg, e);
    return tx_leave(s, rc == 0, rc, e);
}

/* ---- presence ---- */

#define PRESENCE_PURGE_MS (10 * 60 * 1000)

static int presence_touch_tx(struct store *s, int64_t thread, const char *who, int64_t now,
                             struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_PRESENCE_TOUCH, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, thread);
    bind_text(st, 2, who);
    sqlite3_bind_int64(st, 3, now);
    int f = one_int(s, st, NULL, e, "presence");
    if (f <= 0)
        return f < 0 ? -1
                     : err_set(e, STORE_ENOTFOUND, FINAL, "presence: no thread %lld",
                               (long long)thread);
    if (!(st = stmt(s, STMT_PRESENCE_OTHERS, e)))
        return -1;
    sqlite3_bind_int64(st, 1, thread);
    bind_text(st, 2, who);
    if (run(s, st, e, "presence") != 0 || !(st = stmt(s, STMT_PRESENCE_PURGE, e)))
        return -1;
    sqlite3_bind_int64(st, 1, now - PRESENCE_PURGE_MS);
    return run(s, st, e, "presence purge");
}

int store_presence_touch(struct store *s, int64_t thread, const char *who, int64_t now,
                         struct err *e)
{
    if (!who || !*who)
        return err_set(e, STORE_EINVAL, FINAL, "presence without a name");
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = presence_touch_tx(s, thread, who, now ? now : now_ms(), e);
    return tx_leave(s, rc == 0, rc, e);
}

int store_presence_leave(struct store *s, const char *who, struct err *e)
{
    if (!who || !*who)
        return err_set(e, STORE_EINVAL, FINAL, "presence without a name");
    sqlite3_stmt *st = stmt(s, STMT_PRESENCE_LEAVE, e);
    if (!st || tx_enter(s, e) != 0)
        return -1;
    bind_text(st, 1, who);
    int rc = run(s, st, e, "presence leave");
    return tx_leave(s, rc == 0, rc, e);
}

int store_messages(struct store *s, int64_t thread, struct message_list *out, struct err *e)
{
    out->rows = NULL;
    out->n = 0;
    sqlite3_stmt *st = stmt(s, STMT_MESSAGES_OF_THREAD, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, thread);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            out->rows = xrealloc(out->rows, cap * sizeof(*out->rows));
        }
        struct message_row *m = &out->rows[out->n++];
        m->id = sqlite3_column_int64(st, 0);
        m->remote_id = col_text(st, 1);
        m->direction = (enum direction)direction_parse((const char *)sqlite3_column_text(st, 2));
        m->channel = col_text0(st, 3);
        m->author = col_text0(st, 4);
        m->body = col_text0(st, 5);
        m->sent_at = sqlite3_column_int64(st, 6);
        m->send_state = (enum send_state)send_state_parse((const char *)sqlite3_column_text(st, 7));
        m->send_error = col_text(st, 8);
        m->idem_key = col_text(st, 9);
    }
    done(st);
    if (rc != SQLITE_DONE) {
        message_list_free(out);
        return db_err(s, e, rc, "messages");
    }
    return 0;
}

void message_list_free(struct message_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->rows[i].remote_id);
        free(l->rows[i].channel);
        free(l->rows[i].author);
        free(l->rows[i].body);
        free(l->rows[i].send_error);
        free(l->rows[i].idem_key);
    }
    free(l->rows);
    l->rows = NULL;
    l->n = 0;
}

/* Turn free text into an FTS5 query: every word becomes a quoted prefix term, so operators,
 * quotes and column filters typed by a user are searched for, never interpreted. */
static char *fts_query(const char *q)
{
    struct buf b;
    buf_init(&b);
    const unsigned char *p = (const unsigned char *)q;
    while (*p) {
        while (*p && (*p == ' ' || *p == '\t' || *p == '\n'))
            p++;
        const unsigned char *w = p;
        int word = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            if ((*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
                *p >= 0x80)
                word = 1;
            p++;
        }
        if (!word)
            continue;
        if (b.len)
            buf_puts(&b, " ");
        buf_puts(&b, "\"");
        for (const unsigned char *c = w; c < p; c++)
            buf_append(&b, *c == '"' ? "\"\"" : (const char *)c, *c == '"' ? 2 : 1);
        buf_puts(&b, "\"*");
    }
    return b.data; /* NULL when there was no word */
}

int store_search(struct store *s, const char *query, size_t limit, struct search_hits *out,
                 struct err *e)
{
    out->rows = NULL;
    out->n = 0;
    char *fq = fts_query(query ? query : "");
    if (!fq)
        return 0;
    sqlite3_stmt *st = stmt(s, STMT_SEARCH, e);
    if (!st) {
        free(fq);
        return -1;
    }
    bind_text(st, 1, fq);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    free(fq);
    out->rows = xcalloc(limit ? limit : 1, sizeof(*out->rows));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n < limit) {
        struct search_hit *h = &out->rows[out->n++];
        h->message = sqlite3_column_int64(st, 0);
        h->thread = sqlite3_column_int64(st, 1);
        h->snippet = col_text0(st, 2);
    }
    done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        search_hits_free(out);
        return db_err(s, e, rc, "search");
    }
    return 0;
}

void search_hits_free(struct search_hits *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->rows[i].snippet);
    free(h->rows);
    h->rows = NULL;
    h->n = 0;
}

/* ---- work orders ---- */

int store_work_orders(struct store *s, int status, size_t limit, struct wo_list *out, struct err *e)
{
    return store_work_orders_filtered(s, status, NULL, limit, out, e);
}

int store_work_orders_filtered(struct store *s, int status, const struct wo_filter *f, size_t limit,
                               struct wo_list *out, struct err *e)
{
    out->rows = NULL;
    out->n = 0;
    int filtered =
        f && status >= 0 && (f->emergency || f->overdue_before || f->text || f->assignee);
    sqlite3_stmt *st = stmt(s,
                            filtered      ? STMT_WO_LIST_FILTERED
                            : status >= 0 ? STMT_WO_LIST_STATUS
                                          : STMT_WO_LIST_ALL,
                            e);
    if (!st)
        return -1;
    if (status >= 0)
        bind_text(st, 1, wo_status_name((enum wo_status)status));
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    char like[300];
    if (filtered) {
        sqlite3_bind_int(st, 3, f->emergency);
        bind_text(st, 4, f->overdue_before);
        if (f->text) { /* a substring, with LIKE's own characters taken literally */
            size_t o = 0;
            like[o++] = '%';
            for (const char *p = f->text; *p && o < sizeof(like) - 3; p++) {
                if (*p == '%' || *p == '_' || *p == '\\')
                    like[o++] = '\\';
                like[o++] = *p;
            }
            like[o++] = '%';
            like[o] = '\0';
            bind_text(st, 5, like);
        }
        bind_text(st, 6, f->assignee);
    }
    out->rows = xcalloc(limit ? limit : 1, sizeof(*out->rows));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n < limit) {
        struct wo_row *w = &out->rows[out->n++];
        w->id = sqlite3_column_int64(st, 0);
        w->account = sqlite3_column_int64(st, 1);
        w->remote_id = col_text(st, 2);
        w->title = col_text0(st, 3);
        w->status = (enum wo_status)wo_status_parse((const char *)sqlite3_column_text(st, 4));
        w->priority = (enum priority)priority_parse((const char *)sqlite3_column_text(st, 5));
        w->trade = col_text0(st, 6);
        w->property = col_text0(st, 7);
        w->unit = col_text0(st, 8);
        w->vendor = col_text0(st, 9);
        w->thread = sqlite3_column_int64(st, 10);
        w->sync_state = col_text0(st, 11);
        w->sync_error = col_text(st, 12);
        w->created_at = sqlite3_column_int64(st, 13);
        w->updated_at = sqlite3_column_int64(st, 14);
        w->assignee = col_text0(st, 15);
        w->schedule_start = sqlite3_column_int64(st, 16);
        w->schedule_end = sqlite3_column_int64(st, 17);
    }
    done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        wo_list_free(out);
        return db_err(s, e, rc, "work orders");
    }
    return 0;
}

void wo_list_free(struct wo_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct wo_row *w = &l->rows[i];
        free(w->remote_id);
        free(w->title);
        free(w->trade);
        free(w->property);
        free(w->unit);
        free(w->vendor);
        free(w->assignee);
        free(w->sync_state);
        free(w->sync_error);
    }
    free(l->rows);
    l->rows = NULL;
    l->n = 0;
}

/* ---- local writes with their outbox op ---- */

/* After a store_queue_* transaction: once it is committed (no caller's transaction still
 * open around it) the op is durable, one of the steps the crash tests stop at
 * (engine_step, PORTER_CRASH_AFTER). Returns rc. */
static int op_queued(struct store *s, int rc)
{
    if (rc == 0 && sqlite3_get_autocommit(s->db))
        engine_step("op queued");
    return rc;
}

/* Queue an op. Its lane orders it: a thread's messages, or one work order's changes. */
static int outbox_add(struct store *s, int64_t account, const char *entity, int64_t entity_id,
                      int64_t lane_thread, const char *op, cJSON *payload, const char *idem_key,
                      struct err *e)
{
    char lane[48];
    if (lane_thread)
        snprintf(lane, sizeof(lane), "thread:%lld", (long long)lane_thread);
    else
        snprintf(lane, sizeof(lane), "%s:%lld", entity, (long long)entity_id);
    char *json = cJSON_PrintUnformatted(payload);
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_ADD, e);
    if (!st) {
        free(json);
        return -1;
    }
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, entity);
    sqlite3_bind_int64(st, 3, entity_id);
    bind_text(st, 4, op);
    bind_text(st, 5, json);
    bind_text(st, 6, idem_key);
    sqlite3_bind_int64(st, 7, now_ms());
    bind_text(st, 8, lane);
    free(json);
    return run(s, st, e, "outbox insert");
}

static int new_idem_key(char out[48], struct err *e)
{
    char hex[33];
    if (random_hex(hex, 16, e) != 0)
        return -1;
    snprintf(out, 48, "porter-%s", hex);
    return 0;
}

/* "rule:NAME": the actor of what an automation does. */
static int actor_is_rule(const char *actor)
{
    return actor && strncmp(actor, "rule:", 5) == 0;
}

static int wo_event(struct store *s, int64_t wo, const char *kind, const char *old_value,
                    const char *new_value, const char *actor, const char *origin, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_WO_EVENT_ADD, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    sqlite3_bind_int64(st, 2, now_ms());
    bind_text(st, 3, kind);
    bind_text(st, 4, old_value);
    bind_text(st, 5, new_value);
    bind_text(st, 6, actor);
    /* what a rule did is the rule's, whichever path it took (docs/automations.md) */
    bind_text(st, 7, strcmp(origin, "porter") == 0 && actor_is_rule(actor) ? "rule" : origin);
    return run(s, st, e, "work-order history");
}

/* The thread's account, remote id and location, for ops that reference it. */
struct thread_ref {
    int64_t account, property, unit, stay;
    char *remote_id;                          /* owned */
    char *property_rid, *unit_rid, *stay_rid; /* owned, may be NULL */
};

static void thread_ref_free(struct thread_ref *t)
{
    free(t->remote_id);
    free(t->property_rid);
    free(t->unit_rid);
    free(t->stay_rid);
}

static int thread_ref(struct store *s, int64_t thread, struct thread_ref *t, struct err *e)
{
    memset(t, 0, sizeof(*t));
    sqlite3_stmt *st = stmt(s, STMT_THREAD_REF, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, thread);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        t->account = sqlite3_column_int64(st, 0);
        t->remote_id = col_text0(st, 1);
        t->property = sqlite3_column_int64(st, 2);
        t->unit = sqlite3_column_int64(st, 3);
        t->stay = sqlite3_column_int64(st, 4);
        t->property_rid = col_text(st, 5);
        t->unit_rid = col_text(st, 6);
        t->stay_rid = col_text(st, 7);
    }
    done(st);
    if (rc == SQLITE_DONE)
        return err_set(e, STORE_ENOTFOUND, FINAL, "no thread %lld", (long long)thread);
    return rc == SQLITE_ROW ? 0 : db_err(s, e, rc, "thread");
}

static int queue_reply_tx(struct store *s, int64_t thread, enum direction dir, enum channel ch,
                          const char *author, const char *body, const char *key, int64_t *msg,
                          struct err *e)
{
    struct thread_ref t;
    if (thread_ref(s, thread, &t, e) != 0)
        return -1;
    int64_t id = 0;
    int rc =
        message_insert(s, t.account, thread, NULL, dir, ch, author, body, now_ms(), SEND_PENDING,
                       key, actor_is_rule(author) ? "rule" : "porter", 0, &id, e);
    if (rc == 0) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "thread", t.remote_id);
        cJSON_AddStringToObject(p, "channel", channel_name(ch));
        cJSON_AddStringToObject(p, "body", body);
        rc = outbox_add(s, t.account, "message", id, thread, dir == DIR_NOTE ? "note" : "reply", p,
                        key, e);
        cJSON_Delete(p);
    }
    thread_ref_free(&t);
    if (rc == 0 && msg)
        *msg = id;
    return rc;
}

int store_queue_reply(struct store *s, int64_t thread, enum direction dir, enum channel ch,
                      const char *author, const char *body, const char *idem_key, int64_t *msg,
                      struct err *e)
{
    char key[48];
    if (dir != DIR_OUT && dir != DIR_NOTE)
        return err_set(e, STORE_EINVAL, FINAL, "a queued message is a reply or a note");
    if (!body || !*body)
        return err_set(e, STORE_EINVAL, FINAL, "empty message");
    if (!idem_key) {
        if (new_idem_key(key, e) != 0)
            return -1;
        idem_key = key;
    }
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = queue_reply_tx(s, thread, dir, ch, author, body, idem_key, msg, e);
    return op_queued(s, tx_leave(s, rc == 0, rc, e));
}

static int queue_wo_status_tx(struct store *s, int64_t wo, enum wo_status status, const char *actor,
                              const char *key, struct err *e)
{
    char owner[8], rule[12];
    field_rule(s, "work_order", "status", owner, rule);
    if (strcmp(owner, "pms") == 0)
        return err_set(e, STORE_EINVAL, FINAL,
                       "work_order.status is owned by the PMS ([ownership] in porter.conf):"
                       " change it there");
    sqlite3_stmt *st = stmt(s, STMT_WO_GET_STATUS, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    int rc = sqlite3_step(st);
    int64_t account = 0;
    char *old = NULL, *remote = NULL;
    if (rc == SQLITE_ROW) {
        account = sqlite3_column_int64(st, 0);
        old = col_text0(st, 1);
        remote = col_text(st, 2);
    }
    done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE
                   ? err_set(e, STORE_ENOTFOUND, FINAL, "no work order %lld", (long long)wo)
                   : db_err(s, e, rc, "work order");
    rc = -1;
    if ((st = stmt(s, STMT_WO_SET_STATUS, e))) {
        sqlite3_bind_int64(st, 1, wo);
        bind_text(st, 2, wo_status_name(status));
        sqlite3_bind_int64(st, 3, now_ms());
        rc = run(s, st, e, "work order status");
    }
    if (rc == 0)
        rc = wo_event(s, wo, "status", old, wo_status_name(status), actor, "porter", e);
    if (rc == 0 && strcmp(owner, "local") == 0) { /* porter's own field: never pushed */
        free(old);
        free(remote);
        return wo_synced(s, wo, e);
    }
    if (rc == 0) {
        cJSON *p = cJSON_CreateObject();
        if (remote)
            cJSON_AddStringToObject(p, "remote_id", remote);
        cJSON_AddStringToObject(p, "from", old);
        cJSON_AddStringToObject(p, "status", wo_status_name(status));
        rc = outbox_add(s, account, "work_order", wo, 0, "wo_status", p, key, e);
        cJSON_Delete(p);
    }
    free(old);
    free(remote);
    return rc;
}

int store_queue_wo_status(struct store *s, int64_t wo, enum wo_status status, const char *actor,
                          struct err *e)
{
    char key[48];
    if (wo_status_parse(wo_status_name(status)) < 0)
        return err_set(e, STORE_EINVAL, FINAL, "bad work-order status %d", status);
    if (new_idem_key(key, e) != 0 || tx_enter(s, e) != 0)
        return -1;
    int rc = queue_wo_status_tx(s, wo, status, actor, key, e);
    return op_queued(s, tx_leave(s, rc == 0, rc, e));
}

static int queue_wo_create_tx(struct store *s, int64_t account, const char *title,
                              const char *description, enum priority prio, int64_t thread,
                              const char *actor, const char *key, int64_t *wo, struct err *e)
{
    struct thread_ref t;
    memset(&t, 0, sizeof(t));
    if (thread && thread_ref(s, thread, &t, e) != 0)
        return -1;
    if (thread && t.account != account) {
        thread_ref_free(&t);
        return err_set(e, STORE_EINVAL, FINAL, "thread %lld belongs to another account",
                       (long long)thread);
    }
    int rc = -1;
    sqlite3_stmt *st = stmt(s, STMT_WO_INSERT_LOCAL, e);
    int64_t id = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, account);
        bind_text(st, 2, title);
        bind_text(st, 3, description);
        bind_text(st, 4, priority_name(prio));
        bind_id(st, 5, t.property);
        bind_id(st, 6, t.unit);
        bind_id(st, 7, t.stay);
        bind_id(st, 8, thread);
        sqlite3_bind_int64(st, 9, now_ms());
        rc = run(s, st, e, "work order insert");
        id = sqlite3_last_insert_rowid(s->db);
    }
    if (rc == 0)
        rc = wo_event(s, id, "created", NULL, "new", actor, "porter", e);
    if (rc == 0) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "title", title);
        cJSON_AddStringToObject(p, "description", description ? description : "");
        cJSON_AddStringToObject(p, "priority", priority_name(prio));
        const char *refs[][2] = {{"thread", t.remote_id},
                                 {"property", t.property_rid},
                                 {"unit", t.unit_rid},
                                 {"stay", t.stay_rid}};
        for (size_t i = 0; i < ARRAY_LEN(refs); i++)
            if (refs[i][1])
                cJSON_AddStringToObject(p, refs[i][0], refs[i][1]);
        rc = outbox_add(s, account, "work_order", id, 0, "wo_create", p, key, e);
        cJSON_Delete(p);
    }
    thread_ref_free(&t);
    if (rc == 0 && wo)
        *wo = id;
    return rc;
}

int store_queue_wo_create(struct store *s, int64_t account, const char *title,
                          const char *description, enum priority prio, int64_t thread,
                          const char *actor, int64_t *wo, struct err *e)
{
    char key[48];
    if (!title || !*title)
        return err_set(e, STORE_EINVAL, FINAL, "a work order needs a title");
    if (priority_parse(priority_name(prio)) < 0)
        return err_set(e, STORE_EINVAL, FINAL, "bad priority %d", prio);
    if (new_idem_key(key, e) != 0 || tx_enter(s, e) != 0)
        return -1;
    int rc = queue_wo_create_tx(s, account, title, description, prio, thread, actor, key, wo, e);
    return op_queued(s, tx_leave(s, rc == 0, rc, e));
}

int store_outbox_count(struct store *s, int64_t account, const char *state, int64_t *n,
                       struct err *e)
{
    sqlite3_stmt *st = stmt(s, account ? STMT_OUTBOX_COUNT_ACCOUNT : STMT_OUTBOX_COUNT_ALL, e);
    if (!st)
        return -1;
    bind_text(st, 1, state);
    if (account)
        sqlite3_bind_int64(st, 2, account);
    *n = 0;
    return one_int(s, st, n, e, "outbox count") < 0 ? -1 : 0;
}

/* ---- inbound events ---- */

int store_inbound_put(struct store *s, int64_t account, const char *event_id, const char *kind,
                      const char *body, struct err *e)
{
    if (!event_id || !*event_id || !body)
        return err_set(e, STORE_EINVAL, FINAL, "inbound event without id or body");
    sqlite3_stmt *st = stmt(s, STMT_INBOUND_PUT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, event_id);
    bind_text(st, 3, kind);
    bind_text(st, 4, body);
    sqlite3_bind_int64(st, 5, now_ms());
    if (run(s, st, e, "inbound event") != 0)
        return -1;
    return sqlite3_changes(s->db) ? 0 : 1;
}

/* ---- sync engine: outbox ---- */

int store_outbox_claim(struct store *s, int64_t account, int64_t now, size_t limit,
                       struct outbox_batch *out, struct err *e)
{
    out->rows = NULL;
    out->n = 0;
    if (tx_enter(s, e) != 0)
        return -1;
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_CLAIM, e);
    int rc = st ? SQLITE_OK : SQLITE_ERROR;
    if (st) {
        sqlite3_bind_int64(st, 1, account);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int64(st, 3, (int64_t)limit);
        out->rows = xcalloc(limit ? limit : 1, sizeof(*out->rows));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n < limit) {
            struct outbox_row *r = &out->rows[out->n++];
            r->id = sqlite3_column_int64(st, 0);
            r->account = sqlite3_column_int64(st, 1);
            r->entity = col_text0(st, 2);
            r->entity_id = sqlite3_column_int64(st, 3);
            r->op = col_text0(st, 4);
            r->payload = col_text0(st, 5);
            r->idem_key = col_text0(st, 6);
            r->remote_id = col_text(st, 7);
            r->attempts = sqlite3_column_int(st, 8);
            r->created_at = sqlite3_column_int64(st, 9);
        }
        done(st);
    }
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    if (!ok && st)
        db_err(s, e, rc, "outbox claim");
    for (size_t i = 0; ok && i < out->n; i++) {
        if (!(st = stmt(s, STMT_OUTBOX_INFLIGHT, e))) {
            ok = 0;
            break;
        }
        sqlite3_bind_int64(st, 1, out->rows[i].id);
        ok = run(s, st, e, "outbox claim") == 0;
    }
    if (!ok)
        outbox_batch_free(out);
    return tx_leave(s, ok, ok ? 0 : -1, e);
}

void outbox_batch_free(struct outbox_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct outbox_row *r = &b->rows[i];
        free(r->entity);
        free(r->op);
        free(r->payload);
        free(r->idem_key);
        free(r->remote_id);
    }
    free(b->rows);
    b->rows = NULL;
    b->n = 0;
}

int store_outbox_recover(struct store *s, int64_t account, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_RECOVER, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    return run(s, st, e, "outbox recover");
}

int store_field_owner_set(struct store *s, const char *entity, const char *field, const char *owner,
                          const char *rule, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_OWNER_SET, e);
    if (!st)
        return -1;
    bind_text(st, 1, entity);
    bind_text(st, 2, field);
    bind_text(st, 3, owner);
    bind_text(st, 4, rule ? rule : "pms_wins");
    return run(s, st, e, "field owner");
}

int store_outbox_wake(struct store *s, int64_t account, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_WAKE, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    return run(s, st, e, "outbox wake");
}

/* The entity (message or work order) an op carries. */
static int outbox_entity(struct store *s, int64_t op, char **entity, int64_t *id, int64_t *account,
                         struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_GET, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, op);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *entity = col_text0(st, 0);
        *id = sqlite3_column_int64(st, 1);
        *account = sqlite3_column_int64(st, 2);
    }
    done(st);
    if (rc == SQLITE_DONE)
        return err_set(e, STORE_ENOTFOUND, FINAL, "no outbox op %lld", (long long)op);
    return rc == SQLITE_ROW ? 0 : db_err(s, e, rc, "outbox op");
}

/* A message's remote id arrived: if the echo of this very message was stored first (by a
 * webhook or a poll racing the answer), drop that duplicate so one row remains. */
static int message_adopt(struct store *s, int64_t account, int64_t msg, const char *remote_id,
                         int local_only, struct err *e)
{
    sqlite3_stmt *st;
    if (remote_id && *remote_id) {
        if (!(st = stmt(s, STMT_MESSAGE_ECHO_FIND, e)))
            return -1;
        sqlite3_bind_int64(st, 1, account);
        bind_text(st, 2, remote_id);
        sqlite3_bind_int64(st, 3, msg);
        int64_t dup = 0, dup_thread = 0;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            dup = sqlite3_column_int64(st, 0);
            dup_thread = sqlite3_column_int64(st, 1);
        }
        done(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return db_err(s, e, rc, "echo lookup");
        if (dup) {
            if (!(st = stmt(s, STMT_MESSAGE_DELETE, e)))
                return -1;
            sqlite3_bind_int64(st, 1, dup);
            if (run(s, st, e, "echo delete") != 0 || !(st = stmt(s, STMT_THREAD_UNCOUNT, e)))
                return -1;
            sqlite3_bind_int64(st, 1, dup_thread);
            if (run(s, st, e, "echo delete") != 0)
                return -1;
        }
    }
    if (!(st = stmt(s, STMT_MESSAGE_SENT, e)))
        return -1;
    sqlite3_bind_int64(st, 1, msg);
    bind_text(st, 2, remote_id && *remote_id ? remote_id : NULL);
    sqlite3_bind_int(st, 3, local_only ? 1 : 0);
    return run(s, st, e, "message sent");
}

static int outbox_done_tx(struct store *s, int64_t op, const char *remote_id, int local_only,
                          struct err *e)
{
    char *entity = NULL;
    int64_t id = 0, account = 0;
    if (outbox_entity(s, op, &entity, &id, &account, e) != 0)
        return -1;
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_SENT, e);
    int rc = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, op);
        sqlite3_bind_int64(st, 2, now_ms());
        bind_text(st, 3, remote_id && *remote_id ? remote_id : NULL);
        rc = run(s, st, e, "outbox sent");
    }
    if (rc == 0 && strcmp(entity, "message") == 0)
        rc = message_adopt(s, account, id, remote_id, local_only, e);
    else if (rc == 0 && strcmp(entity, "work_order") == 0) {
        /* The PMS's copy of a work order porter created may have been pulled in before the
         * answer was recorded (a crash, a lost answer) without being recognised as porter's
         * own: the local row, with its history and links, is the one that stays. */
        if (remote_id && *remote_id) {
            sqlite3_stmt *dup = prep(s,
                                     "DELETE FROM work_order WHERE account_id = ?1 AND"
                                     " remote_id = ?2 AND id <> ?3",
                                     e);
            if (!dup)
                return -1;
            sqlite3_bind_int64(dup, 1, account);
            bind_text(dup, 2, remote_id);
            sqlite3_bind_int64(dup, 3, id);
            int r2 = sqlite3_step(dup);
            sqlite3_finalize(dup);
            if (r2 != SQLITE_DONE)
                return db_err(s, e, r2, "work order sent");
        }
        rc = -1;
        if ((st = stmt(s, STMT_WO_SENT, e))) {
            sqlite3_bind_int64(st, 1, id);
            bind_text(st, 2, remote_id && *remote_id ? remote_id : NULL);
            rc = run(s, st, e, "work order sent");
        }
        if (rc == 0 && (st = stmt(s, STMT_BASE_FROM_OP, e))) { /* both sides agree now */
            sqlite3_bind_int64(st, 1, op);
            rc = run(s, st, e, "sync base");
        }
        if (rc == 0 && (st = stmt(s, STMT_NOTE_LANDED, e))) { /* '' : kept in porter */
            sqlite3_bind_int64(st, 1, op);
            bind_text(st, 2, local_only ? "" : remote_id && *remote_id ? remote_id : "pms");
            rc = run(s, st, e, "note");
        }
    }
    free(entity);
    return rc;
}

int store_outbox_done(struct store *s, int64_t op, const char *remote_id, int local_only,
                      struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = outbox_done_tx(s, op, remote_id, local_only, e);
    return tx_leave(s, rc == 0, rc, e);
}

int store_outbox_retry(struct store *s, int64_t op, int64_t next_attempt_at, const char *error,
                       struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_RETRY, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, op);
    sqlite3_bind_int64(st, 2, next_attempt_at);
    bind_text(st, 3, error);
    return run(s, st, e, "outbox retry");
}

static int outbox_fail_tx(struct store *s, int64_t op, const char *error, struct err *e)
{
    char *entity = NULL;
    int64_t id = 0, account = 0;
    if (outbox_entity(s, op, &entity, &id, &account, e) != 0)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = stmt(s, STMT_OUTBOX_FAIL, e);
    if (st) {
        sqlite3_bind_int64(st, 1, op);
        bind_text(st, 2, error);
        rc = run(s, st, e, "outbox fail");
    }
    enum stmt_id mark = strcmp(entity, "message") == 0      ? STMT_MESSAGE_FAILED
                        : strcmp(entity, "work_order") == 0 ? STMT_WO_FAILED
                                                            : STMT_COUNT;
    if (rc == 0 && mark != STMT_COUNT) {
        rc = -1;
        if ((st = stmt(s, mark, e))) {
            sqlite3_bind_int64(st, 1, id);
            bind_text(st, 2, error);
            rc = run(s, st, e, "mark failed");
        }
    }
    free(entity);
    return rc;
}

int store_outbox_fail(struct store *s, int64_t op, const char *error, struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = outbox_fail_tx(s, op, error, e);
    return tx_leave(s, rc == 0, rc, e);
}

int store_outbox_depth(struct store *s, int64_t account, int64_t *depth, int64_t *oldest,
                       struct err *e)
{
    sqlite3_stmt *st = stmt(s, account ? STMT_OUTBOX_DEPTH : STMT_OUTBOX_DEPTH_ALL, e);
    if (!st)
        return -1;
    if (account)
        sqlite3_bind_int64(st, 1, account);
    int rc = sqlite3_step(st);
    *depth = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    *oldest = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    done(st);
    return rc == SQLITE_ROW ? 0 : db_err(s, e, rc, "outbox depth");
}

/* ---- sync engine: inbound events ---- */

int store_inbound_due(struct store *s, int64_t now, size_t limit, struct inbound_batch *out,
                      struct err *e)
{
    out->rows = NULL;
    out->n = 0;
    sqlite3_stmt *st = stmt(s, STMT_INBOUND_DUE, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    out->rows = xcalloc(limit ? limit : 1, sizeof(*out->rows));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n < limit) {
        struct inbound_row *r = &out->rows[out->n++];
        r->id = sqlite3_column_int64(st, 0);
        r->account = sqlite3_column_int64(st, 1);
        r->kind = col_text0(st, 2);
        r->body = col_text0(st, 3);
        r->attempts = sqlite3_column_int(st, 4);
        r->received_at = sqlite3_column_int64(st, 5);
    }
    done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        inbound_batch_free(out);
        return db_err(s, e, rc, "inbound events");
    }
    return 0;
}

void inbound_batch_free(struct inbound_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->rows[i].kind);
        free(b->rows[i].body);
    }
    free(b->rows);
    b->rows = NULL;
    b->n = 0;
}

int store_inbound_mark(struct store *s, int64_t event, const char *state, int64_t next_attempt_at,
                       const char *error, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_INBOUND_MARK, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, event);
    bind_text(st, 2, state);
    sqlite3_bind_int64(st, 3, next_attempt_at);
    bind_text(st, 4, error);
    sqlite3_bind_int64(st, 5, now_ms());
    return run(s, st, e, "inbound mark");
}

/* ---- cursors, accounts, tokens ---- */

int store_cursor_get(struct store *s, int64_t account, const char *entity, char **cursor,
                     struct err *e)
{
    *cursor = NULL;
    sqlite3_stmt *st = stmt(s, STMT_CURSOR_GET, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, entity);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *cursor = col_text(st, 0);
    done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(s, e, rc, "cursor");
}

int store_cursor_set(struct store *s, int64_t account, const char *entity, const char *cursor,
                     struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_CURSOR_SET, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, entity);
    bind_text(st, 3, cursor ? cursor : "");
    sqlite3_bind_int64(st, 4, now_ms());
    return run(s, st, e, "cursor");
}

/* Run a prepared UPDATE of one account: ?1 = account, ?2 = text or time, ?3 = text. */
static int account_update(struct store *s, enum stmt_id id, int64_t account, const char *a,
                          int64_t t, const char *b, struct err *e)
{
    sqlite3_stmt *st = stmt(s, id, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    if (a)
        bind_text(st, 2, a);
    else
        sqlite3_bind_int64(st, 2, t);
    if (b)
        bind_text(st, 3, b);
    return run(s, st, e, "account");
}

int store_account_state(struct store *s, int64_t account, const char *state, const char *reason,
                        struct err *e)
{
    return account_update(s, STMT_ACCOUNT_STATE, account, state, 0, reason, e);
}

int store_account_touch(struct store *s, int64_t account, int webhook, struct err *e)
{
    return account_update(s, webhook ? STMT_ACCOUNT_HOOKED : STMT_ACCOUNT_PULLED, account, NULL,
                          now_ms(), NULL, e);
}

int store_account_circuit(struct store *s, int64_t account, const char *circuit, struct err *e)
{
    return account_update(s, STMT_ACCOUNT_CIRCUIT, account, circuit, 0, NULL, e);
}

int store_token_get(struct store *s, int64_t account, char **token, int64_t *expires_at,
                    struct err *e)
{
    *token = NULL;
    *expires_at = 0;
    sqlite3_stmt *st = stmt(s, STMT_TOKEN_GET, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *token = col_text(st, 0);
        *expires_at = sqlite3_column_int64(st, 1);
    }
    done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(s, e, rc, "token");
}

static int token_put_tx(struct store *s, int64_t account, const char *token, int64_t expires_at,
                        struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_TOKEN_PUT, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, token);
    sqlite3_bind_int64(st, 3, expires_at);
    if (run(s, st, e, "token") != 0 || !(st = stmt(s, STMT_TOKEN_MINT, e)))
        return -1;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, now_ms());
    return run(s, st, e, "token mint");
}

int store_token_put(struct store *s, int64_t account, const char *token, int64_t expires_at,
                    struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = token_put_tx(s, account, token, expires_at, e);
    return tx_leave(s, rc == 0, rc, e);
}

int store_token_mints(struct store *s, int64_t account, int64_t since, int64_t *n, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_TOKEN_MINTS, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, since);
    *n = 0;
    return one_int(s, st, n, e, "token mints") < 0 ? -1 : 0;
}

/* ---- lease, metrics, alerts, health ---- */

int store_lease(struct store *s, const char *name, const char *holder, int64_t ttl_ms,
                struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int64_t now = now_ms(), mine = 0;
    sqlite3_stmt *st = stmt(s, STMT_LEASE_TAKE, e);
    int rc = -1;
    if (st) {
        bind_text(st, 1, name);
        bind_text(st, 2, holder);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, now + ttl_ms);
        rc = run(s, st, e, "lease");
    }
    if (rc == 0 && (st = stmt(s, STMT_LEASE_HOLDER, e))) {
        bind_text(st, 1, name);
        bind_text(st, 2, holder);
        rc = one_int(s, st, &mine, e, "lease") < 0 ? -1 : 0;
    }
    return tx_leave(s, rc == 0, rc == 0 ? (mine ? 1 : 0) : -1, e);
}

int store_lease_release(struct store *s, const char *name, const char *holder, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_LEASE_RELEASE, e);
    if (!st)
        return -1;
    bind_text(st, 1, name);
    bind_text(st, 2, holder);
    return run(s, st, e, "lease release");
}

int store_entity_count(struct store *s, int64_t account, const char *entity, int64_t *n,
                       struct err *e)
{
    static const char *const tables[] = {"property", "unit",    "contact", "stay",
                                         "thread",   "message", "vendor",  "work_order"};
    size_t i = 0;
    while (i < ARRAY_LEN(tables) && strcmp(tables[i], entity) != 0)
        i++;
    if (i == ARRAY_LEN(tables))
        return err_set(e, STORE_EINVAL, FINAL, "unknown entity %s", entity);
    /* the table name comes from the fixed list above, never from input */
    char *sql = xasprintf("SELECT count(*) FROM %s WHERE account_id = ?1 AND remote_id IS NOT"
                          " NULL",
                          tables[i]);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return db_err(s, e, rc, "count");
    sqlite3_bind_int64(st, 1, account);
    *n = 0;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_err(s, e, rc, "count");
}

int store_metric(struct store *s, int64_t account, const char *name, double value, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_METRIC_ADD, e);
    if (!st)
        return -1;
    bind_id(st, 1, account);
    bind_text(st, 2, name);
    sqlite3_bind_int64(st, 3, now_ms());
    sqlite3_bind_double(st, 4, value);
    return run(s, st, e, "metric");
}

int store_alert(struct store *s, int64_t account, const char *kind, const char *subject,
                const char *message, struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = stmt(s, STMT_ALERT_BUMP, e);
    if (st) {
        bind_id(st, 1, account);
        bind_text(st, 2, kind);
        bind_text(st, 3, subject ? subject : "");
        bind_text(st, 4, message);
        sqlite3_bind_int64(st, 5, now_ms());
        rc = run(s, st, e, "alert");
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0) {
        rc = -1;
        if ((st = stmt(s, STMT_ALERT_ADD, e))) {
            bind_id(st, 1, account);
            bind_text(st, 2, kind);
            bind_text(st, 3, subject ? subject : "");
            bind_text(st, 4, message);
            sqlite3_bind_int64(st, 5, now_ms());
            rc = run(s, st, e, "alert");
        }
    }
    if (rc == 0)
        log_warn("alert", "%s %s: %s", kind, subject ? subject : "", message);
    return tx_leave(s, rc == 0, rc, e);
}

static int64_t metric_count(struct store *s, int64_t account, const char *name, int64_t since)
{
    sqlite3_stmt *st = stmt(s, STMT_HEALTH_COUNT, NULL);
    int64_t n = 0;
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, name);
    sqlite3_bind_int64(st, 3, since);
    one_int(s, st, &n, NULL, "metric count");
    return n;
}

/* p50, p95 and max of a latency metric since `since` (values come sorted). */
static void latency(struct store *s, int64_t account, int64_t since, struct health_row *h)
{
    sqlite3_stmt *st = stmt(s, STMT_HEALTH_LATENCY, NULL);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, account);
    bind_text(st, 2, "webhook_latency_ms");
    sqlite3_bind_int64(st, 3, since);
    double *v = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = sqlite3_column_double(st, 0);
    }
    done(st);
    if (n) {
        h->lat_p50 = v[(n - 1) / 2];
        h->lat_p95 = v[(size_t)((double)(n - 1) * 0.95)];
        h->lat_max = v[n - 1];
    }
    free(v);
}

int store_health(struct store *s, struct health *out, struct err *e)
{
    out->rows = NULL;
    out->n = 0;
    sqlite3_stmt *st = stmt(s, STMT_HEALTH_ACCOUNTS, e);
    if (!st)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4;
            out->rows = xrealloc(out->rows, cap * sizeof(*out->rows));
        }
        struct health_row *h = &out->rows[out->n++];
        memset(h, 0, sizeof(*h));
        h->account = sqlite3_column_int64(st, 0);
        h->name = col_text0(st, 1);
        h->adapter = col_text0(st, 2);
        h->state = col_text0(st, 3);
        h->reason = col_text(st, 4);
        h->circuit = col_text0(st, 5);
        h->last_pull_at = sqlite3_column_int64(st, 6);
        h->last_webhook_at = sqlite3_column_int64(st, 7);
        h->open_alerts = sqlite3_column_int64(st, 8);
    }
    done(st);
    if (rc != SQLITE_DONE) {
        health_free(out);
        return db_err(s, e, rc, "health");
    }
    int64_t now = now_ms();
    for (size_t i = 0; i < out->n; i++) {
        struct health_row *h = &out->rows[i];
        latency(s, h->account, now - 3600 * 1000, h);
        store_outbox_depth(s, h->account, &h->outbox_depth, &h->outbox_oldest, NULL);
        h->failures = metric_count(s, h->account, "failure", now - 86400 * 1000);
        h->rate_limited = metric_count(s, h->account, "rate_limited", now - 86400 * 1000);
    }
    return 0;
}

void health_free(struct health *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->rows[i].name);
        free(h->rows[i].adapter);
        free(h->rows[i].state);
        free(h->rows[i].reason);
        free(h->rows[i].circuit);
    }
    free(h->rows);
    h->rows = NULL;
    h->n = 0;
}

/* ---- the health view ---- */

/* Prepare (uncached: these run when a person looks, not in a loop). */
static sqlite3_stmt *prep(struct store *s, const char *sql, struct err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        db_err(s, e, rc, "prepare");
        return NULL;
    }
    return st;
}

/* Step `st` to its end (finalizing it), appending one element of `size` bytes per row to
 * *rows, filled by fill(). 0, or -1 with the rows collected so far left for the caller's
 * free function. */
static int collect(struct store *s, sqlite3_stmt *st, size_t size,
                   void (*fill)(sqlite3_stmt *st, void *row), void **rows, size_t *n,
                   const char *what, struct err *e)
{
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *rows = xrealloc(*rows, cap * size);
        }
        void *row = (char *)*rows + *n * size;
        memset(row, 0, size);
        fill(st, row);
        (*n)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, rc, what);
}

static void fill_alert(sqlite3_stmt *st, void *row)
{
    struct alert_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->account = col_text0(st, 1);
    r->kind = col_text0(st, 2);
    r->subject = col_text0(st, 3);
    r->message = col_text0(st, 4);
    r->first_seen = sqlite3_column_int64(st, 5);
    r->last_seen = sqlite3_column_int64(st, 6);
    r->count = sqlite3_column_int64(st, 7);
    r->acked_at = sqlite3_column_int64(st, 8);
}

int store_alerts(struct store *s, int include_acked, size_t limit, struct alert_list *out,
                 struct err *e)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = prep(s,
                            "SELECT al.id, coalesce(a.name, ''), al.kind, al.subject, al.message,"
                            " al.first_seen, al.last_seen, al.count, coalesce(al.acked_at, 0)"
                            " FROM alert al LEFT JOIN account a ON a.id = al.account_id"
                            " WHERE ?1 OR al.acked_at IS NULL"
                            " ORDER BY al.acked_at IS NOT NULL, al.last_seen DESC LIMIT ?2",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, include_acked);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    if (collect(s, st, sizeof(*out->rows), fill_alert, (void **)&out->rows, &out->n, "alerts", e) !=
        0) {
        alert_list_free(out);
        return -1;
    }
    return 0;
}

void alert_list_free(struct alert_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->rows[i].account);
        free(l->rows[i].kind);
        free(l->rows[i].subject);
        free(l->rows[i].message);
    }
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

/* Run one prepared write with int64 parameters; -1 and STORE_ENOTFOUND when no row changed
 * and `what` names the missing thing. */
static int write1(struct store *s, const char *sql, int64_t a, int64_t b, const char *what,
                  struct err *e)
{
    sqlite3_stmt *st = prep(s, sql, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(s, e, rc, what);
    if (sqlite3_changes(s->db) == 0)
        return err_set(e, STORE_ENOTFOUND, FINAL, "no %s %lld", what, (long long)a);
    return 0;
}

int store_alert_ack(struct store *s, int64_t alert, struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = write1(s, "UPDATE alert SET acked_at = ?2 WHERE id = ?1", alert, now_ms(), "alert", e);
    return tx_leave(s, rc == 0, rc, e);
}

static void fill_conflict(sqlite3_stmt *st, void *row)
{
    struct conflict_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->row_id = sqlite3_column_int64(st, 1);
    r->account = col_text0(st, 2);
    r->entity = col_text0(st, 3);
    r->field = col_text0(st, 4);
    r->title = col_text0(st, 5);
    r->base = col_text0(st, 6);
    r->local = col_text0(st, 7);
    r->remote = col_text0(st, 8);
    r->winner = col_text0(st, 9);
    r->rule = col_text0(st, 10);
    r->created_at = sqlite3_column_int64(st, 11);
}

int store_conflicts(struct store *s, size_t limit, struct conflict_list *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = prep(
        s,
        "SELECT c.id, c.row_id, a.name, c.entity, c.field,"
        " coalesce((SELECT w.title FROM work_order w WHERE c.entity = 'work_order'"
        "   AND w.id = c.row_id), ''),"
        " coalesce(c.base_value, ''), coalesce(c.local_value, ''), coalesce(c.remote_value, ''),"
        " c.winner, c.rule, c.created_at"
        " FROM conflict c JOIN account a ON a.id = c.account_id"
        " WHERE c.resolved_at IS NULL ORDER BY c.created_at, c.id LIMIT ?1",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
    if (collect(s, st, sizeof(*out->rows), fill_conflict, (void **)&out->rows, &out->n, "conflicts",
                e) != 0) {
        conflict_list_free(out);
        return -1;
    }
    return 0;
}

void conflict_list_free(struct conflict_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct conflict_row *r = &l->rows[i];
        free(r->account);
        free(r->entity);
        free(r->field);
        free(r->title);
        free(r->base);
        free(r->local);
        free(r->remote);
        free(r->winner);
        free(r->rule);
    }
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

static int conflict_resolve_tx(struct store *s, int64_t id, int keep_local, const char *actor,
                               struct err *e)
{
    sqlite3_stmt *st = prep(s,
                            "SELECT entity, row_id, field, local_value, remote_value, winner"
                            " FROM conflict WHERE id = ?1 AND resolved_at IS NULL",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE
                   ? err_set(e, STORE_ENOTFOUND, FINAL, "no open conflict %lld", (long long)id)
                   : db_err(s, e, rc, "conflict");
    }
    char *entity = col_text0(st, 0), *field = col_text0(st, 2);
    int64_t row = sqlite3_column_int64(st, 1);
    char *local = col_text0(st, 3), *remote = col_text0(st, 4), *winner = col_text0(st, 5);
    sqlite3_finalize(st);
    rc = 0;
    if (strcmp(entity, "work_order") != 0 || strcmp(field, "status") != 0) {
        rc = err_set(e, STORE_EINVAL, FINAL, "conflicts on %s.%s are settled in the PMS", entity,
                     field);
    } else {
        /* the value to end with, and whether the PMS must be told */
        const char *value = keep_local ? local : remote;
        int push = keep_local ? strcmp(winner, "local") != 0 : strcmp(winner, "local") == 0;
        int status = wo_status_parse(value);
        char key[48];
        if (status < 0)
            rc = err_set(e, STORE_EINVAL, FINAL, "conflict %lld: '%s' is not a status",
                         (long long)id, value);
        else if (push)
            rc = new_idem_key(key, e) == 0 &&
                         queue_wo_status_tx(s, row, (enum wo_status)status, actor, key, e) == 0
                     ? 0
                     : -1;
        if (rc == 0 && !push) { /* the kept value is what porter already shows */
            sqlite3_stmt *up = prep(s, "UPDATE work_order SET status = ?2 WHERE id = ?1", e);
            if (!up)
                rc = -1;
            else {
                sqlite3_bind_int64(up, 1, row);
                sqlite3_bind_text(up, 2, value, -1, SQLITE_TRANSIENT);
                rc = sqlite3_step(up) == SQLITE_DONE ? 0 : db_err(s, e, SQLITE_ERROR, "status");
                sqlite3_finalize(up);
            }
        }
        if (rc == 0) {
            sqlite3_stmt *res = prep(s,
                                     "UPDATE conflict SET resolved_at = ?2, resolution = ?3"
                                     " WHERE id = ?1",
                                     e);
            if (!res)
                rc = -1;
            else {
                char how[160];
                snprintf(how, sizeof(how), "%s kept %s's value '%s'", actor ? actor : "porter",
                         keep_local ? "porter" : "the PMS", value);
                sqlite3_bind_int64(res, 1, id);
                sqlite3_bind_int64(res, 2, now_ms());
                sqlite3_bind_text(res, 3, how, -1, SQLITE_TRANSIENT);
                rc = sqlite3_step(res) == SQLITE_DONE ? 0 : db_err(s, e, SQLITE_ERROR, "resolve");
                sqlite3_finalize(res);
            }
        }
        if (rc == 0) /* the change the conflict retired is settled now: no retry resends it */
            rc = write1(s,
                        "UPDATE outbox SET state = 'dead', last_error = 'discarded' WHERE"
                        " entity = 'work_order' AND entity_id = ?1 AND op = 'wo_status' AND"
                        " state = 'failed' AND last_error LIKE 'conflict: %' AND ?2 = 0",
                        row, 0, "superseded write", e) == 0 ||
                         e->code == STORE_ENOTFOUND
                     ? 0
                     : -1;
    }
    free(entity);
    free(field);
    free(local);
    free(remote);
    free(winner);
    return rc;
}

int store_conflict_resolve(struct store *s, int64_t conflict, int keep_local, const char *actor,
                           struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = conflict_resolve_tx(s, conflict, keep_local, actor, e);
    return tx_leave(s, rc == 0, rc, e);
}

static void fill_op(sqlite3_stmt *st, void *row)
{
    struct op_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->entity_id = sqlite3_column_int64(st, 1);
    r->account = col_text0(st, 2);
    r->entity = col_text0(st, 3);
    r->op = col_text0(st, 4);
    r->state = col_text0(st, 5);
    r->error = col_text0(st, 6);
    r->what = col_text0(st, 7);
    r->attempts = sqlite3_column_int(st, 8);
    r->created_at = sqlite3_column_int64(st, 9);
}

int store_failed_ops(struct store *s, size_t limit, struct op_list *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = prep(
        s,
        "SELECT o.id, o.entity_id, a.name, o.entity, o.op, o.state, coalesce(o.last_error, ''),"
        " coalesce(CASE WHEN o.entity = 'message' THEN (SELECT body FROM message m"
        "   WHERE m.id = o.entity_id) WHEN o.op = 'wo_schedule' THEN"
        "   strftime('%Y-%m-%d %H:%M', json_extract(o.payload, '$.start') / 1000, 'unixepoch',"
        "   'localtime') || '-' || strftime('%H:%M', json_extract(o.payload, '$.end') / 1000,"
        "   'unixepoch', 'localtime') ELSE coalesce(json_extract(o.payload, '$.status'),"
        "   json_extract(o.payload, '$.priority'), json_extract(o.payload, '$.body'),"
        "   json_extract(o.payload, '$.title')) END, ''),"
        " o.attempts, o.created_at"
        " FROM outbox o JOIN account a ON a.id = o.account_id"
        " WHERE o.state IN ('failed', 'dead') AND coalesce(o.last_error, '') <> 'discarded'"
        " ORDER BY o.id DESC LIMIT ?1",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
    if (collect(s, st, sizeof(*out->rows), fill_op, (void **)&out->rows, &out->n, "failed ops",
                e) != 0) {
        op_list_free(out);
        return -1;
    }
    return 0;
}

void op_list_free(struct op_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct op_row *r = &l->rows[i];
        free(r->account);
        free(r->entity);
        free(r->op);
        free(r->state);
        free(r->error);
        free(r->what);
    }
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

/* The message an op carries (0 when it is not a message op). */
static int64_t op_message(struct store *s, int64_t op)
{
    int64_t msg = 0;
    sqlite3_stmt *st =
        prep(s, "SELECT entity_id FROM outbox WHERE id = ?1 AND entity = 'message'", NULL);
    if (st) {
        sqlite3_bind_int64(st, 1, op);
        if (sqlite3_step(st) == SQLITE_ROW)
            msg = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return msg;
}

int store_op_retry(struct store *s, int64_t op, struct err *e)
{
    int64_t msg = op_message(s, op);
    if (msg)
        return store_message_retry(s, msg, e);
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = write1(s,
                    "UPDATE outbox SET state = 'pending', next_attempt_at = 0 WHERE id = ?1"
                    " AND state IN ('failed', 'dead') AND coalesce(last_error, '') <> 'discarded'"
                    " AND ?2 = 0",
                    op, 0, "failed op", e);
    struct err ignore; /* an op without a work order (none today) has no card to update */
    if (rc == 0)
        write1(s,
               "UPDATE work_order SET sync_state = 'pending', sync_error = NULL WHERE id ="
               " (SELECT entity_id FROM outbox WHERE id = ?1 AND entity = 'work_order')"
               " AND ?2 = 0",
               op, 0, "work order of the op", &ignore);
    return tx_leave(s, rc == 0, rc, e);
}

int store_op_discard(struct store *s, int64_t op, struct err *e)
{
    int64_t msg = op_message(s, op);
    if (msg)
        return store_message_discard(s, msg, e);
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = write1(s,
                    "UPDATE outbox SET state = 'dead', last_error = 'discarded' WHERE id = ?1"
                    " AND state IN ('failed', 'dead') AND ?2 = 0",
                    op, 0, "failed op", e);
    struct err ignore;
    if (rc == 0) /* the card no longer waits for it */
        write1(s,
               "UPDATE work_order SET sync_state = 'synced', sync_error = NULL WHERE id ="
               " (SELECT entity_id FROM outbox WHERE id = ?1 AND entity = 'work_order')"
               " AND ?2 = 0",
               op, 0, "work order of the op", &ignore);
    return tx_leave(s, rc == 0, rc, e);
}

/* Replace a failed write by an edited one: the old op is discarded and the new value queued
 * as a person would queue it, in one transaction. */
static int op_edit_tx(struct store *s, int64_t op, const char *text, const char *actor,
                      struct err *e)
{
    sqlite3_stmt *st = prep(s,
                            "SELECT o.op, o.entity_id, coalesce(m.thread_id, 0),"
                            " coalesce(m.channel, ''), o.state FROM outbox o LEFT JOIN message m"
                            " ON o.entity = 'message' AND m.id = o.entity_id WHERE o.id = ?1"
                            " AND o.state IN ('failed', 'dead') AND coalesce(o.last_error, '')"
                            " <> 'discarded'",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, op);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE
                   ? err_set(e, STORE_ENOTFOUND, FINAL, "no failed write %lld", (long long)op)
                   : db_err(s, e, rc, "failed write");
    }
    char *name = col_text0(st, 0), *chan = col_text0(st, 3);
    int64_t entity = sqlite3_column_int64(st, 1), thread = sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    char why[160] = "";
    int n;
    int64_t a = 0, b = 0;
    int reply = strcmp(name, "reply") == 0 || strcmp(name, "note") == 0;
    if (reply)
        rc = !*text                    ? err_set(e, STORE_EINVAL, FINAL, "an empty message")
             : channel_parse(chan) < 0 ? err_set(e, STORE_EINVAL, FINAL, "no channel to reply on")
                                       : 0;
    else if (strcmp(name, "wo_status") == 0)
        rc = (n = wo_status_parse(text)) >= 0
                 ? (a = n, 0)
                 : err_set(e, STORE_EINVAL, FINAL, "'%s' is not a work-order status", text);
    else if (strcmp(name, "wo_priority") == 0)
        rc = (n = priority_parse(text)) >= 0
                 ? (a = n, 0)
                 : err_set(e, STORE_EINVAL, FINAL, "'%s': expected low, normal, high or emergency",
                           text);
    else if (strcmp(name, "wo_schedule") == 0)
        rc = wo_window_parse(text, now_ms(), &a, &b, why, sizeof(why)) == 0
                 ? 0
                 : err_set(e, STORE_EINVAL, FINAL, "%s", why);
    else if (strcmp(name, "wo_note") == 0)
        rc = *text ? 0 : err_set(e, STORE_EINVAL, FINAL, "an empty note");
    else
        rc = err_set(e, STORE_EINVAL, FINAL,
                     "a %s has nothing to edit: retry it, or discard it and act again", name);
    if (rc == 0)
        rc = store_op_discard(s, op, e);
    if (rc == 0 && reply)
        rc = store_queue_reply(s, thread, name[0] == 'r' ? DIR_OUT : DIR_NOTE,
                               (enum channel)channel_parse(chan), actor, text, NULL, NULL, e);
    else if (rc == 0 && strcmp(name, "wo_status") == 0)
        rc = store_queue_wo_status(s, entity, (enum wo_status)a, actor, e);
    else if (rc == 0 && strcmp(name, "wo_priority") == 0)
        rc = store_queue_wo_priority(s, entity, (enum priority)a, actor, e);
    else if (rc == 0 && strcmp(name, "wo_schedule") == 0)
        rc = store_queue_wo_schedule(s, entity, a, b, actor, e);
    else if (rc == 0)
        rc = store_queue_wo_note(s, entity, text, actor, e);
    free(name);
    free(chan);
    return rc;
}

int store_op_edit(struct store *s, int64_t op, const char *text, const char *actor, struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = op_edit_tx(s, op, text ? text : "", actor, e);
    return tx_leave(s, rc == 0, rc, e);
}

static void fill_owner(sqlite3_stmt *st, void *row)
{
    struct owner_row *r = row;
    r->entity = col_text0(st, 0);
    r->field = col_text0(st, 1);
    r->owner = col_text0(st, 2);
    r->rule = col_text0(st, 3);
}

int store_field_owners(struct store *s, struct owner_list *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st =
        prep(s, "SELECT entity, field, owner, rule FROM field_owner ORDER BY entity, field", e);
    if (!st)
        return -1;
    if (collect(s, st, sizeof(*out->rows), fill_owner, (void **)&out->rows, &out->n, "ownership",
                e) != 0) {
        owner_list_free(out);
        return -1;
    }
    return 0;
}

void owner_list_free(struct owner_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->rows[i].entity);
        free(l->rows[i].field);
        free(l->rows[i].owner);
        free(l->rows[i].rule);
    }
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

/* ---- vendor dispatch ---- */

static void fill_vendor(sqlite3_stmt *st, void *row)
{
    struct vendor_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->name = col_text0(st, 1);
    r->trade = col_text0(st, 2);
    r->phone = col_text0(st, 3);
    r->insurance_expires = col_text0(st, 4);
    r->preferred = sqlite3_column_int(st, 5);
}

int store_vendors_for_wo(struct store *s, int64_t wo, int all_trades, struct vendor_list *out,
                         struct err *e)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = prep(
        s,
        "SELECT v.id, v.name, v.trade, coalesce(v.phone, ''), coalesce(v.insurance_expires, ''),"
        " EXISTS (SELECT 1 FROM vendor_property vp WHERE vp.vendor_id = v.id"
        "   AND vp.property_id = w.property_id AND vp.preferred) AS pref"
        " FROM work_order w JOIN vendor v ON v.account_id = w.account_id"
        " WHERE w.id = ?1 AND v.active"
        "   AND (?2 OR coalesce(w.trade, '') = '' OR v.trade = w.trade)"
        " ORDER BY pref DESC, v.name LIMIT 200",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    sqlite3_bind_int(st, 2, all_trades);
    if (collect(s, st, sizeof(*out->rows), fill_vendor, (void **)&out->rows, &out->n, "vendors",
                e) != 0) {
        vendor_list_free(out);
        return -1;
    }
    return 0;
}

void vendor_list_free(struct vendor_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->rows[i].name);
        free(l->rows[i].trade);
        free(l->rows[i].phone);
        free(l->rows[i].insurance_expires);
    }
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

static int queue_wo_vendor_tx(struct store *s, int64_t wo, int64_t vendor, const char *actor,
                              const char *key, struct err *e)
{
    sqlite3_stmt *st = prep(s,
                            "SELECT w.account_id, w.remote_id, coalesce(o.name, ''), v.name,"
                            " v.remote_id FROM work_order w JOIN vendor v ON v.id = ?2"
                            " AND v.account_id = w.account_id"
                            " LEFT JOIN vendor o ON o.id = w.vendor_id WHERE w.id = ?1",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    sqlite3_bind_int64(st, 2, vendor);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? err_set(e, STORE_ENOTFOUND, FINAL,
                                           "no work order %lld with a vendor %lld of its account",
                                           (long long)wo, (long long)vendor)
                                 : db_err(s, e, rc, "work order");
    }
    int64_t account = sqlite3_column_int64(st, 0);
    char *remote = col_text(st, 1), *old = col_text0(st, 2), *name = col_text0(st, 3);
    char *vremote = col_text0(st, 4);
    sqlite3_finalize(st);
    rc = write1(s,
                "UPDATE work_order SET vendor_id = ?2, sync_state = 'pending', sync_error = NULL"
                " WHERE id = ?1",
                wo, vendor, "work order", e);
    if (rc == 0)
        rc = wo_event(s, wo, "vendor", old, name, actor, "porter", e);
    /* A work order whose creation no request has carried yet is created with its vendor:
     * one write instead of two, and the only way on a PMS that wants the vendor at
     * creation (Buildium). */
    int merged = 0;
    if (rc == 0 && !remote) {
        sqlite3_stmt *q = prep(s,
                               "UPDATE outbox SET payload = json_set(payload, '$.vendor', ?2)"
                               " WHERE entity = 'work_order' AND entity_id = ?1"
                               " AND op = 'wo_create' AND state = 'pending' AND attempts = 0",
                               e);
        if (!q) {
            rc = -1;
        } else {
            sqlite3_bind_int64(q, 1, wo);
            bind_text(q, 2, vremote);
            int r2 = sqlite3_step(q);
            sqlite3_finalize(q);
            if (r2 != SQLITE_DONE)
                rc = db_err(s, e, r2, "work order");
            else
                merged = sqlite3_changes(s->db) > 0;
        }
    }
    if (rc == 0 && !merged) {
        cJSON *p = cJSON_CreateObject();
        if (remote)
            cJSON_AddStringToObject(p, "remote_id", remote);
        cJSON_AddStringToObject(p, "vendor", vremote);
        rc = outbox_add(s, account, "work_order", wo, 0, "wo_vendor", p, key, e);
        cJSON_Delete(p);
    }
    free(remote);
    free(old);
    free(name);
    free(vremote);
    return rc;
}

int store_queue_wo_vendor(struct store *s, int64_t wo, int64_t vendor, const char *actor,
                          struct err *e)
{
    char key[48];
    if (new_idem_key(key, e) != 0 || tx_enter(s, e) != 0)
        return -1;
    int rc = queue_wo_vendor_tx(s, wo, vendor, actor, key, e);
    return op_queued(s, tx_leave(s, rc == 0, rc, e));
}

int store_work_order_counts(struct store *s, int64_t *counts, struct err *e)
{
    for (int i = 0; i < WO_STATUS_COUNT; i++)
        counts[i] = 0;
    sqlite3_stmt *st = prep(s, "SELECT status, count(*) FROM work_order GROUP BY status", e);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int k = wo_status_parse((const char *)sqlite3_column_text(st, 0));
        if (k >= 0)
            counts[k] = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, rc, "work-order counts");
}

/* ---- work-order detail and priority ---- */

static void fill_wo_event(sqlite3_stmt *st, void *row)
{
    struct wo_event_row *r = row;
    r->at = sqlite3_column_int64(st, 0);
    r->kind = col_text0(st, 1);
    r->old_value = col_text0(st, 2);
    r->new_value = col_text0(st, 3);
    r->actor = col_text0(st, 4);
    r->origin = col_text0(st, 5);
    r->remote_id = col_text(st, 6);
}

int store_wo_detail(struct store *s, int64_t wo, struct wo_detail *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = prep(s, "SELECT description FROM work_order WHERE id = ?1", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        out->description = col_text0(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE
                   ? err_set(e, STORE_ENOTFOUND, FINAL, "no work order %lld", (long long)wo)
                   : db_err(s, e, rc, "work order");
    st = prep(s,
              "SELECT at, kind, coalesce(old_value, ''), coalesce(new_value, ''), actor, origin,"
              " remote_id FROM wo_event WHERE work_order_id = ?1 ORDER BY at, id",
              e);
    if (!st) {
        wo_detail_free(out);
        return -1;
    }
    sqlite3_bind_int64(st, 1, wo);
    if (collect(s, st, sizeof(*out->events), fill_wo_event, (void **)&out->events, &out->n,
                "work-order history", e) != 0) {
        wo_detail_free(out);
        return -1;
    }
    return 0;
}

void wo_detail_free(struct wo_detail *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->events[i].kind);
        free(d->events[i].old_value);
        free(d->events[i].new_value);
        free(d->events[i].actor);
        free(d->events[i].origin);
        free(d->events[i].remote_id);
    }
    free(d->events);
    free(d->description);
    memset(d, 0, sizeof(*d));
}

/* A work order's account, remote id (NULL until created at the PMS) and the current value
 * of one column; `expr` is a constant of this file, never user input. */
static int wo_current(struct store *s, int64_t wo, const char *expr, int64_t *account,
                      char **remote, char **old, struct err *e)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT account_id, remote_id, %s FROM work_order WHERE id = ?1",
             expr);
    sqlite3_stmt *st = prep(s, sql, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *account = sqlite3_column_int64(st, 0);
        *remote = col_text(st, 1);
        *old = col_text0(st, 2);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE
               ? err_set(e, STORE_ENOTFOUND, FINAL, "no work order %lld", (long long)wo)
               : db_err(s, e, rc, "work order");
}

/* Queue op `op` for work order `wo`: payload `p` (taken) gets the remote id. */
static int wo_push(struct store *s, int64_t account, int64_t wo, const char *remote, const char *op,
                   cJSON *p, const char *key, struct err *e)
{
    if (remote)
        cJSON_AddStringToObject(p, "remote_id", remote);
    int rc = outbox_add(s, account, "work_order", wo, 0, op, p, key, e);
    cJSON_Delete(p);
    return rc;
}

static int queue_wo_priority_tx(struct store *s, int64_t wo, enum priority prio, const char *actor,
                                const char *key, struct err *e)
{
    int64_t account = 0;
    char *remote = NULL, *old = NULL;
    if (wo_current(s, wo, "priority", &account, &remote, &old, e) != 0)
        return -1;
    int rc = -1;
    sqlite3_stmt *st;
    if ((st = prep(s,
                   "UPDATE work_order SET priority = ?2, sync_state = 'pending', sync_error ="
                   " NULL, updated_at = ?3 WHERE id = ?1",
                   e))) {
        sqlite3_bind_int64(st, 1, wo);
        sqlite3_bind_text(st, 2, priority_name(prio), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ms());
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, e, SQLITE_ERROR, "priority");
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = wo_event(s, wo, "priority", old, priority_name(prio), actor, "porter", e);
    if (rc == 0) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "priority", priority_name(prio));
        rc = wo_push(s, account, wo, remote, "wo_priority", p, key, e);
    }
    free(remote);
    free(old);
    return rc;
}

int store_queue_wo_priority(struct store *s, int64_t wo, enum priority prio, const char *actor,
                            struct err *e)
{
    char key[48];
    if (priority_parse(priority_name(prio)) < 0)
        return err_set(e, STORE_EINVAL, FINAL, "bad priority %d", prio);
    if (new_idem_key(key, e) != 0 || tx_enter(s, e) != 0)
        return -1;
    int rc = queue_wo_priority_tx(s, wo, prio, actor, key, e);
    return op_queued(s, tx_leave(s, rc == 0, rc, e));
}

static int queue_wo_schedule_tx(struct store *s, int64_t wo, int64_t start, int64_t end,
                                const char *actor, const char *key, struct err *e)
{
    int64_t account = 0;
    char *remote = NULL, *old = NULL;
    if (wo_current(s, wo, "coalesce(schedule_start, 0) || ' ' || coalesce(schedule_end, 0)",
                   &account, &remote, &old, e) != 0)
        return -1;
    long long os = 0, oe = 0;
    sscanf(old, "%lld %lld", &os, &oe);
    char was[64], now[64];
    wo_window_fmt(os, oe, was, sizeof(was));
    wo_window_fmt(start, end, now, sizeof(now));
    int rc = -1;
    sqlite3_stmt *st;
    if ((st = prep(s,
                   "UPDATE work_order SET schedule_start = ?2, schedule_end = ?3, sync_state ="
                   " 'pending', sync_error = NULL, updated_at = ?4 WHERE id = ?1",
                   e))) {
        sqlite3_bind_int64(st, 1, wo);
        sqlite3_bind_int64(st, 2, start);
        sqlite3_bind_int64(st, 3, end);
        sqlite3_bind_int64(st, 4, now_ms());
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, e, SQLITE_ERROR, "schedule");
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = wo_event(s, wo, "schedule", was, now, actor, "porter", e);
    if (rc == 0) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "start", (double)start);
        cJSON_AddNumberToObject(p, "end", (double)end);
        rc = wo_push(s, account, wo, remote, "wo_schedule", p, key, e);
    }
    free(remote);
    free(old);
    return rc;
}

int store_queue_wo_schedule(struct store *s, int64_t wo, int64_t start, int64_t end,
                            const char *actor, struct err *e)
{
    char key[48];
    if (start <= 0 || end <= start)
        return err_set(e, STORE_EINVAL, FINAL, "a schedule window ends after it starts");
    if (new_idem_key(key, e) != 0 || tx_enter(s, e) != 0)
        return -1;
    int rc = queue_wo_schedule_tx(s, wo, start, end, actor, key, e);
    return op_queued(s, tx_leave(s, rc == 0, rc, e));
}

static int queue_wo_note_tx(struct store *s, int64_t wo, const char *body, const char *actor,
                            const char *key, struct err *e)
{
    int64_t account = 0;
    char *remote = NULL, *old = NULL;
    if (wo_current(s, wo, "''", &account, &remote, &old, e) != 0)
        return -1;
    int rc = wo_event(s, wo, "note", NULL, body, actor, "porter", e);
    if (rc == 0) { /* the op names its history row, which learns where the note landed */
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "body", body);
        cJSON_AddNumberToObject(p, "event", (double)sqlite3_last_insert_rowid(s->db));
        rc = wo_push(s, account, wo, remote, "wo_note", p, key, e);
    }
    free(remote);
    free(old);
    return rc;
}

int store_queue_wo_note(struct store *s, int64_t wo, const char *body, const char *actor,
                        struct err *e)
{
    char key[48];
    if (!body || !*body)
        return err_set(e, STORE_EINVAL, FINAL, "an empty note");
    if (new_idem_key(key, e) != 0 || tx_enter(s, e) != 0)
        return -1;
    int rc = queue_wo_note_tx(s, wo, body, actor, key, e);
    return op_queued(s, tx_leave(s, rc == 0, rc, e));
}

int store_wo_assign(struct store *s, int64_t wo, const char *assignee, const char *actor,
                    struct err *e)
{
    int64_t account = 0;
    char *remote = NULL, *old = NULL;
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = wo_current(s, wo, "coalesce(assignee, '')", &account, &remote, &old, e);
    sqlite3_stmt *st;
    if (rc == 0) {
        rc = -1;
        if ((st = prep(s, "UPDATE work_order SET assignee = ?2, updated_at = ?3 WHERE id = ?1",
                       e))) {
            sqlite3_bind_int64(st, 1, wo);
            bind_text(st, 2, assignee && *assignee ? assignee : NULL);
            sqlite3_bind_int64(st, 3, now_ms());
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, e, SQLITE_ERROR, "assignee");
            sqlite3_finalize(st);
        }
    }
    if (rc == 0) { /* local: the coordinator who owns it; nothing to push */
        char was[160], now[160];
        snprintf(was, sizeof(was), "%s%s", *old ? "assignee " : "", old);
        snprintf(now, sizeof(now), "assignee %s", assignee && *assignee ? assignee : "(none)");
        rc = wo_event(s, wo, "field", was, now, actor, "porter", e);
    }
    free(remote);
    free(old);
    return tx_leave(s, rc == 0, rc, e);
}

/* ---- automations ---- */

/* An event with its context. The thread is the event's, else its work order's, else the
 * newest of its stay's; the stay, property and contact follow from what is there. */
#define RULE_EVENT_SELECT                                                                          \
    "SELECT e.id, e.at, coalesce(e.account_id, 0), coalesce(t.id, 0), coalesce(e.message_id, 0),"  \
    " coalesce(st.id, 0), coalesce(w.id, 0), coalesce(e.alert_id, 0), coalesce(e.cause_fire, 0),"  \
    " e.depth, e.kind, e.old_value, e.new_value, e.actor, e.origin, a.name, a.adapter,"            \
    " t.kind, t.channel, t.subject, t.assignee, t.tags, coalesce(t.snoozed_until, 0),"             \
    " m.body, coalesce(m.sent_at, 0), p.name, u.name, st.status, st.arrival, st.departure,"        \
    " st.confirmation_code, st.door_code, c.name, w.title, w.status, w.priority, w.trade,"         \
    " w.assignee, v.name, coalesce(w.vendor_id, 0), coalesce(w.schedule_start, 0),"                \
    " coalesce(w.schedule_end, 0), al.kind, al.subject, al.message"                                \
    " FROM rule_event e LEFT JOIN account a ON a.id = e.account_id"                                \
    " LEFT JOIN work_order w ON w.id = e.work_order_id"                                            \
    " LEFT JOIN thread t ON t.id = coalesce(e.thread_id, w.thread_id, (SELECT x.id FROM thread x"  \
    "   WHERE e.stay_id IS NOT NULL AND x.stay_id = e.stay_id ORDER BY x.last_message_at DESC"     \
    "   LIMIT 1))"                                                                                 \
    " LEFT JOIN message m ON m.id = e.message_id"                                                  \
    " LEFT JOIN stay st ON st.id = coalesce(e.stay_id, w.stay_id, t.stay_id)"                      \
    " LEFT JOIN property p ON p.id = coalesce(w.property_id, t.property_id, st.property_id)"       \
    " LEFT JOIN unit u ON u.id = coalesce(w.unit_id, t.unit_id, st.unit_id)"                       \
    " LEFT JOIN contact c ON c.id = coalesce(t.contact_id, st.contact_id)"                         \
    " LEFT JOIN vendor v ON v.id = w.vendor_id"                                                    \
    " LEFT JOIN alert al ON al.id = e.alert_id"

static void fill_rule_event(sqlite3_stmt *st, void *row)
{
    struct rule_event_row *r = row;
    int64_t *ids[] = {&r->id,   &r->at, &r->account, &r->thread,    &r->message,
                      &r->stay, &r->wo, &r->alert,   &r->cause_fire};
    int i = 0;
    for (size_t k = 0; k < ARRAY_LEN(ids); k++)
        *ids[k] = sqlite3_column_int64(st, i++);
    r->depth = sqlite3_column_int(st, i++);
    char **texts1[] = {&r->kind,    &r->old_value,    &r->new_value, &r->actor,
                       &r->origin,  &r->account_name, &r->adapter,   &r->thread_kind,
                       &r->channel, &r->subject,      &r->assignee,  &r->tags};
    for (size_t k = 0; k < ARRAY_LEN(texts1); k++)
        *texts1[k] = col_text0(st, i++);
    r->snoozed_until = sqlite3_column_int64(st, i++);
    r->text = col_text0(st, i++);
    r->sent_at = sqlite3_column_int64(st, i++);
    char **texts2[] = {&r->property,    &r->unit,         &r->stay_status, &r->arrival,
                       &r->departure,   &r->confirmation, &r->door_code,   &r->guest_name,
                       &r->wo_title,    &r->wo_status,    &r->wo_priority, &r->wo_trade,
                       &r->wo_assignee, &r->vendor};
    for (size_t k = 0; k < ARRAY_LEN(texts2); k++)
        *texts2[k] = col_text0(st, i++);
    r->guest_first = first_word(r->guest_name);
    r->wo_vendor = sqlite3_column_int64(st, i++);
    r->window_start = sqlite3_column_int64(st, i++);
    r->window_end = sqlite3_column_int64(st, i++);
    r->alert_kind = col_text0(st, i++);
    r->alert_subject = col_text0(st, i++);
    r->alert_message = col_text0(st, i++);
}

void rule_event_list_free(struct rule_event_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct rule_event_row *r = &l->rows[i];
        char **owned[] = {&r->kind,        &r->old_value,     &r->new_value,    &r->actor,
                          &r->origin,      &r->account_name,  &r->adapter,      &r->thread_kind,
                          &r->channel,     &r->subject,       &r->assignee,     &r->tags,
                          &r->text,        &r->property,      &r->unit,         &r->stay_status,
                          &r->arrival,     &r->departure,     &r->confirmation, &r->door_code,
                          &r->guest_name,  &r->guest_first,   &r->wo_title,     &r->wo_status,
                          &r->wo_priority, &r->wo_trade,      &r->wo_assignee,  &r->vendor,
                          &r->alert_kind,  &r->alert_subject, &r->alert_message};
        for (size_t k = 0; k < ARRAY_LEN(owned); k++)
            free(*owned[k]);
    }
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

static int rule_events_query(struct store *s, const char *where, int64_t arg, int64_t arg2,
                             struct rule_event_list *out, struct err *e)
{
    char sql[4096];
    memset(out, 0, sizeof(*out));
    snprintf(sql, sizeof(sql), "%s %s", RULE_EVENT_SELECT, where);
    sqlite3_stmt *st = prep(s, sql, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, arg);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, arg2);
    if (collect(s, st, sizeof(*out->rows), fill_rule_event, (void **)&out->rows, &out->n,
                "rule events", e) != 0) {
        rule_event_list_free(out);
        return -1;
    }
    return 0;
}

int store_rule_events(struct store *s, int64_t now, size_t limit, struct rule_event_list *out,
                      struct err *e)
{
    /* A status porter set waits until the PMS has answered its write: a rule acts on a
     * change that happened, not on one that may still lose a conflict. */
    return rule_events_query(
        s,
        "WHERE e.state = 'new' AND NOT (e.kind = 'wo_status' AND e.origin <> 'pms'"
        " AND EXISTS (SELECT 1 FROM outbox o WHERE o.entity = 'work_order'"
        "   AND o.entity_id = e.work_order_id AND o.op IN ('wo_create', 'wo_status')"
        "   AND o.state IN ('pending', 'inflight')))"
        /* a new booking's conversation follows it within seconds: a stay's event waits
         * for its thread up to a minute */
        " AND NOT (e.stay_id IS NOT NULL AND e.thread_id IS NULL AND e.at > ?2 - 60000"
        "   AND NOT EXISTS (SELECT 1 FROM thread x WHERE x.stay_id = e.stay_id))"
        " ORDER BY e.id LIMIT ?1",
        (int64_t)limit, now, out, e);
}

int store_rule_event_get(struct store *s, int64_t id, struct rule_event_list *out, struct err *e)
{
    return rule_events_query(s, "WHERE e.id = ?1", id, 0, out, e);
}

int store_rule_event_add(struct store *s, const char *kind, int64_t account, int64_t thread,
                         int64_t message, int64_t stay, int64_t wo, const char *old_value,
                         const char *new_value, int64_t *id, struct err *e)
{
    sqlite3_stmt *st = prep(s,
                            "INSERT INTO rule_event(at, kind, account_id, thread_id, message_id,"
                            " stay_id, work_order_id, old_value, new_value, actor)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'test')",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now_ms());
    bind_text(st, 2, kind);
    bind_id(st, 3, account);
    bind_id(st, 4, thread);
    bind_id(st, 5, message);
    bind_id(st, 6, stay);
    bind_id(st, 7, wo);
    bind_text(st, 8, old_value);
    bind_text(st, 9, new_value);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(s, e, rc, "rule event");
    if (id)
        *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

/* Run one statement of two integer parameters (the second optional). */
static int exec_ids(struct store *s, const char *sql, int64_t a, int64_t b, const char *what,
                    struct err *e)
{
    sqlite3_stmt *st = prep(s, sql, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_err(s, e, rc, what);
}

static int query_int(struct store *s, const char *sql, int64_t *out, const char *what,
                     struct err *e)
{
    sqlite3_stmt *st = prep(s, sql, e);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(s, e, rc, what);
}

int store_rule_event_done(struct store *s, int64_t event, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_RULE_EVENT_DONE, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, event);
    return run(s, st, e, "rule event");
}

int store_rule_event_max(struct store *s, int64_t *max, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_RULE_EVENT_MAX, e);
    *max = 0;
    return st && one_int(s, st, max, e, "rule events") >= 0 ? 0 : -1;
}

int store_rule_events_caused(struct store *s, int64_t after, int64_t fire, int depth, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_RULE_EVENTS_CAUSED, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, fire);
    sqlite3_bind_int(st, 3, depth);
    return run(s, st, e, "rule events");
}

int store_rule_fire_cause(struct store *s, int64_t fire, char **rule, int64_t *cause, struct err *e)
{
    *rule = NULL;
    *cause = 0;
    sqlite3_stmt *st = prep(s,
                            "SELECT f.rule, coalesce(ev.cause_fire, 0) FROM rule_fire f"
                            " LEFT JOIN rule_event ev ON ev.id = f.event_id WHERE f.id = ?1",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, fire);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *rule = col_text0(st, 0);
        *cause = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(s, e, rc, "rule cause");
}

int store_rule_fired(struct store *s, const char *rule, int64_t event, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_RULE_FIRED, e);
    if (!st)
        return -1;
    bind_text(st, 1, rule);
    sqlite3_bind_int64(st, 2, event);
    return one_int(s, st, NULL, e, "rule fired");
}

int store_rule_fire_add(struct store *s, const char *rule, int64_t event, const char *outcome,
                        const char *summary, const char *error, int64_t *fire, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_RULE_FIRE_ADD, e);
    if (!st)
        return -1;
    bind_text(st, 1, rule);
    sqlite3_bind_int64(st, 2, event);
    sqlite3_bind_int64(st, 3, now_ms());
    bind_text(st, 4, outcome);
    bind_text(st, 5, summary);
    bind_text(st, 6, error);
    if (run(s, st, e, "rule firing") != 0)
        return -1;
    if (fire)
        *fire = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_rule_fire_set(struct store *s, int64_t fire, const char *outcome, const char *summary,
                        const char *error, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_RULE_FIRE_SET, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, fire);
    bind_text(st, 2, outcome);
    bind_text(st, 3, summary);
    bind_text(st, 4, error);
    return run(s, st, e, "rule firing");
}

int store_rule_action_add(struct store *s, int64_t fire, const char *action, const char *entity,
                          int64_t entity_id, const char *old_value, const char *new_value,
                          const char *state, const char *detail, int64_t *id, struct err *e)
{
    sqlite3_stmt *st = stmt(s, STMT_RULE_ACTION_ADD, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, fire);
    bind_text(st, 2, action);
    bind_text(st, 3, entity);
    bind_id(st, 4, entity_id);
    bind_text(st, 5, old_value);
    bind_text(st, 6, new_value);
    bind_text(st, 7, state);
    bind_text(st, 8, detail);
    if (run(s, st, e, "rule action") != 0)
        return -1;
    if (id)
        *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_rule_action_set(struct store *s, int64_t action, const char *state, const char *detail,
                          struct err *e)
{
    sqlite3_stmt *st = prep(
        s, "UPDATE rule_action SET state = ?2, detail = coalesce(?3, detail) WHERE id = ?1", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, action);
    bind_text(st, 2, state);
    bind_text(st, 3, detail);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, rc, "rule action");
}

int store_rule_time_events(struct store *s, const char *kind, const char *today, int64_t now,
                           int64_t after_ms, int64_t max_age_ms, struct err *e)
{
    const char *sql;
    if (strcmp(kind, "sla") == 0)
        sql = "INSERT OR IGNORE INTO rule_event(at, kind, account_id, thread_id, new_value, key)"
              " SELECT ?2, 'sla', t.account_id, t.id, ?3,"
              "   'sla:' || ?3 || ':' || t.id || ':' || t.last_inbound_at"
              " FROM thread t JOIN account a ON a.id = t.account_id"
              " WHERE t.needs_reply = 1 AND t.done = 0 AND a.last_pull_at IS NOT NULL"
              "   AND (t.snoozed_until IS NULL OR t.snoozed_until <= ?2)"
              "   AND t.last_inbound_at <= ?2 - ?3 AND t.last_inbound_at > ?2 - ?4";
    else if (strcmp(kind, "checkin") == 0 || strcmp(kind, "checkout") == 0)
        sql =
            strcmp(kind, "checkin") == 0
                ? "INSERT OR IGNORE INTO rule_event(at, kind, account_id, stay_id, new_value, key)"
                  " SELECT ?2, 'checkin', st.account_id, st.id, ?1,"
                  "   'checkin:' || st.id || ':' || ?1"
                  " FROM stay st JOIN account a ON a.id = st.account_id"
                  " WHERE substr(st.arrival, 1, 10) = ?1 AND a.last_pull_at IS NOT NULL"
                  "   AND st.status NOT IN ('cancelled', 'inquiry', 'declined', 'expired')"
                : "INSERT OR IGNORE INTO rule_event(at, kind, account_id, stay_id, new_value, key)"
                  " SELECT ?2, 'checkout', st.account_id, st.id, ?1,"
                  "   'checkout:' || st.id || ':' || ?1"
                  " FROM stay st JOIN account a ON a.id = st.account_id"
                  " WHERE substr(st.departure, 1, 10) = ?1 AND a.last_pull_at IS NOT NULL"
                  "   AND st.status NOT IN ('cancelled', 'inquiry', 'declined', 'expired')";
    else
        return err_set(e, STORE_EINVAL, FINAL, "no time-based event '%s'", kind);
    sqlite3_stmt *st = prep(s, sql, e);
    if (!st)
        return -1;
    /* ?1 is only in the stay queries, ?3 and ?4 only in the thread one */
    if (strcmp(kind, "sla") != 0)
        bind_text(st, 1, today);
    sqlite3_bind_int64(st, 2, now);
    if (strcmp(kind, "sla") == 0) {
        sqlite3_bind_int64(st, 3, after_ms);
        sqlite3_bind_int64(st, 4, max_age_ms);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(s, e, rc, "time-based rule events");
    return sqlite3_changes(s->db);
}

int store_rule_prune(struct store *s, int64_t before, struct err *e)
{
    if (exec_ids(s,
                 "DELETE FROM rule_event WHERE state = 'done' AND at < ?1 AND NOT EXISTS"
                 " (SELECT 1 FROM rule_fire f WHERE f.event_id = rule_event.id)",
                 before, 0, "rule events", e) != 0)
        return -1;
    return sqlite3_changes(s->db);
}

int store_wo_classify(struct store *s, int64_t wo, const char *trade, int64_t message,
                      struct err *e)
{
    sqlite3_stmt *st = prep(s,
                            "UPDATE work_order SET trade = coalesce(?2, trade),"
                            " message_id = coalesce(?3, message_id) WHERE id = ?1",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    bind_text(st, 2, trade);
    bind_id(st, 3, message);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, rc, "work order");
}

int store_rule_vendor(struct store *s, int64_t wo, const char *trade, int preferred_only,
                      const char *today, int64_t *vendor, char **name, struct err *e)
{
    *vendor = 0;
    *name = NULL;
    sqlite3_stmt *st = prep(
        s,
        "SELECT v.id, v.name, EXISTS (SELECT 1 FROM vendor_property vp WHERE vp.vendor_id = v.id"
        "   AND vp.property_id = w.property_id AND vp.preferred) AS pref"
        " FROM work_order w JOIN vendor v ON v.account_id = w.account_id"
        " WHERE w.id = ?1 AND v.active AND (?2 = '' OR lower(v.trade) = lower(?2))"
        "   AND (coalesce(v.insurance_expires, '') = '' OR v.insurance_expires >= ?4)"
        " ORDER BY pref DESC, v.name, v.id LIMIT 1",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, wo);
    bind_text(st, 2, trade ? trade : "");
    bind_text(st, 4, today);
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW && (!preferred_only || sqlite3_column_int(st, 2))) {
        *vendor = sqlite3_column_int64(st, 0);
        *name = col_text0(st, 1);
        found = 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(s, e, rc, "vendor");
    return found;
}

static void fill_rule_stat(sqlite3_stmt *st, void *row)
{
    struct rule_stat_row *r = row;
    r->rule = col_text0(st, 0);
    r->fired = sqlite3_column_int64(st, 1);
    r->errors = sqlite3_column_int64(st, 2);
    r->skipped = sqlite3_column_int64(st, 3);
    r->last_at = sqlite3_column_int64(st, 4);
    r->last_summary = col_text0(st, 5);
    r->last_error = col_text0(st, 6);
}

int store_rule_stats(struct store *s, struct rule_stat_list *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st =
        prep(s,
             "SELECT f.rule, sum(f.outcome IN ('done', 'partial')),"
             " sum(f.outcome IN ('failed', 'partial')), sum(f.outcome = 'skipped'),"
             " max(f.at) FILTER (WHERE f.outcome <> 'skipped'),"
             " (SELECT x.summary FROM rule_fire x WHERE x.rule = f.rule AND x.outcome <> 'skipped'"
             "   ORDER BY x.id DESC LIMIT 1),"
             " (SELECT x.error FROM rule_fire x WHERE x.rule = f.rule AND x.error IS NOT NULL"
             "   ORDER BY x.id DESC LIMIT 1)"
             " FROM rule_fire f GROUP BY f.rule ORDER BY f.rule",
             e);
    if (!st)
        return -1;
    if (collect(s, st, sizeof(*out->rows), fill_rule_stat, (void **)&out->rows, &out->n,
                "rule stats", e) != 0) {
        rule_stat_list_free(out);
        return -1;
    }
    return 0;
}

void rule_stat_list_free(struct rule_stat_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->rows[i].rule);
        free(l->rows[i].last_summary);
        free(l->rows[i].last_error);
    }
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

static void fill_rule_fire(sqlite3_stmt *st, void *row)
{
    struct rule_fire_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->event = sqlite3_column_int64(st, 1);
    r->at = sqlite3_column_int64(st, 2);
    r->undone_at = sqlite3_column_int64(st, 3);
    r->rule = col_text0(st, 4);
    r->outcome = col_text0(st, 5);
    r->summary = col_text0(st, 6);
    r->error = col_text0(st, 7);
    r->event_kind = col_text0(st, 8);
    r->undone_by = col_text0(st, 9);
}

static void fill_rule_action(sqlite3_stmt *st, void *row)
{
    struct rule_action_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->entity_id = sqlite3_column_int64(st, 1);
    r->action = col_text0(st, 2);
    r->entity = col_text0(st, 3);
    r->old_value = col_text0(st, 4);
    r->new_value = col_text0(st, 5);
    r->state = col_text0(st, 6);
    r->detail = col_text0(st, 7);
}

/* The actions of every firing in *out (those in `states` only, when not NULL). */
static int rule_fire_actions(struct store *s, struct rule_fire_list *out, const char *states,
                             struct err *e)
{
    for (size_t i = 0; i < out->n; i++) {
        sqlite3_stmt *st = prep(s,
                                "SELECT id, coalesce(entity_id, 0), action, entity, old_value,"
                                " new_value, state, detail FROM rule_action WHERE fire_id = ?1"
                                " AND (?2 IS NULL OR instr(?2, ',' || state || ',') > 0)"
                                " ORDER BY id",
                                e);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, out->rows[i].id);
        bind_text(st, 2, states);
        if (collect(s, st, sizeof(struct rule_action_row), fill_rule_action,
                    (void **)&out->rows[i].actions, &out->rows[i].nactions, "rule actions", e) != 0)
            return -1;
    }
    return 0;
}

#define RULE_FIRE_SELECT                                                                           \
    "SELECT f.id, f.event_id, f.at, coalesce(f.undone_at, 0), f.rule, f.outcome, f.summary,"       \
    " f.error, ev.kind, f.undone_by FROM rule_fire f LEFT JOIN rule_event ev ON ev.id = "          \
    "f.event_id"

int store_rule_fires(struct store *s, int64_t fire, size_t limit, struct rule_fire_list *out,
                     struct err *e)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = prep(s,
                            RULE_FIRE_SELECT " WHERE (?1 = 0 OR f.id = ?1) AND (?1 <> 0 OR"
                                             " f.outcome <> 'skipped') ORDER BY f.id DESC LIMIT ?2",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, fire);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    if (collect(s, st, sizeof(*out->rows), fill_rule_fire, (void **)&out->rows, &out->n,
                "rule firings", e) != 0 ||
        rule_fire_actions(s, out, NULL, e) != 0) {
        rule_fire_list_free(out);
        return -1;
    }
    return 0;
}

void rule_fire_list_free(struct rule_fire_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct rule_fire_row *r = &l->rows[i];
        free(r->rule);
        free(r->outcome);
        free(r->summary);
        free(r->error);
        free(r->event_kind);
        free(r->undone_by);
        for (size_t k = 0; k < r->nactions; k++) {
            struct rule_action_row *a = &r->actions[k];
            free(a->action);
            free(a->entity);
            free(a->old_value);
            free(a->new_value);
            free(a->state);
            free(a->detail);
        }
        free(r->actions);
    }
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

int store_rule_fire_undone(struct store *s, int64_t fire, const char *who, struct err *e)
{
    sqlite3_stmt *st =
        prep(s, "UPDATE rule_fire SET undone_at = ?2, undone_by = ?3 WHERE id = ?1", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, fire);
    sqlite3_bind_int64(st, 2, now_ms());
    bind_text(st, 3, who);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, rc, "rule firing");
}

int store_rule_commands(struct store *s, size_t limit, struct rule_fire_list *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    if (exec_ids(s,
                 "UPDATE rule_action SET state = 'failed', detail = 'porter stopped while it ran:"
                 " not run again' WHERE state = 'running' AND ?1 = ?1",
                 0, 0, "rule commands", e) != 0)
        return -1;
    sqlite3_stmt *st = prep(s,
                            RULE_FIRE_SELECT " WHERE f.id IN (SELECT fire_id FROM rule_action"
                                             " WHERE state = 'queued') ORDER BY f.id LIMIT ?1",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (int64_t)limit);
    if (collect(s, st, sizeof(*out->rows), fill_rule_fire, (void **)&out->rows, &out->n,
                "rule commands", e) != 0 ||
        rule_fire_actions(s, out, ",queued,", e) != 0) {
        rule_fire_list_free(out);
        return -1;
    }
    return 0;
}

int store_rule_bell_max(struct store *s, int64_t *max, struct err *e)
{
    return query_int(s, "SELECT coalesce(max(id), 0) FROM rule_action WHERE action = 'bell'", max,
                     "rule bells", e);
}

/* 1 when every op of the entity is pending and never attempted (and there is one). */
static int untouched(struct store *s, const char *entity, int64_t id, struct err *e)
{
    sqlite3_stmt *st = prep(s,
                            "SELECT count(*), coalesce(sum(state = 'pending' AND attempts = 0), 0)"
                            " FROM outbox WHERE entity = ?1 AND entity_id = ?2",
                            e);
    if (!st)
        return -1;
    bind_text(st, 1, entity);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    int ok = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0 &&
             sqlite3_column_int64(st, 0) == sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return db_err(s, e, rc, "withdraw");
    return ok;
}

static int withdraw_tx(struct store *s, const char *entity, int64_t id, struct err *e)
{
    int u = untouched(s, entity, id, e);
    if (u <= 0)
        return u;
    int64_t thread = 0;
    if (strcmp(entity, "message") == 0) { /* the thread whose derived columns follow */
        sqlite3_stmt *st = prep(s, "SELECT thread_id FROM message WHERE id = ?1", e);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            thread = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_stmt *st = prep(s,
                            "UPDATE outbox SET state = 'dead', last_error = 'withdrawn'"
                            " WHERE entity = ?1 AND entity_id = ?2",
                            e);
    if (!st)
        return -1;
    bind_text(st, 1, entity);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(s, e, rc, "withdraw");
    if (exec_ids(s,
                 strcmp(entity, "message") == 0 ? "DELETE FROM message WHERE id = ?1"
                                                : "DELETE FROM work_order WHERE id = ?1",
                 id, 0, "withdraw", e) != 0)
        return -1;
    if (thread) {
        const enum stmt_id steps[] = {STMT_THREAD_REDERIVE, STMT_THREAD_REDERIVE_SLA};
        for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
            if (!(st = stmt(s, steps[i], e)))
                return -1;
            sqlite3_bind_int64(st, 1, thread);
            if (run(s, st, e, "withdraw") != 0)
                return -1;
        }
    }
    return 1;
}

static int withdraw(struct store *s, const char *entity, int64_t id, struct err *e)
{
    if (tx_enter(s, e) != 0)
        return -1;
    int rc = withdraw_tx(s, entity, id, e);
    return tx_leave(s, rc >= 0, rc, e);
}

int store_message_withdraw(struct store *s, int64_t msg, struct err *e)
{
    return withdraw(s, "message", msg, e);
}

int store_wo_withdraw(struct store *s, int64_t wo, struct err *e)
{
    return withdraw(s, "work_order", wo, e);
}

int store_field_get(struct store *s, const char *entity, int64_t id, const char *field,
                    char **value, struct err *e)
{
    static const char *const allowed[][2] = {
        {"thread", "assignee"},     {"thread", "tags"},         {"thread", "snoozed_until"},
        {"work_order", "status"},   {"work_order", "priority"}, {"work_order", "vendor_id"},
        {"work_order", "assignee"}, {"work_order", "title"},    {"message", "send_state"},
        {"message", "remote_id"},
    };
    *value = NULL;
    size_t i;
    for (i = 0; i < ARRAY_LEN(allowed); i++)
        if (strcmp(allowed[i][0], entity) == 0 && strcmp(allowed[i][1], field) == 0)
            break;
    if (i == ARRAY_LEN(allowed))
        return err_set(e, STORE_EINVAL, FINAL, "no field %s.%s", entity, field);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE id = ?1", allowed[i][1], allowed[i][0]);
    sqlite3_stmt *st = prep(s, sql, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *value = col_text0(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(s, e, rc, "field");
}

int store_account_find(struct store *s, const char *name, int64_t *id, struct err *e)
{
    *id = 0;
    sqlite3_stmt *st = prep(s, "SELECT id FROM account WHERE name = ?1", e);
    if (!st)
        return -1;
    bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(s, e, rc, "account");
    return rc == SQLITE_ROW;
}

int store_wo_open_by(struct store *s, int64_t thread, const char *actor, int64_t within_ms,
                     int64_t *wo, struct err *e)
{
    *wo = 0;
    sqlite3_stmt *st = prep(s,
                            "SELECT w.id FROM work_order w JOIN wo_event ev ON ev.work_order_id ="
                            " w.id AND ev.kind = 'created' AND ev.actor = ?2"
                            " WHERE w.thread_id = ?1 AND w.created_at >= ?3"
                            "   AND w.status NOT IN ('completed', 'closed', 'cancelled')"
                            " ORDER BY w.id DESC LIMIT 1",
                            e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, thread);
    bind_text(st, 2, actor);
    sqlite3_bind_int64(st, 3, now_ms() - within_ms);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *wo = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(s, e, rc, "work order");
    return rc == SQLITE_ROW;
}
