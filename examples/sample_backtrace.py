"""An exception travelling up through mutually recursive functions, caught at the top.

    tracesnap record examples/sample_backtrace.py

A tiny recursive-descent parser for arithmetic: parse_expr() calls parse_term(), which calls
parse_factor(), which calls parse_expr() again for parentheses. The third input has an
unbalanced parenthesis deep inside, so a SyntaxError-like ParseError is raised four frames
down and unwinds through every parser frame until evaluate_all() catches it.
"""


class ParseError(Exception):
    pass


def tokenize(text):
    tokens = []
    number = ""
    for ch in text:
        if ch.isdigit():
            number += ch
            continue
        if number:
            tokens.append(number)
            number = ""
        if ch in "+-*/()":
            tokens.append(ch)
        elif not ch.isspace():
            raise ParseError(f"unexpected character {ch!r}")
    if number:
        tokens.append(number)
    return tokens


def parse_expr(tokens, pos):
    value, pos = parse_term(tokens, pos)
    while pos < len(tokens) and tokens[pos] in "+-":
        op = tokens[pos]
        right, pos = parse_term(tokens, pos + 1)
        value = value + right if op == "+" else value - right
    return value, pos


def parse_term(tokens, pos):
    value, pos = parse_factor(tokens, pos)
    while pos < len(tokens) and tokens[pos] in "*/":
        op = tokens[pos]
        right, pos = parse_factor(tokens, pos + 1)
        value = value * right if op == "*" else value / right
    return value, pos


def parse_factor(tokens, pos):
    if pos >= len(tokens):
        raise ParseError("unexpected end of input")
    token = tokens[pos]
    if token == "(":
        value, pos = parse_expr(tokens, pos + 1)
        if pos >= len(tokens) or tokens[pos] != ")":
            raise ParseError(f"missing ')' at token {pos}")
        return value, pos + 1
    if token.isdigit():
        return int(token), pos + 1
    raise ParseError(f"unexpected token {token!r} at {pos}")


def evaluate(text):
    tokens = tokenize(text)
    value, pos = parse_expr(tokens, 0)
    if pos != len(tokens):
        raise ParseError(f"trailing input at token {pos}")
    return value


def evaluate_all(inputs):
    results = []
    for text in inputs:
        try:
            results.append((text, evaluate(text)))
        except ParseError as exc:
            results.append((text, f"error: {exc}"))
    return results


if __name__ == "__main__":
    for text, outcome in evaluate_all(["1 + 2 * 3", "(4 + 5) * (2 - 7)", "2 * (3 + (4 * 5)", "8 / 2"]):
        print(f"{text!r:>22} -> {outcome}")
