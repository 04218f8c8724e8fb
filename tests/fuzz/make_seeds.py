#!/usr/bin/env python3
"""make_seeds.py - (re)write the seed corpora of the fuzz targets in tests/fuzz/corpus/.

    python3 tests/fuzz/make_seeds.py        (from the top of the tree)

Sources: the recorded demo accounts of data/demo/*.json, split into single webhook events
and single API pages in the shapes the adapters read (see each adapter's top comment and
tests/pmsim/), plus JSONTestSuite-style edge cases (deep nesting, huge and odd numbers,
invalid UTF-8, NUL bytes, lone surrogates, trailing garbage, duplicate keys, wrong types).
The input formats are described at the top of each tests/fuzz/fuzz_*.c. Deterministic:
running it twice writes the same files. Seeds are kept small (libFuzzer -max_len).
"""
import base64
import copy
import hashlib
import hmac
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
SEP = b"\n%%\n"


def load(name):
    with open(os.path.join(ROOT, "data", "demo", name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def j(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


class Corpus:
    def __init__(self, target):
        self.dir = os.path.join(OUT, target)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.seen = set()

    def add(self, name, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if data in self.seen:
            return
        self.seen.add(data)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]
        with open(os.path.join(self.dir, safe), "wb") as f:
            f.write(data)


def seed(cmd, *parts):
    return cmd.encode() + b"\n" + SEP.join(p if isinstance(p, bytes) else j(p) for p in parts)


# ---- JSONTestSuite-style values and documents ----

EDGE_VALUES = [
    None, True, False, 0, -1, 1.5, 1e308, -1e308, 9007199254740993, 18446744073709551616,
    "", " ", "x" * 300, "\u0000", "\ud800", "\udc00\ud800", "\u202e\u2066evil", "\u001b[2J\u001b]0;t\u0007",
    "2026-13-45 25:61:61", "0000-00-00", "9999-12-31T23:59:60Z", "1969-12-31T23:59:59.999Z",
    "2026-05-06T02:43:00.123456789+00:00", "2026-05-06 02:43:00Z", [], {}, [1, 2], {"_id": "x"},
]

RAW_EDGE_DOCS = [
    b"", b"null", b"[]", b"{}", b"\"str\"", b"   \n\t ", b"{", b"{\"a\":", b"{\"a\":1}xyz",
    b"{\"a\":1}}", b"\xef\xbb\xbf{}", b"{\"a\":\"\xff\xfe\"}", b"{\"a\":\"\xc0\xaf\"}",
    b"{\"a\":\"\xed\xa0\x80\"}", b"{\"a\":\"\\ud800\"}", b"{\"a\":\"\\u0000b\"}", b"{\"a\":\"a\x00b\"}",
    b"{\"a\":1e400}", b"{\"a\":-1e400}", b"{\"a\":123456789012345678901234567890}", b"{\"a\":-0}",
    b"{\"a\":1E-400}", b"{\"a\":NaN}", b"{\"a\":Infinity}", b"{\"a\":01}", b"{\"a\":.5}",
    b"{\"a\":1,\"a\":\"x\"}", b"{'a':1}", b"{\"a\":[1,]}", b"{\"a\":tru}", b"[" * 2000 + b"]" * 2000,
    b"{\"a\":" * 1100 + b"1" + b"}" * 1100, b"[\"" + b"\\u00e9" * 500 + b"\"]",
]


def mutate_fields(rec, limit=None):
    """One variant per field: the field replaced by an edge value, then the field removed."""
    out = []
    keys = list(rec.keys())[:limit]
    for i, k in enumerate(keys):
        r = copy.deepcopy(rec)
        r[k] = EDGE_VALUES[i % len(EDGE_VALUES)]
        out.append((k + "-edge", r))
        r = copy.deepcopy(rec)
        del r[k]
        out.append((k + "-gone", r))
    return out


def deep(depth, leaf):
    o = leaf
    for _ in range(depth):
        o = {"data": o}
    return o


# ---- hostaway ----

def hostaway():
    c = Corpus("hostaway")
    d = load("hostaway")
    res, msgs, convs = d["reservations"], d["messages"], d["conversations"]
    env = lambda items, count=None: {"status": "success", "result": items, "count": count
                                     if count is not None else len(items), "limit": 100, "offset": 0}
    one = lambda o: {"status": "success", "result": o}
    for i, r in enumerate(res[:8]):
        ev = "reservation.created" if i % 2 == 0 else "reservation.updated"
        body = {"object": "reservation", "event": ev, "accountId": 10450, "data": r}
        c.add("hook-res-%d" % i, seed("hook " + ev, body))
        # the listing is fetched when the sink says the parent is missing
        c.add("hook-res-noparent-%d" % i, seed("hook %s @3" % ev, body, one(d["listings"][i % 6])))
    conv_by_id = {cv["id"]: cv for cv in convs}
    for i, m in enumerate(msgs[:10]):
        body = {"object": "message", "event": "message.received", "accountId": 10450, "data": m}
        cv = conv_by_id.get(m["conversationId"], convs[0])
        c.add("hook-msg-%d" % i, seed("hook message.received", body, one(cv)))
        c.add("hook-msg-noparent-%d" % i, seed("hook message.received @1", body, one(cv), one(cv)))
    base = {"object": "reservation", "event": "reservation.created", "data": res[0]}
    for name, r in mutate_fields(res[0], 30):
        c.add("hook-res-" + name, seed("hook reservation.created", dict(base, data=r)))
    for name, m in mutate_fields(msgs[0], 20):
        c.add("hook-msg-" + name, seed("hook message.received", dict(base, event="message.received",
                                                                       data=m), one(convs[0])))
    for i, doc in enumerate(RAW_EDGE_DOCS):
        c.add("hook-json-%d" % i, b"hook reservation.created\n" + doc)
        c.add("hook-page-json-%d" % i, seed("hook message.received", dict(base, data=msgs[1]), doc))
    c.add("hook-deep", seed("hook reservation.created", deep(200, {"id": 1})))
    c.add("hook-other", seed("hook listing.updated", {"event": "listing.updated", "data": {}}))
    # pulls: one page per entity, and paged walks
    for ent, key in (("property", "listings"), ("unit", "listings"), ("vendor", "users"),
                     ("work_order", "tasks"), ("stay", "reservations"), ("thread", "conversations")):
        items = d[key]
        c.add("pull-" + ent, seed("pull " + ent, env(items[:12])))
        c.add("pull-%s-cursor" % ent, seed("pull %s hw=1778000000000;off=100;max=0" % ent,
                                           env(items[:3], 103)))
        for name, r in mutate_fields(items[0], 12):
            c.add("pull-%s-%s" % (ent, name), seed("pull " + ent, env([r] + items[1:3])))
    msgs_of = lambda cid: [m for m in msgs if m["conversationId"] == cid]
    pages = [env(convs[:3], 3)] + [env(msgs_of(cv["id"])) for cv in convs[:3]]
    c.add("pull-message", seed("pull message", *pages))
    c.add("pull-message-since", seed("pull message hw=1778000000000;off=0;max=0", *pages))
    c.add("pull-stay-after", seed("pull stay hw=1778000000000;after=2107;max=0", env(res[:5], 5)))
    # errors and token renewal
    c.add("pull-403-mint", seed("pull property", b"HTTP 403\n\n{\"status\":\"fail\",\"message\":\"token expired\"}",
                                {"access_token": "new", "expires_in": 3600}, env(d["listings"])))
    c.add("pull-403-wrapped", seed("pull unit", b"HTTP 403\n\n{\"message\":\"Unauthorized\"}",
                                   {"status": "success", "result": {"access_token": "t", "expires_in": 1e300}},
                                   env(d["listings"])))
    c.add("pull-403-locked", seed("pull stay", b"HTTP 403\n\n{\"message\":\"reservation is locked\"}"))
    c.add("pull-429", seed("pull stay", b"HTTP 429\nRetry-After: 5\n\n{\"message\":\"slow down\"}"))
    c.add("pull-500", seed("pull thread", b"HTTP 500\n\n<html>oops</html>"))
    c.add("pull-timeout", seed("pull vendor", b"!"))
    c.add("pull-fail", seed("pull work_order", {"status": "fail", "result": "bad"}))
    # writes and lookups
    t = d["tasks"][0]
    c.add("push-reply", seed("push reply", {"thread": "35460014", "channel": "airbnb", "body": "Hi"},
                             one({"id": 9, "date": "2026-05-06 02:43:00"})))
    c.add("push-reply-nochan", seed("push reply", {"thread": "x", "channel": "fax", "body": "Hi"}))
    c.add("push-note", seed("push note", {"thread": "1", "body": "n"}))
    c.add("push-wo_create", seed("push wo_create", {"title": "Fix", "description": "d", "priority": "high",
                                                    "unit": "40160", "stay": "2107", "trade": "cleaning"},
                                 one(t)))
    c.add("push-wo_status", seed("push wo_status 880101", {"status": "in_progress"}, one(t)))
    c.add("push-wo_vendor", seed("push wo_vendor 880101", {"vendor": "7001"}, one(t)))
    c.add("push-wo_priority", seed("push wo_priority 880101", {"priority": "emergency"}, one(t)))
    c.add("push-wo_schedule", seed("push wo_schedule 880101", {"start": 1778000000000, "end": 1e300}, one(t)))
    c.add("find-reply", seed("find reply", {"thread": "35460014", "body": msgs[1]["body"]},
                             env([dict(m, isIncoming=0) for m in msgs_of(35460014)])))
    c.add("find-wo_create", seed("find wo_create", {"title": t["title"], "description": t["description"],
                                                    "unit": "40161", "stay": "2144"}, env(d["tasks"])))
    c.add("find-wo_status", seed("find wo_status 880101", {"status": "new"}, one(t)))


# ---- guesty ----

def guesty():
    c = Corpus("guesty")
    d = load("guesty")
    convs, posts, tasks = d["conversations"], d["posts"], d["tasks"]
    res_by = {r["_id"]: r for r in d["reservations"]}
    lst = lambda items, key="results": {key: items, "count": len(items), "limit": 100, "skip": 0}
    wrap = lambda o: {"status": 200, "data": o}
    posts_of = lambda cid: [p for p in posts if p["conversationId"] == cid]
    for i, p in enumerate(posts[:12]):
        cv = next((x for x in convs if x["_id"] == p["conversationId"]), convs[0])
        msg = {"_id": p["_id"], "postId": p["_id"],
               "type": "fromGuest" if p.get("sentBy") == "guest" else "fromHost",
               "body": p["body"], "module": p["module"]["type"], "createdAt": p["createdAt"]}
        ev = "reservation.messageReceived" if i % 2 == 0 else "reservation.messageSent"
        body = {"event": ev, "reservationId": "x", "conversation": dict(cv, thread=[p]), "message": msg}
        c.add("hook-msg-%d" % i, seed("hook " + ev, body))
        rid = ((cv.get("meta") or {}).get("reservations") or [{}])[0].get("_id")
        c.add("hook-msg-noparent-%d" % i, seed("hook %s @1" % ev, body, wrap(cv),
                                               lst(posts_of(cv["_id"]), "posts"),
                                               res_by.get(rid, d["reservations"][0])))
        if i == 0:
            for name, m in mutate_fields(msg):
                c.add("hook-msg-" + name, seed("hook " + ev, dict(body, message=m)))
    for i, t in enumerate(tasks):
        ev = "task.created" if i % 2 == 0 else "task.updated"
        c.add("hook-task-%d" % i, seed("hook " + ev, {"task": t, "by": "u", "event": ev}))
    c.add("hook-task-noparent", seed("hook task.updated @1", {"task": tasks[0], "event": "task.updated"}))
    for name, t in mutate_fields(tasks[0], 24):
        c.add("hook-task-" + name, seed("hook task.created", {"task": t}))
    for i, doc in enumerate(RAW_EDGE_DOCS):
        c.add("hook-json-%d" % i, b"hook task.created\n" + doc)
        c.add("hook-get-json-%d" % i, seed("hook reservation.messageReceived @1", {
            "conversation": {"_id": convs[0]["_id"]}, "message": {"_id": "p", "body": "b", "type": "fromGuest",
                                                                 "createdAt": "2026-05-01T09:00:00.000Z"}}, doc))
    for ent, key in (("property", "listings"), ("unit", "listings"), ("vendor", "users"),
                     ("stay", "reservations"), ("work_order", "tasks")):
        items = d[key]
        c.add("pull-" + ent, seed("pull " + ent, lst(items[:10])))
        c.add("pull-%s-data" % ent, seed("pull %s skip=100" % ent, wrap(lst(items[:2]))))
        for name, r in mutate_fields(items[0], 14):
            c.add("pull-%s-%s" % (ent, name), seed("pull " + ent, lst([r] + items[1:3])))
    cpage = wrap({"conversations": convs[:3], "cursor": {"after": "abc"}})
    c.add("pull-thread", seed("pull thread", cpage, *[wrap({"posts": posts_of(cv["_id"])}) for cv in convs[:3]]))
    c.add("pull-message", seed("pull message hw=1777000000000;max=0;after=", cpage,
                               *[wrap({"posts": posts_of(cv["_id"]), "cursor": {"after": ""}}) for cv in convs[:3]]))
    for name, cv in mutate_fields(convs[0], 10):
        c.add("pull-thread-" + name, seed("pull thread", wrap({"conversations": [cv]}), wrap({"posts": posts[:3]})))
    c.add("pull-401-mint", seed("pull property", b"HTTP 401\n\n{\"error\":{\"message\":\"expired\"}}",
                                {"access_token": "n", "expires_in": 86400, "token_type": "Bearer"}, lst(d["listings"])))
    c.add("pull-404-string", seed("pull stay", b"HTTP 404\n\nReservation Not Found"))
    c.add("pull-400-data", seed("pull stay", b"HTTP 400\n\n{\"error\":{\"message\":\"Bad\",\"data\":[\"limit\"]}}"))
    c.add("pull-429-mint", seed("pull vendor", b"HTTP 403\n\n{}", b"HTTP 429\n\n{\"error_description\":\"cap\"}"))
    t = tasks[0]
    c.add("push-reply", seed("push reply", {"thread": convs[0]["_id"], "channel": "airbnb", "body": "Hi"},
                             wrap({"_id": "69e92d8eb985dd2c0000aaaa", "createdAt": "2026-05-01T09:00:00.000Z"})))
    c.add("push-note", seed("push note", {"thread": convs[0]["_id"], "body": "n"}, {"_id": "x"}))
    c.add("push-wo_create", seed("push wo_create", {"title": "Fix", "description": "d", "priority": "high",
                                                    "unit": t["listingId"], "trade": "maintenance"}, t))
    for op, p in (("wo_status", {"status": "completed"}), ("wo_priority", {"priority": "low"}),
                  ("wo_vendor", {"vendor": t["assigneeId"]}), ("wo_schedule", {"start": 1778000000000, "end": 1778003600000})):
        c.add("push-" + op, seed("push %s %s" % (op, t["_id"]), p, t))
    c.add("find-reply", seed("find reply", {"thread": convs[0]["_id"], "body": posts[1]["body"]},
                             wrap({"posts": posts_of(convs[0]["_id"])})))
    c.add("find-wo_status", seed("find wo_status " + t["_id"], {"status": "in_progress"}, t))
    c.add("find-wo_create", seed("find wo_create", {"title": t["title"], "unit": t["listingId"]}, lst(tasks)))


# ---- buildium ----

def buildium():
    c = Corpus("buildium")
    d = load("buildium")
    tasks, hist, wos = d["tasks"], d["task_history"], d["workorders"]
    clean = lambda o: {k: v for k, v in o.items() if not k.startswith("_")}
    page = lambda items, total=None: b"HTTP 200\nX-Total-Count: %d\n\n" % (
        len(items) if total is None else total) + j([clean(x) for x in items])
    for i, w in enumerate(wos[:8]):
        ev = "WorkOrder.Created" if i % 2 == 0 else "WorkOrder.Updated"
        c.add("hook-wo-%d" % i, seed("hook " + ev, {"EventName": ev, "AccountId": 1, "WorkOrderId": w["Id"]},
                                     clean(w)))
    for i, t in enumerate(tasks[:6]):
        c.add("hook-task-%d" % i, seed("hook Task.Updated", {"EventName": "Task.Updated", "TaskId": t["Id"],
                                                             "TaskType": t.get("TaskType")}, clean(t)))
    for i, h in enumerate(hist[:8]):
        tid = h.get("_TaskId", tasks[0]["Id"])
        t = next((x for x in tasks if x["Id"] == tid), tasks[0])
        c.add("hook-hist-%d" % i, seed("hook Task.History.Created", {"EventName": "Task.History.Created",
                                                                     "TaskId": tid, "TaskHistoryId": h["Id"]},
                                       clean(t), clean(h)))
    c.add("hook-deleted", seed("hook WorkOrder.Deleted", {"EventName": "WorkOrder.Deleted", "WorkOrderId": 1}))
    c.add("hook-404", seed("hook WorkOrder.Updated", {"WorkOrderId": 5}, b"HTTP 404\n\n{\"UserMessage\":\"gone\"}"))
    c.add("hook-noparent", seed("hook WorkOrder.Updated @7", {"WorkOrderId": wos[0]["Id"]}, clean(wos[0])))
    for name, w in mutate_fields(clean(wos[0])):
        c.add("hook-wo-" + name, seed("hook WorkOrder.Created", {"WorkOrderId": 1}, w))
    for name, t in mutate_fields(clean(tasks[0])):
        c.add("hook-task-" + name, seed("hook Task.Created", {"TaskId": 1}, t))
    for name, h in mutate_fields(clean(hist[0])):
        c.add("hook-hist-" + name, seed("hook Task.History.Updated", {"TaskId": 1, "TaskHistoryId": 2},
                                        clean(tasks[0]), h))
    for i, doc in enumerate(RAW_EDGE_DOCS):
        c.add("hook-json-%d" % i, b"hook WorkOrder.Created\n" + doc)
        c.add("hook-get-json-%d" % i, seed("hook WorkOrder.Created", {"WorkOrderId": 1}, doc))
    for ent, key in (("property", "rentals"), ("unit", "units"), ("contact", "tenants"), ("stay", "leases"),
                     ("thread", "tasks"), ("work_order", "workorders")):
        items = d[key]
        c.add("pull-" + ent, seed("pull " + ent, page(items[:10])))
        c.add("pull-%s-more" % ent, seed("pull %s from=2026-11-01;off=1000;start=1790000000000" % ent,
                                         page(items[:2], 1002)))
        for name, r in mutate_fields(clean(items[0]), 14):
            c.add("pull-%s-%s" % (ent, name), seed("pull " + ent, page([r] + items[1:3])))
    rentals = d["rentals"]
    pv = {p["PropertyId"]: p["VendorIds"] for p in d["preferred_vendors"]}
    vend_by = {v["Id"]: v for v in d["vendors"]}
    c.add("pull-vendor", seed("pull vendor", page(rentals),
                              *[page([vend_by[v] for v in pv.get(r["Id"], []) if v in vend_by]) for r in rentals],
                              page(d["vendors"])))
    hist_of = lambda tid: [h for h in hist if h.get("_TaskId") == tid]
    c.add("pull-message", seed("pull message", page(tasks[:3]), *[page(hist_of(t["Id"])) for t in tasks[:3]]))
    c.add("pull-401", seed("pull property", b"HTTP 401\n\n{\"UserMessage\":\"bad key\"}"))
    c.add("pull-422", seed("pull unit", b"HTTP 422\n\n{\"UserMessage\":\"Invalid\",\"Errors\":[{\"Key\":\"limit\",\"Value\":\"too big\"},{\"Value\":\"x\"}]}"))
    c.add("pull-badcursor", seed("pull work_order from=9999-99-99;off=-5;start=-9223372036854775808", page(wos[:1])))
    w, t = clean(wos[0]), clean(tasks[0])
    c.add("push-reply", seed("push reply", {"thread": str(t["Id"]), "body": "On it"}, t, t, b"HTTP 204\n\n",
                             page([dict(clean(hist[0]), Message="On it", CreatedByUser={"UserType": "Staff"})])))
    c.add("push-wo_status", seed("push wo_status %d" % w["Id"], {"status": "completed"}, w, t, t, b"HTTP 200\n\n{}"))
    c.add("push-wo_vendor", seed("push wo_vendor %d" % w["Id"], {"vendor": "501"}, w, w))
    c.add("find-reply", seed("find reply", {"thread": str(t["Id"]), "body": hist[0]["Message"]},
                             page([clean(h) for h in hist[:5]])))
    c.add("find-wo_status", seed("find wo_status %d" % w["Id"], {"status": "new"}, w))


# ---- signatures ----

GY_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BD_SECRET = "pmsim-buildium-webhook-key"
NOW = 1767225600


def verify():
    c = Corpus("verify")
    bodies = [j({"event": "reservation.created", "data": {"id": 1}}), j({"EventName": "WorkOrder.Created",
                                                                      "WorkOrderId": 8001}),
              j({"event": "task.created", "task": {}})] + RAW_EDGE_DOCS[:20]
    for bi, body in enumerate(bodies):
        for dialect in range(4):
            c.add("signed-%d-%d" % (dialect, bi), bytes([dialect | 4]) + b"\n" + body)
            c.add("unsigned-%d-%d" % (dialect, bi), bytes([dialect]) + b"\n" + body)
    body = bodies[0]
    basic = base64.b64encode(b"porter:change-me").decode()
    for i, h in enumerate(["Authorization: Basic " + basic, "Authorization: basic   " + basic + "  ",
                           "Authorization: Basic " + basic[:-1], "Authorization: Bearer " + basic,
                           "Authorization: Basic", "authorization: BASIC " + basic + "\r"]):
        c.add("ha-%d" % i, b"\x00" + h.encode() + b"\n\n" + body)
    key = base64.b64decode(GY_SECRET[6:])
    for i, (mid, ts) in enumerate([("msg_1", NOW), ("msg_1", NOW - 299), ("msg_1", NOW + 301), ("", NOW),
                                   ("msg_2", "99999999999999999999"), ("msg_3", "-9223372036854775808"),
                                   ("msg_4", " +1767225600"), ("msg_5", "1767225600x")]):
        sig = base64.b64encode(hmac.new(key, ("%s.%s." % (mid, ts)).encode() + body, hashlib.sha256).digest()).decode()
        hdr = "svix-id: %s\nsvix-timestamp: %s\nsvix-signature: v1,AAAA v1,%s v2,x\n" % (mid, ts, sig)
        c.add("gy-%d" % i, b"\x01" + hdr.encode() + b"\n" + body)
    for i, ts in enumerate([NOW, NOW - 300, NOW + 400, 0, "99999999999999999999", "9223372036854775807", "abc"]):
        sig = base64.b64encode(hmac.new(BD_SECRET.encode(), ("%s." % ts).encode() + body, hashlib.sha256).digest()).decode()
        hdr = "buildium-webhook-timestamp: %s\nbuildium-webhook-signature: %s \r\n" % (ts, sig)
        c.add("bd-%d" % i, b"\x02" + hdr.encode() + b"\n" + body)
    c.add("gy-rawkey", bytes([1 | 4 | 8]) + b"\n" + body)
    c.add("gy-shift-in", bytes([1 | 4 | 16]) + b"\n" + body)
    c.add("bd-shift-out", bytes([2 | 4 | 32]) + b"\n" + body)
    c.add("nul-body", bytes([2 | 4]) + b"\n{\"EventName\":\"a\x00b\"}")


# ---- webhook listener ----

def webhook():
    c = Corpus("webhook")
    ha, gy, bd = load("hostaway"), load("guesty"), load("buildium")
    evs = [("ha", {"object": "reservation", "event": "reservation.created", "data": ha["reservations"][0]}),
           ("ha", {"object": "message", "event": "message.received", "data": ha["messages"][0]}),
           ("open", {"event": "reservation.updated", "data": ha["reservations"][1]}),
           ("gy", {"event": "task.created", "task": gy["tasks"][0]}),
           ("gy", {"event": "reservation.messageReceived", "conversation": {"_id": gy["conversations"][0]["_id"]},
                   "message": {"_id": gy["posts"][0]["_id"], "type": "fromGuest", "body": "hi",
                               "module": "email", "createdAt": "2026-05-01T09:00:00.000Z"}}),
           ("bd", {"EventName": "WorkOrder.Created", "WorkOrderId": 8001}),
           ("bd", {"EventName": "Task.History.Created", "TaskId": 7001, "TaskHistoryId": 90001})]
    for i, (acct, ev) in enumerate(evs):
        c.add("signed-%d" % i, b"POST /hooks/%s s\nContent-Type: application/json\n\n" % acct.encode() + j(ev))
        c.add("unsigned-%d" % i, b"POST /hooks/%s\nContent-Type: application/json\n\n" % acct.encode() + j(ev))
    c.add("bad-basic", b"POST /hooks/ha\nAuthorization: Basic cG9ydGVyOndyb25n\n\n{}")
    c.add("svix-garbage", b"POST /hooks/gy\nsvix-id: a\nsvix-timestamp: 99999999999999999999\nsvix-signature: v1,x\n\n{}")
    c.add("bd-garbage", b"POST /hooks/bd\nbuildium-webhook-timestamp: 1\nbuildium-webhook-signature: x\n\n{}")
    c.add("get", b"GET /hooks/ha s\n\n{}")
    c.add("put", b"PUT /hooks/gy s\n\n{}")
    c.add("unknown", b"POST /hooks/nobody s\n\n{}")
    c.add("root", b"POST / s\n\n{}")
    c.add("escaped", b"POST /hooks/h%61?x=1 s\n\n{}")
    c.add("big", b"POST /hooks/open s\n\n{\"event\":\"reservation.created\",\"pad\":\"" + b"x" * 5000 + b"\"}")
    for i, doc in enumerate(RAW_EDGE_DOCS[:24]):
        c.add("json-%d" % i, b"POST /hooks/%s s\n\n" % [b"ha", b"gy", b"bd", b"open"][i % 4] + doc[:3000])


# ---- config ----

def config():
    c = Corpus("config")
    acc = ("[hostaway-main]\nadapter = hostaway\nbase_url = https://api.hostaway.com/v1\nclient_id = 10450\n"
           "secret_cmd = pass show pms/hostaway\nwebhook_secret = user:password\npoll_interval = 60\n"
           "rate_limit = 1.2\nrate_burst = 3\n\n[guesty]\nadapter = guesty\nclient_id = abc\nsecret = s3cret\n"
           "webhook_secret = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\n[bd.1]\nadapter=buildium\nclient_id=c\n"
           "secret=k\n")
    por = ("[general]\nlog_level = debug\n\n[webhook]\nlisten = 127.0.0.1:8787\nbody_limit = 1M\n"
           "max_connections = 64\nconn_timeout = 10\n\n[keys]\nr = reply\ninbox.C-r = reply\nx = none\n"
           "board.<F5> = redraw\nhealth.<PageDown> = page-down\nq = no-such-command\n<F13> = help\n\n"
           "[ownership]\nproperty.name = porter\n\n[ui]\ntheme = dark\n")
    sep = "\n%%\n"
    c.add("full", acc + sep + por + sep + "secret-from-cmd\nsecond line\n")
    c.add("crlf", (acc + sep + por).replace("\n", "\r\n"))
    c.add("bom", "\ufeff" + acc + sep + "\ufeff" + por)
    c.add("none", "-" + sep + "-")
    c.add("empty", "" + sep + "")
    c.add("cmd-cr", acc + sep + por + sep + "secret\r\n")
    c.add("cmd-fail", "[a]\nadapter=guesty\nsecret_cmd = fail now\n")
    c.add("cmd-kill", "[a]\nadapter=guesty\nsecret_cmd = kill\n")
    c.add("cmd-empty", "[a]\nadapter=guesty\nsecret_cmd = x\n" + sep + "" + sep + "\n")
    c.add("cmd-nul", "[a]\nadapter=guesty\nsecret_cmd = x\n" + sep + "" + sep + "a\x00b\n")
    c.add("cmd-long", "[a]\nadapter=guesty\nsecret_cmd = x\n" + sep + "" + sep + "y" * 70000)
    bad = ["[a]\nadapter = fax\n", "[a]\n[a]\nadapter=guesty\n", "[]\n", "[a\n", "[a] x\n", "key = v\n",
           "[a]\nadapter=guesty\nsecret=1\nsecret_cmd=2\n", "[a]\nadapter=guesty\npoll_interval = 4\n",
           "[a]\nadapter=guesty\npoll_interval = 99999999999999999999\n", "[a]\nadapter=guesty\nrate_limit = 1.\n",
           "[a]\nadapter=guesty\nrate_limit = 10000.0000001\n", "[a]\nadapter=guesty\nbase_url = ftp://x\n",
           "[a]\nadapter=guesty\nclient_id =\n", "[a]\nadapter=guesty\nadapter=guesty\n", "[a]\nfoo = bar\n",
           "[a b]\nadapter=guesty\n", "[" + "n" * 60 + "]\nadapter=guesty\n", "[a]\n" + "x" * 300 + " = 1\n",
           "[a]\nadapter = guesty ; comment\n", "[a]\nadapter = guesty;not a comment\n", "[a]\n  adapter = guesty\n",
           "[a]\nadapter: guesty\n", "[a]\nadapter\n", "; only\n# comments\n", "[a]\nadapter=guesty\n\x00\n",
           "[a]\r\nadapter=guesty\r\n", "[a]\nadapter=hostaway\nclient_id=1\nsecret=2\nwebhook_secret=\xff\xfe\n"]
    for i, a in enumerate(bad):
        c.add("accounts-%d" % i, a)
    pbad = ["[general]\nlog_level = loud\n", "[general]\nlog_level=info\n[general]\nlog_level=warn\n",
            "[webhook]\nlisten = 8787\n", "[webhook]\nlisten = [::1]:8787\n", "[webhook]\nlisten = [::1]8787\n",
            "[webhook]\nlisten = :80\n", "[webhook]\nlisten = a b:80\n", "[webhook]\nlisten = h:65536\n",
            "[webhook]\nbody_limit = 1023\n", "[webhook]\nbody_limit = 64M\n", "[webhook]\nbody_limit = 65M\n",
            "[webhook]\nbody_limit = 18446744073709551615K\n", "[webhook]\nbody_limit = 1k\n",
            "[webhook]\nmax_connections = 0\n", "[webhook]\nconn_timeout = 3601\n", "[webhook]\nnope = 1\n",
            "[keys]\nC-i = reply\nC-[ = reply\n<f0> = help\n<F1x> = help\n<Esc> = none\n<Space> = down\n",
            "[keys]\ninbox. = reply\nboard.board.r = reply\nhealth.r = reply\n", "x = 1\n",
            "[keys]\n" + "".join("%s = view-next\n" % chr(k) for k in range(33, 127) if chr(k) not in "=:;#[")]
    for i, p in enumerate(pbad):
        c.add("porter-%d" % i, "[a]\nadapter=guesty\n" + sep + p)


# ---- text ----

def text():
    c = Corpus("text")
    samples = [
        "Hello, world", "Zoë Müller — café", "日本語のテキストと漢字", "emoji 👍🏽 family 👨‍👩‍👧",
        "e\u0301 combining", "\u202eevil\u202c bidi \u2066x\u2069 \u200f", "tab\there\tand\tthere",
        "line1\nline2\r\nline3\rline4", "para\u2028sep\u2029end", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07after",
        "\x1b]52;c;SGVsbG8=\x1b\\clip", "\x1bP1;2|data\x1b\\x", "\x1b(0lqk\x1b(B", "\x1b#8", "\x1bc reset",
        "back\x08\x08\x08space", "bell\x07 del\x7f nul\x00 in", "\x1b[", "\x1b]unterminated", "\x1b\x18cancel",
        "    indented words here", "word " * 50, "x" * 200, "a  b   c    d", " ", "", "\n\n\n", "\t",
    ]
    raw = [
        b"\xc2\x9b31mC1 CSI\xc2\x9c", b"\x9b31mraw C1", b"\x9d0;t\x07x", b"\x90dcs\x9cafter", b"\xc0\xaf",
        b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xe2\x82A", b"\xff\xfe\xfd", b"\x80\x81\x82",
        b"\xf0\x9f\x98", b"\xf8\x88\x80\x80\x80", b"\xe2\x80\xa6" * 30, b"\xef\xbb\xbfBOM", b"\xe4\xb8\x80" * 40,
        b"ok\x1b[\xe4\xb8\x80text", b"\x1b]\xe4\xb8\x80\x07z",
    ]
    for i, s in enumerate(samples):
        b = s.encode("utf-8")
        for flags, cols in ((0, 20), (1, 10), (3 | (16 << 2), 8), (2 | (5 << 2), 1), (1 | (63 << 2), 0)):
            c.add("s%d-%d-%d" % (i, flags, cols), bytes([flags, cols]) + b)
    for i, b in enumerate(raw):
        for flags, cols in ((0, 20), (1 | (20 << 2), 3), (2 | (4 << 2), 2)):
            c.add("r%d-%d-%d" % (i, flags, cols), bytes([flags, cols]) + b)
    for i, doc in enumerate(RAW_EDGE_DOCS[:20]):
        c.add("json-%d" % i, bytes([1, 40]) + doc[:2000])


# ---- dictionaries (libFuzzer -dict): the dialects' keys, enumerations and tokens ----

JSON_TOKENS = ["{", "}", "[", "]", '":"', '","', '\\"', "null", "true", "false", "-0", "1e400", "\\u0000",
               "\\ud800", "\\udc00", "\\u202e", "\\u001b[", "9007199254740993", "\n%%\n", "HTTP 200\n\n",
               "HTTP 404\n\n", "HTTP 401\n\n", "HTTP 403\n\n", "HTTP 429\n\n", "HTTP 500\n\n",
               "X-Total-Count: ", "@ff", "hook ", "pull ", "push ", "find ", "2026-05-06 02:43:00",
               "2026-05-06T02:43:00.000Z", "2026-05-06"]


def dict_quote(s):
    out = ""
    for ch in s if isinstance(s, bytes) else s.encode("utf-8"):
        c = chr(ch)
        out += c if 0x20 <= ch < 0x7f and c not in '"\\' else "\\x%02x" % ch
    return '"%s"' % out


def collect(o, keys, strs):
    if isinstance(o, dict):
        for k, v in o.items():
            keys.add(k)
            collect(v, keys, strs)
    elif isinstance(o, list):
        for v in o:
            collect(v, keys, strs)
    elif isinstance(o, str) and len(o) <= 24 and " " not in o:
        strs.add(o)


def dictionaries():
    d = os.path.join(ROOT, "tests", "fuzz", "dict")
    os.makedirs(d, exist_ok=True)
    entities = ["property", "unit", "contact", "stay", "thread", "message", "vendor", "work_order"]
    extra = {"hostaway": ["reservation.created", "reservation.updated", "message.received", "reply", "note",
                          "wo_create", "wo_status", "wo_vendor", "wo_priority", "wo_schedule", "hw=", "off=",
                          "after=", "max=", "access_token", "expires_in", "status", "success", "fail", "result",
                          "count"],
             "guesty": ["reservation.messageReceived", "reservation.messageSent", "task.created", "task.updated",
                        "reply", "note", "wo_create", "wo_status", "wo_vendor", "wo_priority", "wo_schedule",
                        "skip=", "hw=", "max=", "after=", "cursor", "results", "conversations", "posts", "data",
                        "access_token", "expires_in", "error", "error_description", "fromGuest", "fromHost"],
             "buildium": ["WorkOrder.Created", "WorkOrder.Updated", "WorkOrder.Deleted", "Task.Created",
                          "Task.Updated", "Task.History.Created", "Task.History.Updated", "WorkOrderId", "TaskId",
                          "TaskHistoryId", "reply", "wo_status", "wo_vendor", "from=", "off=", "start=",
                          "UserMessage", "Errors", "Key", "Value", "CreatedDateTIme"]}
    for name in ("hostaway", "guesty", "buildium"):
        keys, strs = set(), set()
        collect(load(name), keys, strs)
        words = sorted(keys) + sorted(strs)[:300] + extra[name] + entities
        with open(os.path.join(d, name + ".dict"), "w") as f:
            f.write("# generated by tests/fuzz/make_seeds.py from data/demo/%s.json\n" % name)
            for t in JSON_TOKENS:
                f.write(dict_quote(t) + "\n")
            for w in dict.fromkeys(words):
                if w:
                    f.write(dict_quote(w) + "\n")
    hdrs = ["Authorization", "Basic ", "cG9ydGVyOmNoYW5nZS1tZQ==", "svix-id", "svix-timestamp", "svix-signature",
            "v1,", "whsec_", "buildium-webhook-timestamp", "buildium-webhook-signature", "1767225600", ": ",
            "\n\n", "EventName", "event", "POST", "GET", "/hooks/ha", "/hooks/gy", "/hooks/bd", "/hooks/open",
            " s\n", "Content-Type: application/json"]
    for name in ("verify", "webhook"):
        with open(os.path.join(d, name + ".dict"), "w") as f:
            f.write("# generated by tests/fuzz/make_seeds.py\n")
            for t in JSON_TOKENS[:12]:
                f.write(dict_quote(t) + "\n")
            for w in hdrs:
                f.write(dict_quote(w) + "\n")
    conf = ["[", "]", " = ", "\n%%\n", ";", "#", "\r\n", "\xef\xbb\xbf", "adapter", "hostaway", "guesty",
            "buildium", "base_url", "https://", "http://", "client_id", "secret", "secret_cmd", "webhook_secret",
            "poll_interval", "rate_limit", "rate_burst", "[general]", "log_level", "debug", "[webhook]", "listen",
            "127.0.0.1:8787", "[::1]:8787", "body_limit", "1K", "64M", "max_connections", "conn_timeout",
            "[keys]", "inbox.", "board.", "health.", "C-", "<Enter>", "<Esc>", "<Tab>", "<BTab>", "<Space>",
            "<Backspace>", "<PageDown>", "<F12>", "none", "reply", "quit", "help", "view-next", "fail", "kill",
            "[ownership]", "[ui]"]
    with open(os.path.join(d, "config.dict"), "w") as f:
        f.write("# generated by tests/fuzz/make_seeds.py\n")
        for w in conf:
            f.write(dict_quote(w.encode("latin-1")) + "\n")
    esc = [b"\x1b[", b"\x1b]", b"\x1bP", b"\x1b\\", b"\x07", b"\x1b(0", b"\x1b#8", b"\xc2\x9b", b"\xc2\x9c",
           b"\xc2\x9d", b"\x9b", b"\x9c", b"\x9d", b"\x90", b"\r\n", b"\r", b"\t", b"\xe2\x80\xa8", b"\xe2\x80\xae",
           b"\xe2\x81\xa6", b"\xe4\xb8\x80", b"\xcc\x81", b"\xf0\x9f\x91\x8d", b"\xed\xa0\x80", b"\xc0\xaf",
           b"\xf4\x90\x80\x80", b"\xef\xbf\xbd", b"\xe2\x80\xa6", b"\x18", b"\x1a", b"\x7f", b"\x00"]
    with open(os.path.join(d, "text.dict"), "w") as f:
        f.write("# generated by tests/fuzz/make_seeds.py\n")
        for w in esc:
            f.write(dict_quote(w) + "\n")


if __name__ == "__main__":
    for f in (hostaway, guesty, buildium, verify, webhook, config, text, dictionaries):
        f()
    for t in sorted(os.listdir(OUT)):
        n = len(os.listdir(os.path.join(OUT, t)))
        print("%-10s %4d seeds" % (t, n))
