"""A small Flask shop with one recorded endpoint.

    pip install flask
    TRACESNAP_ENABLED=1 python examples/flask_app.py        # serves http://127.0.0.1:5050
    curl 'http://127.0.0.1:5050/checkout?items=3,4&coupon=SPRING'
    tracesnap list                                          # the request's trace is in the library
    tracesnap view                                          # replay it

Without TRACESNAP_ENABLED=1 the decorator does nothing. Each request to /checkout writes
traces/checkout-<time>-<pid>-<n>.json and a library entry of kind "request".
"""

import os
import sys

from flask import Flask, abort, request

from tracesnap.integrations.flask import traced

app = Flask(__name__)
app.config["TRACESNAP"] = {"output_dir": "traces", "source_files": [__file__]}

PRICES = {1: 250, 2: 1200, 3: 499, 4: 1999}
COUPONS = {"SPRING": 10, "VIP": 25}


def subtotal(item_ids):
    total = 0
    for item_id in item_ids:
        if item_id not in PRICES:
            abort(404, description=f"no item {item_id}")
        total += PRICES[item_id]
    return total


def apply_coupon(amount, code):
    percent = COUPONS.get(code, 0)
    discount = amount * percent // 100
    return amount - discount


@app.route("/checkout")
@traced
def checkout():
    item_ids = [int(part) for part in request.args.get("items", "1").split(",")]
    amount = subtotal(item_ids)
    amount = apply_coupon(amount, request.args.get("coupon", ""))
    return {"items": item_ids, "total_cents": amount}


@app.route("/health")
def health():
    return {"ok": True}


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "5050"))
    print(f"serving on http://127.0.0.1:{port}  (recording: {os.environ.get('TRACESNAP_ENABLED') == '1'})")
    app.run(host="127.0.0.1", port=port)
