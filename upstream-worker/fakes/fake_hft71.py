#!/usr/bin/python3
"""A fake of HFT71's fulfillment API, to the contract in the worker's
README ("HFT71's API"): HTTP Basic auth, JSON both ways, errors
{"error":"<code>","message":"..."}.

  POST /orders                 send_order -> 201 {"order_id","status"}
                               (no deduplication: the same reference twice
                               makes two orders)
  GET  /orders?reference=R     -> {"orders":[...]}
  GET  /orders/{order_id}      get_status -> {"order_id","reference",
                               "status","tracking_number","updated_at"}
  PUT  /orders/{order_id}      update_order {"items":[...]} -> 200 / 409
  PUT  /orders/{order_id}/address   update_order_address {shipping}

Test control: GET /__ledger (calls and orders), POST /__fail (fakelib's
rules; actions send_order, find_orders, get_status, update_order,
update_order_address), POST /__reset,
POST /__status {"order_id","status","tracking_number"}: HFT71 moves the
order (updated_at = now) and, unless the webhook is off, POSTs the status
webhook to --webhook-url with X-HFT71-Webhook-Secret;
POST /__webhook {"enabled":false|true, "url"?: "..."} switches that
delivery (the runbook's "webhook failures").

Stock (action stock_available):
  GET  /stock/available?page=N&per_page=M   -> {"items":[{"sku","available"}],
                               "page","per_page","total","total_pages"},
                               sorted by SKU, per_page 1..1000 (default 100)
  GET  /stock/available?skus=A,B,...        those SKUs only (at most 100;
                               unknown ones are left out), one page
Control: POST /__stock {"items":[{"sku","available"}]} sets (available null
removes), {"generate":N,"prefix":"SKU-","max":100,"seed":1} makes SKU-000001..
with random quantities, {"churn":0.01,"seed":2} changes that share of SKUs
(answers the changed ones), {"clear":true}; GET /__stock ({"total","stock":{sku:available}});
GET /__stats (calls per action), DELETE /__stats."""

import base64
import bisect
import copy
import json
import random
import threading
import time
import urllib.request
from datetime import datetime, timezone

import fakelib

STATUSES = ("received", "processing", "shipped", "delivered", "cancelled",
            "on_hold")
LOCKED = ("shipped", "delivered", "cancelled")
SHIPPING_REQUIRED = ("name", "address_1", "city", "postcode", "country")
SHIPPING_FIELDS = SHIPPING_REQUIRED + ("address_2", "phone")


def now_iso():
    # RFC 3339 UTC with milliseconds
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def error(status, code, message):
    return status, {}, {"error": code, "message": message}


def check_shipping(shipping):
    if not isinstance(shipping, dict):
        return "shipping must be an object"
    for f in SHIPPING_REQUIRED:
        if not isinstance(shipping.get(f), str) or not shipping[f].strip():
            return "shipping.%s is required" % f
    for f, v in shipping.items():
        if f not in SHIPPING_FIELDS:
            return "shipping.%s is not a known field" % f
        if not isinstance(v, str):
            return "shipping.%s must be a string" % f
    return None


def check_items(items):
    if not isinstance(items, list) or not items:
        return "items must be a non-empty array"
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not isinstance(it.get("sku"), str) \
                or not it["sku"]:
            return "items[%d].sku is required" % i
        q = it.get("quantity")
        if not isinstance(q, int) or isinstance(q, bool) or q < 1:
            return "items[%d].quantity must be a positive integer" % i
    return None


class FakeHft71(fakelib.FakeApp):
    def __init__(self, username, password, webhook_url, webhook_secret):
        self.username = username
        self.password = password
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        super().__init__()

    def reset(self):
        with self.lock:
            self.orders = {}
            self.next_id = 1
            self.next_order = 1
            self.webhook_enabled = True
            self.deliveries = []
            self.stock = {}             # sku -> available
            self.stock_skus = []        # sorted: pages without a sort each
            self.stats = {}

    def seed(self, data):
        pass

    def state_view(self):
        with self.lock:
            return {"orders": copy.deepcopy(list(self.orders.values())),
                    "webhook_enabled": self.webhook_enabled,
                    "deliveries": list(self.deliveries)}

    def failure_body(self, status):
        if status >= 500:
            # a gateway in front of HFT71: not the API's JSON
            return "text/html", ("<html><body><h1>%d</h1>upstream "
                                 "unavailable</body></html>" % status).encode()
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found",
                429: "rate_limited"}.get(status, "error")
        return "application/json", json.dumps(
            {"error": code, "message": "injected %d" % status}).encode()

    def action_of(self, method, path, body):
        if path == "/stock/available":
            return "stock_available"
        if path == "/orders":
            return "send_order" if method == "POST" else "find_orders"
        if path.startswith("/orders/"):
            if path.endswith("/address"):
                return "update_order_address"
            return "update_order" if method == "PUT" else "get_status"
        return "other"

    def _authorized(self, handler):
        h = handler.headers.get("Authorization") or ""
        if not h.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.username and pw == self.password

    @staticmethod
    def _view(o):
        return {k: o[k] for k in ("order_id", "reference", "status",
                                  "tracking_number", "updated_at")}

    def _touch(self, o):
        o["updated_at"] = now_iso()
        o["seq"] = self.next_id
        self.next_id += 1

    # -- API ------------------------------------------------------------

    def api(self, handler, method, path, query, body):
        if not self._authorized(handler):
            return error(401, "unauthorized", "Invalid username or password")
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return error(400, "invalid_json", "The body is not JSON")
        if path == "/orders" and method == "POST":
            if not isinstance(data, dict):
                return error(400, "invalid_request", "expected an object")
            ref = data.get("reference")
            if not isinstance(ref, str) or not ref:
                return error(400, "invalid_request", "reference is required")
            why = check_shipping(data.get("shipping")) or \
                check_items(data.get("items"))
            if why:
                return error(400, "invalid_request", why)
            oid = "H%06d" % self.next_order
            self.next_order += 1
            o = {"order_id": oid, "reference": ref, "status": "received",
                 "tracking_number": None,
                 "shipping": copy.deepcopy(data["shipping"]),
                 "items": copy.deepcopy(data["items"])}
            self._touch(o)
            self.orders[oid] = o
            return 201, {}, {"order_id": oid, "status": "received"}
        if path == "/orders" and method == "GET":
            ref = (query.get("reference") or [""])[0]
            if not ref:
                return error(400, "invalid_request",
                             "reference is required")
            found = [self._view(o) for o in self.orders.values()
                     if o["reference"] == ref]
            return 200, {}, {"orders": found}
        if path.startswith("/orders/"):
            rest = path[len("/orders/"):]
            oid, _, sub = rest.partition("/")
            o = self.orders.get(oid)
            if o is None:
                return error(404, "not_found", "No order %s" % oid)
            if method == "GET" and sub == "":
                return 200, {}, self._view(o)
            if method == "PUT" and sub in ("", "address"):
                if not isinstance(data, dict):
                    return error(400, "invalid_request", "expected an object")
                if o["status"] in LOCKED:
                    return error(409, "order_locked",
                                 "Order %s is %s and can no longer be "
                                 "changed" % (oid, o["status"]))
                if sub == "":
                    why = check_items(data.get("items"))
                    if why:
                        return error(400, "invalid_request", why)
                    o["items"] = copy.deepcopy(data["items"])
                else:
                    shipping = data.get("shipping", data)
                    why = check_shipping(shipping)
                    if why:
                        return error(400, "invalid_request", why)
                    o["shipping"] = copy.deepcopy(shipping)
                self._touch(o)
                return 200, {}, self._view(o)
            return error(405, "method_not_allowed", "Method not allowed")
        if path == "/stock/available" and method == "GET":
            return self._stock_page(query)
        return error(404, "not_found", "No such endpoint")

    def _stock_page(self, query):
        skus = (query.get("skus") or [""])[0]
        if skus:
            names = [x for x in skus.split(",") if x]
            if len(names) > 100:
                return error(400, "invalid_request",
                             "skus: at most 100 SKUs")
            items = [{"sku": n, "available": self.stock[n]} for n in names
                     if n in self.stock]
            return 200, {}, {"items": items, "page": 1,
                             "per_page": len(names), "total": len(items),
                             "total_pages": 1}
        try:
            page = int((query.get("page") or ["1"])[0])
            per_page = int((query.get("per_page") or ["100"])[0])
        except ValueError:
            return error(400, "invalid_request",
                         "page and per_page must be integers")
        if page < 1 or not 1 <= per_page <= 1000:
            return error(400, "invalid_request",
                         "page >= 1, per_page 1..1000")
        total = len(self.stock_skus)
        pages = (total + per_page - 1) // per_page
        chunk = self.stock_skus[(page - 1) * per_page:page * per_page]
        return 200, {}, {"items": [{"sku": n, "available": self.stock[n]}
                                   for n in chunk],
                         "page": page, "per_page": per_page, "total": total,
                         "total_pages": pages}

    def _stock_set(self, sku, available):
        if available is None:
            if self.stock.pop(sku, None) is not None:
                i = bisect.bisect_left(self.stock_skus, sku)
                del self.stock_skus[i]
            return
        if sku not in self.stock:
            bisect.insort(self.stock_skus, sku)
        self.stock[sku] = int(available)

    def _stock_control(self, data):
        if data.get("clear"):
            self.stock = {}
            self.stock_skus = []
        if "generate" in data:
            rnd = random.Random(data.get("seed", 1))
            prefix = data.get("prefix", "SKU-")
            top = int(data.get("max", 100))
            for n in range(1, int(data["generate"]) + 1):
                self.stock[prefix + "%06d" % n] = rnd.randint(0, top)
            self.stock_skus = sorted(self.stock)
        for it in data.get("items") or []:
            self._stock_set(it["sku"], it.get("available"))
        changed = []
        if "churn" in data:
            rnd = random.Random(data.get("seed", 2))
            k = int(round(len(self.stock_skus) * float(data["churn"])))
            for sku in rnd.sample(self.stock_skus, k):
                v = self.stock[sku]
                self.stock[sku] = v + 1 if v < 5 else v - rnd.randint(1, 5)
                changed.append(sku)
        return {"total": len(self.stock_skus), "changed": changed}

    def route(self, handler, method, path, query, body):
        with self.lock:
            res = self.api(handler, method, path, query, body)
        entry = {"action": self.action_of(method, path, body),
                 "method": method, "path": path, "status": res[0],
                 "outcome": "ok" if res[0] < 300 else "error"}
        if method != "GET" and body:
            try:
                entry["body"] = json.loads(body)
            except ValueError:
                pass
        if res[0] == 201:
            entry["order_id"] = res[2]["order_id"]
        if res[0] >= 300:
            entry["error"] = res[2].get("error")
        if path == "/stock/available":
            entry["query"] = {k: v[0] for k, v in query.items()}
        with self.lock:
            self.stats[entry["action"]] = self.stats.get(entry["action"],
                                                         0) + 1
        self.ledger.record(**entry)
        return res

    # -- test control ----------------------------------------------------

    def _deliver(self, view):
        body = json.dumps(view).encode()
        req = urllib.request.Request(
            self.webhook_url, data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "X-HFT71-Webhook-Secret": self.webhook_secret})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except OSError:
            status = 0
        with self.lock:
            self.deliveries.append({"order_id": view["order_id"],
                                    "status": view["status"],
                                    "http_status": status})

    def control(self, method, path, body):
        if path == "/__stats":
            with self.lock:
                if method == "DELETE":
                    self.stats = {}
                    return 204, {}, b""
                return 200, {}, {"calls": dict(self.stats)}
        if path == "/__stock" and method == "GET":
            with self.lock:
                return 200, {}, {"total": len(self.stock_skus),
                                 "stock": dict(self.stock)}
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return 400, {}, {"error": "invalid JSON"}
        if path == "/__status" and method == "POST":
            with self.lock:
                o = self.orders.get(data.get("order_id"))
                if o is None:
                    return 404, {}, {"error": "no such order"}
                if data.get("status") not in STATUSES:
                    return 400, {}, {"error": "unknown status"}
                o["status"] = data["status"]
                if "tracking_number" in data:
                    o["tracking_number"] = data["tracking_number"]
                self._touch(o)
                view = self._view(o)
                send = self.webhook_enabled and self.webhook_url
            if send:
                # from another thread, as HFT71 would: the control call
                # does not wait for our own webhook
                threading.Thread(target=self._deliver, args=(view,),
                                 daemon=True).start()
            return 200, {}, dict(view, webhook=bool(send))
        if path == "/__stock" and method == "POST":
            with self.lock:
                return 200, {}, self._stock_control(data)
        if path == "/__webhook" and method == "POST":
            with self.lock:
                if "enabled" in data:
                    self.webhook_enabled = bool(data["enabled"])
                if data.get("url"):
                    self.webhook_url = data["url"]
            return 204, {}, b""
        return 404, {}, {"error": "unknown control endpoint"}


def main():
    ap = fakelib.arg_parser()
    ap.add_argument("--username", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--webhook-url", default="")
    ap.add_argument("--webhook-secret", default="")
    args = ap.parse_args()
    fakelib.run(args, lambda base_url: FakeHft71(
        args.username, args.password, args.webhook_url, args.webhook_secret))


if __name__ == "__main__":
    main()
