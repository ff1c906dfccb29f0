"""A straight-line script: the smallest useful trace.

    tracesnap record examples/sample_program.py

Every statement runs once, top to bottom, apart from one short loop, so the trace reads like
the source: a call, a few assignments, a return.
"""


def receipt_total(prices, tax_rate):
    subtotal = 0
    for price in prices:
        subtotal = subtotal + price
    tax = round(subtotal * tax_rate, 2)
    total = subtotal + tax
    return total


def format_money(amount):
    whole = int(amount)
    cents = round((amount - whole) * 100)
    return f"${whole}.{cents:02d}"


basket = [4.5, 12.0, 3.25]
rate = 0.08
total = receipt_total(basket, rate)
label = format_money(total)
print("items:", len(basket))
print("total:", label)
