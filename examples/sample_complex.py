"""Exercises most of what the recorder captures, offline.

    tracesnap record examples/sample_complex.py

  call / return   every function entry and exit, with arguments and return values
  assign          every variable change (rebinding and in-place mutation)
  branch          if / elif / else arms and a try/except
  loop            for and while loops, one nested inside a branch
  recursion       a recursive flood fill over a small grid
  redaction       `password` and `api_key` show up as <redacted>
  truncation      a value whose repr is longer than 120 characters
  exception       a ValueError raised and caught inside parse_amount()
"""


def login(user, password, api_key):
    # password and api_key are redacted by name; so is token, built from the key
    token = "tk-" + api_key[-4:]
    if user == "root":
        role = "admin"
    elif user.endswith("-bot"):
        role = "service"
    else:
        role = "member"
    return {"user": user, "role": role, "token": token}


def bucket_sizes(sizes):
    small, medium, large = [], [], []
    for size in sizes:
        if size < 10:
            small.append(size)
        elif size < 100:
            medium.append(size)
        else:
            large.append(size)
    remaining = len(large)
    while remaining > 0:
        remaining -= 1
    return len(small), len(medium), len(large)


def flood(grid, row, col, seen):
    """Count the connected '#' cells reachable from (row, col): recursion."""
    if (row, col) in seen:
        return 0
    if not (0 <= row < len(grid) and 0 <= col < len(grid[row])):
        return 0
    if grid[row][col] != "#":
        return 0
    seen.add((row, col))
    count = 1
    for d_row, d_col in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        count += flood(grid, row + d_row, col + d_col, seen)
    return count


def parse_amount(text):
    try:
        value = float(text)
    except ValueError as exc:
        message = f"not a number: {text!r} ({exc})"
        print(message)
        value = 0.0
    return value


def describe(shape):
    kind = shape[0]
    if kind == "circle":
        return "circle of radius %s" % shape[1]
    if kind == "rect":
        width, height = shape[1], shape[2]
        return "square" if width == height else "rectangle"
    return "unknown shape"


def long_label(count):
    parts = []
    for i in range(count):
        parts = parts + ["segment-%02d" % i]
    return " / ".join(parts)


def main():
    sessions = [
        login("root", password="correct horse", api_key="ak-live-1111"),
        login("deploy-bot", password="b0t-pass", api_key="ak-live-2222"),
        login("ada", password="lovelace", api_key="ak-live-3333"),
    ]
    roles = [s["role"] for s in sessions]
    buckets = bucket_sizes([3, 45, 7, 120, 99, 1000, 2])
    grid = ["##..", "#..#", "..##"]
    region = flood(grid, 0, 0, set())
    amounts = [parse_amount(t) for t in ("12.5", "seven", "3")]
    shapes = [describe(s) for s in (("circle", 2), ("rect", 3, 3), ("rect", 2, 5), ("star",))]
    label = long_label(14)
    print("roles:", roles)
    print("buckets:", buckets)
    print("region:", region)
    print("amounts:", amounts)
    print("shapes:", shapes)
    print("label length:", len(label))
    return {"roles": roles, "buckets": buckets, "region": region}


if __name__ == "__main__":
    result = main()
