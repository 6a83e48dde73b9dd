#!/usr/bin/python3
"""A fake WHMCS API for tests: POST /includes/api.php, form-encoded,
identifier/secret (+ accesskey when configured), responsetype=json; actions
AddOrder, AcceptOrder, GetPayMethods, GetClientsDetails, GetOrders; errors
are {"result":"error","message":...}.

Test control: GET /__ledger (calls, clients, orders), POST /__fail, /__reset,
/__seed {"clients":[{"id":7,"paymethods":[{"gateway_name":"stripe"}]}],
"products":[101]}."""

import copy
import json
import time
from urllib.parse import parse_qs

import fakelib


def error(message, status=200):
    return status, {}, {"result": "error", "message": message}


class FakeWhmcs(fakelib.FakeApp):
    def __init__(self, identifier, secret, accesskey):
        self.identifier = identifier
        self.secret = secret
        self.accesskey = accesskey
        super().__init__()

    def reset(self):
        with self.lock:
            self.clients = {}
            self.products = set()
            self.orders = []
            self.next_service = 1000
            self.next_invoice = 5000

    def seed(self, data):
        with self.lock:
            for c in data.get("clients", []):
                c = copy.deepcopy(c)
                c.setdefault("paymethods", [])
                self.clients[int(c["id"])] = c
            self.products.update(int(p) for p in data.get("products", []))

    def state_view(self):
        with self.lock:
            return {"orders": copy.deepcopy(self.orders),
                    "clients": copy.deepcopy(list(self.clients.values()))}

    def failure_body(self, status):
        return "text/html", ("<html><body><h1>%d</h1>Injected failure"
                             "</body></html>" % status).encode()

    def action_of(self, method, path, body):
        if path != "/includes/api.php":
            return "other"
        form = parse_qs(body.decode(errors="replace"))
        return (form.get("action") or ["?"])[0]

    # -- actions ------------------------------------------------------------

    def _client(self, form, field="clientid"):
        try:
            return self.clients.get(int((form.get(field) or ["0"])[0]))
        except ValueError:
            return None

    def add_order(self, form):
        client = self._client(form)
        if client is None:
            return error("Client ID Not Found")
        if not (form.get("paymentmethod") or [""])[0]:
            return error("Invalid Payment Method. Valid options include "
                         "stripe,banktransfer")
        lines = []
        i = 0
        while "pid[%d]" % i in form:
            pid = int(form["pid[%d]" % i][0])
            if pid not in self.products:
                return error("Invalid Product ID")
            cycle = (form.get("billingcycle[%d]" % i) or [""])[0]
            if cycle not in ("monthly", "quarterly", "semiannually",
                             "annually", "biennially", "triennially",
                             "onetime", "free"):
                return error("Invalid Billing Cycle Requested")
            qty = int((form.get("qty[%d]" % i) or ["1"])[0])
            lines.append({"pid": pid, "billingcycle": cycle, "qty": qty})
            i += 1
        if not lines:
            return error("No items added to cart so order cannot proceed")
        services = []
        for line in lines:
            for _ in range(line["qty"]):
                self.next_service += 1
                services.append(self.next_service)
        self.next_invoice += 1
        order = {"id": len(self.orders) + 1, "userid": client["id"],
                 "status": "Pending",
                 "paymentmethod": form["paymentmethod"][0],
                 "lines": lines, "serviceids": services,
                 "invoiceid": self.next_invoice,
                 "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.orders.append(order)
        return 200, {}, {"result": "success", "orderid": str(order["id"]),
                         "serviceids": ",".join(map(str, services)),
                         "addonids": "", "domainids": "",
                         "invoiceid": str(order["invoiceid"])}

    def _order(self, form, field):
        try:
            oid = int((form.get(field) or ["0"])[0])
        except ValueError:
            return None
        return next((o for o in self.orders if o["id"] == oid), None)

    def accept_order(self, form):
        order = self._order(form, "orderid")
        if order is None:
            return error("Order ID Not Found")
        if order["status"] != "Pending":
            return error("Order is not Pending")
        order["status"] = "Active"
        order["autosetup"] = (form.get("autosetup") or [""])[0]
        return 200, {}, {"result": "success"}

    def get_pay_methods(self, form):
        client = self._client(form)
        if client is None:
            return error("Client Not Found")
        methods = [dict({"id": n + 1, "type": "CreditCard", "description": "",
                         "contact_type": "Client", "contact_id": client["id"]},
                        **m) for n, m in enumerate(client["paymethods"])]
        return 200, {}, {"result": "success", "clientid": client["id"],
                         "paymethods": methods}

    def get_clients_details(self, form):
        client = self._client(form)
        if client is None:
            return error("Client Not Found")
        info = {"id": client["id"], "userid": client["id"],
                "firstname": client.get("firstname", "Test"),
                "lastname": client.get("lastname", "Client"),
                "email": client.get("email", "client@example.test"),
                "status": "Active"}
        return 200, {}, dict({"result": "success", "client": info}, **info)

    def get_orders(self, form):
        orders = self.orders
        if "id" in form:
            orders = [o for o in orders if str(o["id"]) == form["id"][0]]
        if "userid" in form:
            orders = [o for o in orders
                      if str(o["userid"]) == form["userid"][0]]
        view = [{"id": o["id"], "userid": o["userid"], "status": o["status"],
                 "paymentmethod": o["paymentmethod"], "date": o["date"],
                 "invoiceid": o["invoiceid"]} for o in orders]
        return 200, {}, {"result": "success", "totalresults": len(view),
                         "startnumber": 0, "numreturned": len(view),
                         "orders": {"order": view}}

    ACTIONS = {"AddOrder": add_order, "AcceptOrder": accept_order,
               "GetPayMethods": get_pay_methods,
               "GetClientsDetails": get_clients_details,
               "GetOrders": get_orders}

    def route(self, handler, method, path, query, body):
        if path != "/includes/api.php":
            return 404, {"Content-Type": "text/html"}, b"Not Found"
        if method != "POST":
            return error("Invalid request method", 405)
        form = parse_qs(body.decode(errors="replace"), keep_blank_values=True)
        action = (form.get("action") or [""])[0]
        ok = ((form.get("identifier") or [""])[0] == self.identifier and
              (form.get("secret") or [""])[0] == self.secret and
              (self.accesskey is None or
               (form.get("accesskey") or [""])[0] == self.accesskey))
        if not ok:
            res = error("Authentication Failed", 403)
        elif (form.get("responsetype") or [""])[0] != "json":
            res = error("responsetype=json is required by this fake")
        elif action not in self.ACTIONS:
            res = error("Command Not Found")
        else:
            with self.lock:
                res = self.ACTIONS[action](self, form)
        entry = {"action": action, "method": method, "path": path,
                 "status": res[0],
                 "outcome": "ok" if res[2].get("result") == "success"
                 else "error",
                 "params": {k: v[0] for k, v in form.items()
                            if k not in ("secret", "identifier",
                                         "accesskey")}}
        if res[2].get("result") == "error":
            entry["message"] = res[2].get("message")
        self.ledger.record(**entry)
        return res


def main():
    ap = fakelib.arg_parser()
    ap.add_argument("--identifier", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--accesskey")
    args = ap.parse_args()
    fakelib.run(args, lambda base_url: FakeWhmcs(args.identifier, args.secret,
                                                 args.accesskey))


if __name__ == "__main__":
    main()
