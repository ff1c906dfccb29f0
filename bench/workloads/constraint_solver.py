"""A constraint solver: backtracking search with forward checking over small integer domains
(N-queens plus a graph-colouring instance). Recursion, sets, dict copies, early returns."""

SIZES = {"full": 22, "quick": 16, "reference": 8, "callgrind": (6, 7)}


def queens_constraints(n):
    variables = list(range(n))
    domains = {v: set(range(n)) for v in variables}

    def consistent(a, va, b, vb):
        return va != vb and abs(va - vb) != abs(a - b)

    return variables, domains, consistent


def colouring_constraints(n):
    variables = list(range(3 * n))
    edges = {(i, j) for i in variables for j in variables if i < j and (j - i) in (1, 2, n)}
    domains = {v: {0, 1, 2, 3} for v in variables}

    def consistent(a, va, b, vb):
        if (min(a, b), max(a, b)) in edges:
            return va != vb
        return True

    return variables, domains, consistent


def solve(variables, domains, consistent, assignment=None):
    assignment = {} if assignment is None else assignment
    if len(assignment) == len(variables):
        return dict(assignment)
    unassigned = [v for v in variables if v not in assignment]
    variable = min(unassigned, key=lambda v: len(domains[v]))
    for value in sorted(domains[variable]):
        pruned = {}
        feasible = True
        for other in unassigned:
            if other == variable:
                continue
            allowed = {w for w in domains[other] if consistent(variable, value, other, w)}
            if not allowed:
                feasible = False
                break
            pruned[other] = allowed
        if not feasible:
            continue
        assignment[variable] = value
        saved = {other: domains[other] for other in pruned}
        domains.update(pruned)
        result = solve(variables, domains, consistent, assignment)
        domains.update(saved)
        del assignment[variable]
        if result is not None:
            return result
    return None


def run(n):
    """Solves N-queens and the colouring instance for every size from 4 to n."""
    solved = 0
    for size in range(4, n + 1):
        queens = solve(*queens_constraints(size))
        colours = solve(*colouring_constraints(size))
        solved += (queens is not None) + (colours is not None)
    return solved


if __name__ == "__main__":
    print(run(SIZES["full"]))
