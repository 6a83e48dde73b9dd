#!/usr/bin/python3
"""A fake WooCommerce REST API v3 (/wp-json/wc/v3/) for tests: HTTP Basic
auth with the consumer key and secret, orders with meta_data, order notes,
pagination (per_page at most 100, page; X-WP-Total, X-WP-TotalPages), and
WordPress's error shape {"code","message","data":{"status"}}.

  GET  orders?status=&per_page=&page=    list (newest first, like the API)
  GET  orders/{id}                       one order
  PUT  orders/{id}                       status, meta_data [{key,value}]
                                         (matched by key or id), shipping
  GET  orders/{id}/notes                 notes
  POST orders/{id}/notes                 {note, customer_note} -> 201

Test control: GET /__ledger (calls and orders), POST /__fail (actions
list_orders, get_order, update_order, add_note, list_notes), POST /__reset,
POST /__seed {"orders":[{...}]} (adds or replaces orders by id, filling in
what WooCommerce would), GET /__orders/{id} (the order with its notes)."""

import base64
import copy
import json
import math
import time

import fakelib

PREFIX = "/wp-json/wc/v3/"
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled",
            "refunded", "failed", "trash", "checkout-draft")


def now_gmt():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


def wp_error(status, code, message, **extra):
    data = {"status": status}
    data.update(extra)
    return status, {}, {"code": code, "message": message, "data": data}


class FakeWoo(fakelib.FakeApp):
    def __init__(self, key, secret):
        self.key = key
        self.secret = secret
        super().__init__()

    def reset(self):
        with self.lock:
            self.orders = {}
            self.notes = {}
            self.next_meta = 1000
            self.next_note = 1

    def _complete(self, o):
        o = copy.deepcopy(o)
        o["id"] = int(o["id"])
        o.setdefault("status", "pending")
        o.setdefault("currency", "EUR")
        o.setdefault("total", "10.00")
        o.setdefault("date_created_gmt", now_gmt())
        o["date_modified_gmt"] = now_gmt()
        o.setdefault("billing", {"first_name": "Test", "last_name": "Buyer",
                                 "email": "buyer@example.test"})
        o.setdefault("shipping", {
            "first_name": "Test", "last_name": "Buyer", "company": "",
            "address_1": "1 Test Street", "address_2": "",
            "city": "Testville", "state": "", "postcode": "12345",
            "country": "DE", "phone": "+49 30 1234567"})
        items = []
        for n, it in enumerate(o.get("line_items") or
                               [{"sku": "SKU-1", "quantity": 1}]):
            it = dict(it)
            it.setdefault("id", n + 1)
            it.setdefault("name", it.get("sku", "Item"))
            it.setdefault("product_id", 100 + n)
            items.append(it)
        o["line_items"] = items
        meta = []
        for m in o.get("meta_data") or []:
            m = dict(m)
            if "id" not in m:
                m["id"] = self.next_meta
                self.next_meta += 1
            meta.append(m)
        o["meta_data"] = meta
        return o

    def seed(self, data):
        with self.lock:
            for o in data.get("orders", []):
                o = self._complete(o)
                self.orders[o["id"]] = o
                self.notes.setdefault(o["id"], [])

    def state_view(self):
        with self.lock:
            return {"orders": copy.deepcopy(list(self.orders.values()))}

    def failure_body(self, status):
        if status >= 500:
            return "text/html", ("<html><body><h1>%d</h1>The site is "
                                 "experiencing technical difficulties."
                                 "</body></html>" % status).encode()
        code = {401: "woocommerce_rest_cannot_view",
                429: "too_many_requests"}.get(status, "rest_error")
        return "application/json", json.dumps(
            {"code": code, "message": "injected %d" % status,
             "data": {"status": status}}).encode()

    def action_of(self, method, path, body):
        if not path.startswith(PREFIX + "orders"):
            return "other"
        rest = path[len(PREFIX + "orders"):].strip("/")
        if rest == "":
            return "list_orders"
        if rest.endswith("/notes"):
            return "add_note" if method == "POST" else "list_notes"
        return "update_order" if method == "PUT" else "get_order"

    def _authorized(self, handler, query):
        h = handler.headers.get("Authorization") or ""
        if h.startswith("Basic "):
            try:
                k, _, s = base64.b64decode(h[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            # WooCommerce also takes them as query parameters over HTTPS
            k = (query.get("consumer_key") or [""])[0]
            s = (query.get("consumer_secret") or [""])[0]
        return k == self.key and s == self.secret

    def _int(self, query, name, default, lo, hi):
        v = (query.get(name) or [str(default)])[0]
        try:
            n = int(v)
        except ValueError:
            return None
        return n if lo <= n <= hi else None

    def api(self, handler, method, path, query, body):
        if not self._authorized(handler, query):
            return wp_error(401, "woocommerce_rest_cannot_view",
                            "Sorry, you cannot list resources.")
        rest = path[len(PREFIX):].strip("/")
        parts = rest.split("/")
        if parts[0] != "orders":
            return wp_error(404, "rest_no_route",
                            "No route was found matching the URL and "
                            "request method.")
        if len(parts) == 1:
            if method != "GET":
                return wp_error(404, "rest_no_route",
                                "No route was found matching the URL and "
                                "request method.")
            per_page = self._int(query, "per_page", 10, 1, 100)
            if per_page is None:
                return wp_error(400, "rest_invalid_param",
                                "Invalid parameter(s): per_page",
                                params={"per_page": "per_page must be "
                                        "between 1 (inclusive) and 100 "
                                        "(inclusive)"})
            page = self._int(query, "page", 1, 1, 10 ** 9)
            if page is None:
                return wp_error(400, "rest_invalid_param",
                                "Invalid parameter(s): page")
            status = (query.get("status") or ["any"])[0]
            found = [o for o in self.orders.values()
                     if status == "any" or o["status"] in status.split(",")]
            found.sort(key=lambda o: -o["id"])
            total = len(found)
            pages = max(1, math.ceil(total / per_page)) if total else 0
            chunk = found[(page - 1) * per_page:page * per_page]
            return 200, {"X-WP-Total": total, "X-WP-TotalPages": pages}, \
                copy.deepcopy(chunk)
        try:
            oid = int(parts[1])
        except ValueError:
            return wp_error(404, "rest_no_route",
                            "No route was found matching the URL and "
                            "request method.")
        o = self.orders.get(oid)
        if o is None:
            return wp_error(404, "woocommerce_rest_shop_order_invalid_id",
                            "Invalid ID.")
        if len(parts) == 3 and parts[2] == "notes":
            if method == "GET":
                return 200, {}, copy.deepcopy(self.notes[oid])
            if method == "POST":
                try:
                    data = json.loads(body or b"{}")
                except ValueError:
                    return wp_error(400, "rest_invalid_json",
                                    "Invalid JSON body passed.")
                if not isinstance(data, dict) or \
                        not isinstance(data.get("note"), str) or \
                        not data["note"]:
                    return wp_error(400, "rest_missing_callback_param",
                                    "Missing parameter(s): note",
                                    params=["note"])
                note = {"id": self.next_note, "author": "WooCommerce",
                        "date_created_gmt": now_gmt(), "note": data["note"],
                        "customer_note": bool(data.get("customer_note"))}
                self.next_note += 1
                self.notes[oid].append(note)
                return 201, {}, copy.deepcopy(note)
        if len(parts) != 2:
            return wp_error(404, "rest_no_route",
                            "No route was found matching the URL and "
                            "request method.")
        if method == "GET":
            return 200, {}, copy.deepcopy(o)
        if method in ("PUT", "POST"):
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                return wp_error(400, "rest_invalid_json",
                                "Invalid JSON body passed.")
            if not isinstance(data, dict):
                return wp_error(400, "rest_invalid_json",
                                "Invalid JSON body passed.")
            if "status" in data and data["status"] not in STATUSES:
                return wp_error(400, "rest_invalid_param",
                                "Invalid parameter(s): status",
                                params={"status": "status is not one of "
                                        + ", ".join(STATUSES) + "."})
            for m in data.get("meta_data") or []:
                if not isinstance(m, dict) or "key" not in m and "id" not in m:
                    return wp_error(400, "rest_invalid_param",
                                    "Invalid parameter(s): meta_data")
            if "status" in data:
                o["status"] = data["status"]
            for m in data.get("meta_data") or []:
                cur = next((x for x in o["meta_data"]
                            if ("id" in m and x["id"] == m["id"]) or
                            ("id" not in m and x["key"] == m["key"])), None)
                if cur is None:
                    cur = {"id": self.next_meta, "key": m["key"]}
                    self.next_meta += 1
                    o["meta_data"].append(cur)
                cur["value"] = m.get("value")
            if isinstance(data.get("shipping"), dict):
                o["shipping"].update(data["shipping"])
            o["date_modified_gmt"] = now_gmt()
            return 200, {}, copy.deepcopy(o)
        return wp_error(404, "rest_no_route",
                        "No route was found matching the URL and request "
                        "method.")

    def route(self, handler, method, path, query, body):
        if not path.startswith(PREFIX):
            return 404, {"Content-Type": "text/html"}, b"<html>Not Found</html>"
        with self.lock:
            res = self.api(handler, method, path, query, body)
        entry = {"action": self.action_of(method, path, body),
                 "method": method, "path": path, "status": res[0],
                 "outcome": "ok" if res[0] < 300 else "error",
                 "query": {k: v[0] for k, v in query.items()
                           if not k.startswith("consumer_")}}
        if method != "GET" and body:
            try:
                entry["body"] = json.loads(body)
            except ValueError:
                pass
        if res[0] >= 300:
            entry["code"] = res[2].get("code")
        self.ledger.record(**entry)
        return res

    def control(self, method, path, body):
        if path.startswith("/__orders/") and method == "GET":
            try:
                oid = int(path[len("/__orders/"):])
            except ValueError:
                return 404, {}, {"error": "no such order"}
            with self.lock:
                o = self.orders.get(oid)
                if o is None:
                    return 404, {}, {"error": "no such order"}
                v = copy.deepcopy(o)
                v["notes"] = copy.deepcopy(self.notes[oid])
            v["meta"] = {m["key"]: m["value"] for m in v["meta_data"]}
            return 200, {}, v
        return 404, {}, {"error": "unknown control endpoint"}


def main():
    ap = fakelib.arg_parser()
    ap.add_argument("--consumer-key", required=True)
    ap.add_argument("--consumer-secret", required=True)
    args = ap.parse_args()
    fakelib.run(args, lambda base_url: FakeWoo(args.consumer_key,
                                               args.consumer_secret))


if __name__ == "__main__":
    main()
