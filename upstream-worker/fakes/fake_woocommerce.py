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

Products and variations (the stock sync's side):

  GET  products?per_page=&page=&orderby=id&order=asc&sku=&include=&_fields=
  GET  products/{id}
  POST products/batch                    {"update":[{id, manage_stock,
                                         stock_quantity, meta_data}]}
  GET  products/{id}/variations?per_page=&page=&include=&_fields=
  POST products/{id}/variations/batch    the same for the product's
                                         variations
  A batch of more than 100 items (create + update + delete) is refused as a
  whole: 413 woocommerce_rest_request_entity_too_large. Per-item errors come
  back inside the 200 ({"id","error":{"code","message","data"}}): an id that
  is not the endpoint's (a variation on products/batch, another product's
  variation) is woocommerce_rest_product_invalid_id /
  woocommerce_rest_product_variation_invalid_id.

Test control: GET /__ledger (calls and orders), POST /__fail (actions
list_orders, get_order, update_order, add_note, list_notes, list_products,
get_product, batch_products, list_variations, batch_variations),
POST /__reset, POST /__generate {"skus":N,"variation_share":0.25,
"per_parent":25,"prefix":"SKU-","stock":0} (a catalogue: SKU-000001.. as
simple products, the last share as variations of variable products),
POST /__products {"products":[{"sku","type","manage_stock","stock_quantity",
"variations":[{"sku",...}]}]} (adds; the same SKU twice makes a duplicate),
GET /__sku/{sku} (every product and variation with that SKU, with a meta
map), GET /__stock_view ({"items":{sku:[{id, parent_id, manage_stock,
stock_quantity, meta (_hft71_stock_available)}]}}), POST /__set_stock {"sku","stock_quantity","manage_stock"} (an edit
in wp-admin: every item with the SKU), POST /__item_fail {"sku","count",
"code","message","status"} (that SKU's next updates fail inside the batch's
200), DELETE /__item_fail, GET /__stats (calls per action, items updated),
DELETE /__stats,
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


def json_object_body(body):
    """(data, None) for a JSON object body, else (None, the 400 answer)."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return None, wp_error(400, "rest_invalid_json",
                              "Invalid JSON body passed.")
    return data, None


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
            self.products = {}          # id -> product
            self.product_ids = []       # ascending
            self.variations = {}        # id -> variation
            self.parent_vars = {}       # product id -> [variation ids]
            self.by_sku = {}            # sku -> [product or variation]
            self.next_product = 10000
            self.item_faults = []
            self.stats = {}

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
        if path.startswith(PREFIX + "products"):
            rest = path[len(PREFIX + "products"):].strip("/").split("/")
            if rest == [""]:
                return "list_products"
            if rest == ["batch"]:
                return "batch_products"
            if len(rest) >= 2 and rest[1] == "variations":
                return "batch_variations" if rest[-1] == "batch" \
                    else "list_variations"
            return "get_product"
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
        if parts[0] == "products":
            return self.products_api(method, parts, query, body)
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
            data, bad = json_object_body(body)
            if bad:
                return bad
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

    # -- products and variations ----------------------------------------

    def _add_item(self, item):
        if item.get("sku"):
            self.by_sku.setdefault(item["sku"], []).append(item)

    def _new_product(self, spec, kind="simple"):
        pid = self.next_product
        self.next_product += 1
        p = {"id": pid, "name": spec.get("name", spec.get("sku") or
                                         "Product %d" % pid),
             "type": spec.get("type", kind), "status": "publish",
             "sku": spec.get("sku", ""), "parent_id": 0,
             "manage_stock": spec.get("manage_stock", True),
             "stock_quantity": spec.get("stock_quantity", 0),
             "stock_status": "instock", "variations": [],
             "meta_data": []}
        self._stock_status(p)
        self.products[pid] = p
        self.product_ids.append(pid)
        self._add_item(p)
        return p

    def _new_variation(self, parent, spec):
        vid = self.next_product
        self.next_product += 1
        v = {"id": vid, "parent_id": parent["id"], "sku": spec.get("sku", ""),
             "manage_stock": spec.get("manage_stock", True),
             "stock_quantity": spec.get("stock_quantity", 0),
             "stock_status": "instock", "meta_data": []}
        self._stock_status(v)
        self.variations[vid] = v
        self.parent_vars.setdefault(parent["id"], []).append(vid)
        parent["variations"].append(vid)
        self._add_item(v)
        return v

    @staticmethod
    def _stock_status(item):
        if item["manage_stock"] is True:
            q = item["stock_quantity"] or 0
            item["stock_status"] = "instock" if q > 0 else "outofstock"

    def generate(self, data):
        n = int(data.get("skus", 1000))
        share = float(data.get("variation_share", 0.25))
        per_parent = max(1, int(data.get("per_parent", 25)))
        prefix = data.get("prefix", "SKU-")
        stock = data.get("stock", 0)
        n_var = int(round(n * share))
        parent = None
        for i in range(1, n + 1):
            sku = prefix + "%06d" % i
            spec = {"sku": sku, "stock_quantity": stock,
                    "manage_stock": stock is not None}
            if i <= n - n_var:
                self._new_product(spec)
                continue
            if parent is None or len(parent["variations"]) >= per_parent:
                parent = self._new_product(
                    {"sku": "", "manage_stock": False,
                     "stock_quantity": None,
                     "name": "Variable %d" % (i // per_parent)},
                    "variable")
            self._new_variation(parent, spec)

    def add_products(self, data):
        for spec in data.get("products") or []:
            p = self._new_product(spec, "variable" if spec.get("variations")
                                  else "simple")
            for vs in spec.get("variations") or []:
                self._new_variation(p, vs)

    @staticmethod
    def _fields(item, query):
        f = (query.get("_fields") or [""])[0]
        out = dict(item, meta_data=[dict(m) for m in item["meta_data"]])
        if "variations" in item:
            out["variations"] = list(item["variations"])
        if f:
            keep = f.split(",")
            out = {k: v for k, v in out.items() if k in keep}
        return out

    def _page(self, ids, get, query):
        """A page of the items with these ids (ascending) as WooCommerce
        pages: the filters first, then a slice; no scan without a filter."""
        per_page = self._int(query, "per_page", 10, 1, 100)
        page = self._int(query, "page", 1, 1, 10 ** 9)
        if per_page is None or page is None:
            return wp_error(400, "rest_invalid_param",
                            "Invalid parameter(s): per_page",
                            params={"per_page": "per_page must be between 1 "
                                    "(inclusive) and 100 (inclusive)"})
        include = (query.get("include") or [""])[0]
        if include:
            try:
                want = set(int(x) for x in include.split(","))
            except ValueError:
                return wp_error(400, "rest_invalid_param",
                                "Invalid parameter(s): include")
            ids = sorted(i for i in want if get(i) is not None)
        sku = (query.get("sku") or [""])[0]
        if sku:
            ids = sorted(i["id"] for n in set(sku.split(","))
                         for i in self.by_sku.get(n, []) if get(i["id"]))
        if (query.get("order") or ["desc"])[0] == "desc":
            ids = ids[::-1]
        total = len(ids)
        pages = (total + per_page - 1) // per_page
        chunk = ids[(page - 1) * per_page:page * per_page]
        return 200, {"X-WP-Total": total, "X-WP-TotalPages": pages}, \
            [self._fields(get(i), query) for i in chunk]

    def _update_item(self, item, upd):
        if "manage_stock" in upd:
            if upd["manage_stock"] not in (True, False, "parent"):
                return ("rest_invalid_param",
                        "Invalid parameter(s): manage_stock")
        if "stock_quantity" in upd:
            q = upd["stock_quantity"]
            if not isinstance(q, int) or isinstance(q, bool):
                return ("rest_invalid_param",
                        "Invalid parameter(s): stock_quantity")
        for m in upd.get("meta_data") or []:
            if not isinstance(m, dict) or "key" not in m:
                return ("rest_invalid_param",
                        "Invalid parameter(s): meta_data")
        for f in self.item_faults:
            if f["sku"] == item["sku"] and f["count"] > 0:
                f["count"] -= 1
                return (f.get("code", "woocommerce_rest_cannot_edit"),
                        f.get("message", "Sorry, you are not allowed to "
                              "edit this resource."),
                        f.get("status", 500))
        if "manage_stock" in upd:
            item["manage_stock"] = upd["manage_stock"]
        if "stock_quantity" in upd:
            item["stock_quantity"] = upd["stock_quantity"]
        for m in upd.get("meta_data") or []:
            cur = next((x for x in item["meta_data"]
                        if x["key"] == m["key"]), None)
            if cur is None:
                cur = {"id": self.next_meta, "key": m["key"]}
                self.next_meta += 1
                item["meta_data"].append(cur)
            cur["value"] = m.get("value")
        self._stock_status(item)
        self.stats["items_updated"] = self.stats.get("items_updated", 0) + 1
        return None

    def _batch(self, body, lookup, invalid_code):
        data, bad = json_object_body(body)
        if bad:
            return bad
        total = sum(len(data.get(k) or []) for k in
                    ("create", "update", "delete"))
        if total > 100:
            return wp_error(413, "woocommerce_rest_request_entity_too_large",
                            "Unable to accept more than 100 items for this "
                            "request.")
        out = {}
        for k in ("create", "delete"):
            if data.get(k):
                out[k] = [{"id": 0, "error": {
                    "code": "fake_not_supported",
                    "message": "the fake only updates",
                    "data": {"status": 400}}} for _ in data[k]]
        if "update" in data:
            res = []
            for upd in data["update"] or []:
                iid = upd.get("id") if isinstance(upd, dict) else None
                item = lookup(iid) if isinstance(iid, int) else None
                if item is None:
                    res.append({"id": iid if isinstance(iid, int) else 0,
                                "error": {"code": invalid_code,
                                          "message": "Invalid ID.",
                                          "data": {"status": 400}}})
                    continue
                err = self._update_item(item, upd)
                if err:
                    res.append({"id": iid, "error": {
                        "code": err[0], "message": err[1],
                        "data": {"status": err[2] if len(err) > 2
                                 else 400}}})
                    continue
                res.append(self._fields(item, {}))
            out["update"] = res
        return 200, {}, out

    def products_api(self, method, parts, query, body):
        no_route = wp_error(404, "rest_no_route", "No route was found "
                            "matching the URL and request method.")
        if len(parts) == 1:
            if method != "GET":
                return no_route
            return self._page(self.product_ids, self.products.get, query)
        if parts[1] == "batch" and len(parts) == 2:
            if method not in ("POST", "PUT", "PATCH"):
                return no_route
            return self._batch(body, self.products.get,
                               "woocommerce_rest_product_invalid_id")
        try:
            pid = int(parts[1])
        except ValueError:
            return no_route
        p = self.products.get(pid)
        if p is None:
            return wp_error(404, "woocommerce_rest_product_invalid_id",
                            "Invalid ID.")
        if len(parts) == 2 and method == "GET":
            return 200, {}, self._fields(p, query)
        if len(parts) >= 3 and parts[2] == "variations":
            ids = self.parent_vars.get(pid, [])
            if len(parts) == 3 and method == "GET":
                def mine(i):
                    v = self.variations.get(i)
                    return v if v and v["parent_id"] == pid else None
                return self._page(ids, mine, query)
            if len(parts) == 4 and parts[3] == "batch" and \
                    method in ("POST", "PUT", "PATCH"):
                mine = set(ids)
                return self._batch(
                    body, lambda i: self.variations.get(i) if i in mine
                    else None,
                    "woocommerce_rest_product_variation_invalid_id")
        return no_route

    def products_control(self, method, path, body):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return 400, {}, {"error": "invalid JSON"}
        with self.lock:
            if path == "/__generate" and method == "POST":
                self.generate(data)
                return 200, {}, {"products": len(self.products),
                                 "variations": len(self.variations)}
            if path == "/__products" and method == "POST":
                self.add_products(data)
                return 204, {}, b""
            if path.startswith("/__sku/") and method == "GET":
                from urllib.parse import unquote
                items = self.by_sku.get(unquote(path[len("/__sku/"):]), [])
                out = []
                for i in items:
                    v = self._fields(i, {})
                    v["meta"] = {m["key"]: m["value"] for m in i["meta_data"]}
                    out.append(v)
                return 200, {}, {"items": out}
            if path == "/__stock_view" and method == "GET":
                view = {}
                for sku, items in self.by_sku.items():
                    view[sku] = [{"id": i["id"], "parent_id": i["parent_id"],
                                  "manage_stock": i["manage_stock"],
                                  "stock_quantity": i["stock_quantity"],
                                  "meta": next((m["value"] for m in
                                                i["meta_data"] if m["key"] ==
                                                "_hft71_stock_available"),
                                               None)} for i in items]
                return 200, {}, {"items": view}
            if path == "/__set_stock" and method == "POST":
                for i in self.by_sku.get(data.get("sku"), []):
                    if "manage_stock" in data:
                        i["manage_stock"] = data["manage_stock"]
                    if "stock_quantity" in data:
                        i["stock_quantity"] = data["stock_quantity"]
                    self._stock_status(i)
                return 204, {}, b""
            if path == "/__item_fail":
                if method == "DELETE":
                    self.item_faults = []
                    return 204, {}, b""
                rule = dict(data)
                rule.setdefault("count", 1)
                self.item_faults.append(rule)
                return 204, {}, b""
            if path == "/__stats":
                if method == "DELETE":
                    self.stats = {}
                    return 204, {}, b""
                calls = {k: v for k, v in self.stats.items()
                         if k != "items_updated"}
                return 200, {}, {"calls": calls, "items_updated":
                                 self.stats.get("items_updated", 0)}
        return None

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
        with self.lock:
            self.stats[entry["action"]] = self.stats.get(entry["action"],
                                                         0) + 1
        self.ledger.record(**entry)
        return res

    def control(self, method, path, body):
        res = self.products_control(method, path, body)
        if res is not None:
            return res
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
