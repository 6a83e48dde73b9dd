#!/usr/bin/python3
"""A fake Salesforce for tests: OAuth 2.0 JWT bearer token endpoint (checks
the RS256 signature against --public-key and iss/sub/aud/exp), SOQL query on
Order with nested OrderItems, PATCH sobjects/Order/{id} -> 204, Salesforce's
error arrays (401 INVALID_SESSION_ID ...).

CometD (Streaming API, long polling) on POST /cometd/{version}: handshake
with a BAYEUX_BROWSER cookie, subscribe with ext.replay (-1, -2 or a
replayId), connect held up to --cometd-hold-ms; "403::Unknown client" for a
client it does not know.

Test control: GET /__ledger, POST /__fail, /__reset, /__seed,
/__expire_tokens, GET /__orders/{id}, POST /__publish {channel, payload
[, uuid]}, POST /__drop_clients."""

import argparse
import base64
import copy
import json
import re
import secrets
import threading
import uuid
import time
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import fakelib

WRITABLE = {
    "Provisioning_Status__c", "Provisioning_Error_Code__c",
    "Provisioning_Error_Message__c", "WHMCS_Order_ID__c",
    "WHMCS_Service_IDs__c", "Status",
}
PROVISIONING_PICKLIST = {"Pending Review", "Activating", "Provisioned",
                         "Failed"}


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sf_error(code, message, fields=None):
    return [{"message": message, "errorCode": code, "fields": fields or []}]


class FakeSalesforce(fakelib.FakeApp):
    def __init__(self, public_key, client_id, username, audience, base_url,
                 hold_ms=1000, auto_orders=False):
        self.public_key = public_key
        self.client_id = client_id
        self.username = username
        self.audience = audience
        self.base_url = base_url
        self.hold_ms = hold_ms
        self.auto_orders = auto_orders
        self.replay_base = int(time.time() * 1000)
        super().__init__()
        self.published = threading.Condition(self.lock)

    def reset(self):
        with self.lock:
            self.orders = {}
            self.tokens = set()
            self.bayeux_clients = {}    # clientId -> {cookie, subs}
            self.events = {}            # channel -> [event message]

    def seed(self, data):
        with self.lock:
            for order in data.get("orders", []):
                order = copy.deepcopy(order)
                order.setdefault("history", [])
                self.orders[order["Id"]] = order

    def _order(self, order_id):
        """The stored order; with --auto-orders an unknown id becomes a copy
        of the first seeded order (demo stacks: every sample a new order).
        Call with the lock held."""
        order = self.orders.get(order_id)
        if order is None and self.auto_orders and self.orders:
            order = copy.deepcopy(next(iter(self.orders.values())))
            order.update(Id=order_id, history=[],
                         Provisioning_Status__c="Activating")
            for k in ("WHMCS_Order_ID__c", "WHMCS_Service_IDs__c",
                      "Provisioning_Error_Code__c",
                      "Provisioning_Error_Message__c"):
                order.pop(k, None)
            self.orders[order_id] = order
        return order

    def state_view(self):
        with self.lock:
            return {"orders": copy.deepcopy(self.orders),
                    "tokens_issued": sum(1 for c in self.ledger.snapshot()
                                         if c["action"] == "token"
                                         and c.get("outcome") == "ok")}

    def control(self, method, path, body):
        if path == "/__publish" and method == "POST":
            req = json.loads(body or b"{}")
            with self.lock:
                events = self.events.setdefault(req["channel"], [])
                # replayIds only grow, across restarts of the fake too
                replay = max(self.replay_base, events[-1]["data"]["event"][
                    "replayId"] if events else 0) + 1
                event = {"channel": req["channel"], "data": {
                    "schema": "fake-schema-1",
                    "payload": dict(req.get("payload") or {},
                                    CreatedDate="2026-01-01T00:00:00Z"),
                    "event": {"replayId": replay,
                              "EventUuid": req.get("uuid") or
                              str(uuid.uuid4())}}}
                events.append(event)
                self.published.notify_all()
            return 200, {}, event["data"]["event"]
        if path == "/__drop_clients" and method == "POST":
            with self.lock:
                self.bayeux_clients = {}
                self.published.notify_all()   # held connects answer now
            return 204, {}, b""
        if path == "/__expire_tokens" and method == "POST":
            with self.lock:
                self.tokens.clear()
            return 204, {}, b""
        m = re.fullmatch(r"/__orders/(\w+)", path)
        if m and method == "GET":
            with self.lock:
                order = self.orders.get(m.group(1))
                return (200, {}, copy.deepcopy(order)) if order else \
                    (404, {}, {"error": "no such order"})
        return 404, {}, {"error": "unknown control endpoint"}

    def failure_body(self, status):
        code = "REQUEST_LIMIT_EXCEEDED" if status == 429 else \
            "SERVER_UNAVAILABLE"
        return "application/json", json.dumps(
            sf_error(code, "Injected failure (HTTP %d)" % status)).encode()

    def action_of(self, method, path, body):
        if path == "/services/oauth2/token":
            return "token"
        if re.fullmatch(r"/services/data/v\d+\.\d/query/?", path):
            return "query"
        if re.fullmatch(r"/services/data/v\d+\.\d/sobjects/Order/\w+", path):
            return "update"
        if re.fullmatch(r"/cometd/\d+\.\d", path):
            try:
                channel = json.loads(body)[0]["channel"]
            except (ValueError, LookupError, TypeError):
                return "cometd"
            return "cometd_" + channel.rsplit("/", 1)[-1]
        return "other"

    # -- OAuth ------------------------------------------------------------

    def _grant_error(self, description):
        return 400, {}, {"error": "invalid_grant",
                         "error_description": description}

    def token(self, body):
        form = parse_qs(body.decode(), keep_blank_values=True)
        if form.get("grant_type") != [
                "urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {}, {"error": "unsupported_grant_type",
                             "error_description": "grant type not supported"}
        assertion = (form.get("assertion") or [""])[0]
        parts = assertion.split(".")
        if len(parts) != 3:
            return self._grant_error("invalid assertion")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError:
            return self._grant_error("invalid assertion")
        if header.get("alg") != "RS256":
            return self._grant_error("invalid assertion")
        try:
            self.public_key.verify(signature,
                                   (parts[0] + "." + parts[1]).encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return self._grant_error("invalid assertion")
        if claims.get("iss") != self.client_id:
            return 400, {}, {"error": "invalid_client_id",
                             "error_description": "client identifier invalid"}
        if claims.get("aud") != self.audience:
            return self._grant_error("audience is invalid")
        if claims.get("sub") != self.username:
            return self._grant_error("user hasn't approved this consumer")
        exp = claims.get("exp")
        now = time.time()
        if not isinstance(exp, int) or exp < now or exp > now + 300:
            return self._grant_error("expired authorization code")
        token = "00D" + secrets.token_hex(20)
        with self.lock:
            self.tokens.add(token)
        return 200, {}, {
            "access_token": token, "scope": "api",
            "instance_url": self.base_url,
            "id": self.base_url + "/id/00D000000000001/005000000000001",
            "token_type": "Bearer"}

    # -- REST -------------------------------------------------------------

    def _authorized(self, handler):
        auth = handler.headers.get("Authorization", "")
        with self.lock:
            return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def _record(self, order, version):
        rec = {k: v for k, v in order.items()
               if k not in ("items", "history", "Account")}
        rec["attributes"] = {
            "type": "Order",
            "url": "/services/data/v%s/sobjects/Order/%s" % (version,
                                                            order["Id"])}
        for field in ("Provisioning_Status__c", "Pricebook2Id", "AccountId"):
            rec.setdefault(field, None)
        acct = order.get("Account")
        rec["Account"] = None if acct is None else dict(
            acct, attributes={"type": "Account",
                              "url": "/services/data/v%s/sobjects/Account/%s"
                              % (version, order.get("AccountId"))})
        return rec

    def _items(self, order, version):
        items = order.get("items") or []
        if not items:
            return None
        records = []
        for it in items:
            rec = dict(it)
            rec["attributes"] = {
                "type": "OrderItem",
                "url": "/services/data/v%s/sobjects/OrderItem/%s"
                % (version, it.get("Id"))}
            p = it.get("Product2")
            rec["Product2"] = None if p is None else dict(
                p, attributes={"type": "Product2",
                               "url": "/services/data/v%s/sobjects/Product2/x"
                               % version})
            records.append(rec)
        return {"totalSize": len(records), "done": True, "records": records}

    def query(self, path, query):
        version = re.search(r"/v(\d+\.\d)/", path).group(1)
        soql = (query.get("q") or [""])[0]
        m = re.search(r"\bFROM\s+Order\s+WHERE\s+Id\s*=\s*'(\w+)'", soql,
                      re.I)
        if not soql.upper().startswith("SELECT ") or not m:
            return 400, {}, sf_error("MALFORMED_QUERY",
                                     "unexpected token in: %s" % soql[:80])
        with self.lock:
            order = copy.deepcopy(self._order(m.group(1)))
        records = []
        if order:
            rec = self._record(order, version)
            if re.search(r"\bFROM\s+OrderItems\b", soql, re.I):
                rec["OrderItems"] = self._items(order, version)
            records.append(rec)
        return 200, {}, {"totalSize": len(records), "done": True,
                         "records": records}

    def update(self, path, body):
        order_id = path.rsplit("/", 1)[1]
        try:
            fields = json.loads(body or b"null")
        except ValueError:
            return 400, {}, sf_error("JSON_PARSER_ERROR",
                                     "The request body is not JSON")
        if not isinstance(fields, dict):
            return 400, {}, sf_error("JSON_PARSER_ERROR",
                                     "Expected an object")
        for k in fields:
            if k not in WRITABLE:
                return 400, {}, sf_error(
                    "INVALID_FIELD",
                    "No such column '%s' on sobject of type Order" % k)
        status = fields.get("Provisioning_Status__c")
        if "Provisioning_Status__c" in fields and \
                status not in PROVISIONING_PICKLIST:
            return 400, {}, sf_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Provisioning Status: bad value for restricted picklist "
                "field: %s" % status, ["Provisioning_Status__c"])
        with self.lock:
            order = self._order(order_id)
            if order is None:
                return 404, {}, sf_error(
                    "NOT_FOUND", "The requested resource does not exist")
            order.update(fields)
            if "Provisioning_Status__c" in fields:
                order["history"].append(status)
        return 204, {}, b""

    # -- CometD -------------------------------------------------------------

    def _unknown_client(self, msg):
        return {"channel": msg.get("channel"), "id": msg.get("id"),
                "successful": False, "error": "403::Unknown client",
                "advice": {"reconnect": "handshake", "interval": 0}}

    def cometd(self, handler, body):
        try:
            msgs = json.loads(body)
            msg = msgs[0]
            channel = msg["channel"]
        except (ValueError, LookupError, TypeError):
            return 400, {}, [{"successful": False,
                              "error": "400::Bad request"}]
        cookie = ""
        for part in handler.headers.get("Cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "BAYEUX_BROWSER":
                cookie = v
        if channel == "/meta/handshake":
            if not (msg.get("ext") or {}).get("replay"):
                return 200, {}, [{"channel": channel, "successful": False,
                                  "error": "400::replay extension needed"}]
            client = secrets.token_hex(12)
            browser = secrets.token_hex(8)
            with self.lock:
                self.bayeux_clients[client] = {"cookie": browser, "subs": {}}
            return 200, {"Set-Cookie": "BAYEUX_BROWSER=%s; Path=/" % browser}, [{
                "channel": channel, "id": msg.get("id"), "version": "1.0",
                "successful": True, "clientId": client,
                "supportedConnectionTypes": ["long-polling"],
                "ext": {"replay": True},
                "advice": {"timeout": self.hold_ms, "interval": 0,
                           "reconnect": "retry"}}]
        with self.lock:
            client = self.bayeux_clients.get(msg.get("clientId"))
            if client is None or client["cookie"] != cookie:
                return 200, {}, [self._unknown_client(msg)]
            if channel == "/meta/subscribe":
                sub = msg.get("subscription", "")
                start = ((msg.get("ext") or {}).get("replay") or {}).get(sub)
                events = self.events.get(sub, [])
                if not sub.startswith("/event/") or not isinstance(start, int):
                    return 200, {}, [{"channel": channel, "id": msg.get("id"),
                                      "successful": False,
                                      "error": "400::bad subscription"}]
                last = events[-1]["data"]["event"]["replayId"] if events \
                    else self.replay_base
                client["subs"][sub] = (last if start == -1 else
                                       0 if start == -2 else start)
                return 200, {}, [{"channel": channel, "id": msg.get("id"),
                                  "clientId": msg["clientId"],
                                  "subscription": sub, "successful": True}]
            if channel != "/meta/connect":
                return 200, {}, [{"channel": channel, "successful": False,
                                  "error": "400::unknown channel"}]
            deadline = time.time() + self.hold_ms / 1000.0
            while True:
                out = []
                for sub, cursor in client["subs"].items():
                    fresh = [e for e in self.events.get(sub, [])
                             if e["data"]["event"]["replayId"] > cursor]
                    if fresh:
                        client["subs"][sub] = \
                            fresh[-1]["data"]["event"]["replayId"]
                        out.extend(fresh)
                left = deadline - time.time()
                if out or left <= 0 or \
                        msg["clientId"] not in self.bayeux_clients:
                    break
                self.published.wait(left)
            if msg["clientId"] not in self.bayeux_clients:
                return 200, {}, [self._unknown_client(msg)]
            return 200, {}, [{"channel": channel, "id": msg.get("id"),
                              "clientId": msg["clientId"],
                              "successful": True,
                              "advice": {"reconnect": "retry", "interval": 0,
                                         "timeout": self.hold_ms}}] + out

    def route(self, handler, method, path, query, body):
        action = self.action_of(method, path, body)
        if action.startswith("cometd"):
            if not self._authorized(handler):
                res = (401, {}, sf_error("INVALID_SESSION_ID",
                                         "Session expired or invalid"))
            elif method != "POST":
                res = (405, {}, sf_error("METHOD_NOT_ALLOWED",
                                         "HTTP Method not allowed"))
            else:
                res = self.cometd(handler, body)
            self.ledger.record(action=action, method=method, path=path,
                               status=res[0], outcome="ok" if res[0] < 300
                               and all(m.get("successful", True)
                                       for m in res[2]
                                       if isinstance(m, dict)
                                       and m.get("channel", "").startswith(
                                           "/meta/")) else "error")
            return res
        if action == "token" and method == "POST":
            res = self.token(body)
        elif action in ("query", "update"):
            if not self._authorized(handler):
                res = (401, {}, sf_error("INVALID_SESSION_ID",
                                         "Session expired or invalid"))
            elif action == "query" and method == "GET":
                res = self.query(path, query)
            elif action == "update" and method == "PATCH":
                res = self.update(path, body)
            else:
                res = (405, {}, sf_error("METHOD_NOT_ALLOWED",
                                         "HTTP Method not allowed"))
        else:
            res = (404, {}, sf_error("NOT_FOUND",
                                     "The requested resource does not exist"))
        entry = {"action": action, "method": method, "path": path,
                 "status": res[0], "outcome": "ok" if res[0] < 300 else
                 "error"}
        if action == "update":
            try:
                entry["fields"] = json.loads(body or b"null")
            except ValueError:
                pass
            entry["order_id"] = path.rsplit("/", 1)[1]
        if action == "query":
            entry["soql"] = (query.get("q") or [""])[0]
        self.ledger.record(**entry)
        return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--public-key", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--audience", help="expected aud (default: own URL)")
    ap.add_argument("--seed", help="JSON file with {orders: [...]}")
    ap.add_argument("--auto-orders", action="store_true",
                    help="unknown Order ids copy the first seeded order")
    ap.add_argument("--cometd-hold-ms", type=int, default=1000,
                    help="how long /meta/connect waits (Salesforce: 110 s)")
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    with open(args.public_key, "rb") as f:
        key = serialization.load_pem_public_key(f.read())

    def make(base_url):
        app = FakeSalesforce(key, args.client_id, args.username,
                             args.audience or base_url, base_url,
                             args.cometd_hold_ms, args.auto_orders)
        if args.seed:
            with open(args.seed) as f:
                app.seed(json.load(f))
        return app

    fakelib.serve(make, args.host, args.port, args.ready_file)


if __name__ == "__main__":
    main()
