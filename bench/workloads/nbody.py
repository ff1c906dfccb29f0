"""N-body simulation: floating-point arithmetic on a few bodies, tuple unpacking, nested loops."""

SIZES = {"full": 2500, "quick": 1000, "reference": 150, "callgrind": (20, 40)}

SOLAR_MASS = 39.47841760435743
DAYS_PER_YEAR = 365.24


def make_bodies():
    # (position, velocity, mass): a sun and four planets with round-number orbits.
    bodies = [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS]]
    for k in range(1, 5):
        distance = 5.0 * k
        speed = (SOLAR_MASS / distance) ** 0.5 / DAYS_PER_YEAR
        bodies.append([[distance, 0.0, 0.1 * k], [0.0, speed * DAYS_PER_YEAR, 0.0], 0.001 * SOLAR_MASS / k])
    return bodies


def advance(bodies, dt):
    count = len(bodies)
    for i in range(count):
        (x1, y1, z1), v1, m1 = bodies[i]
        for j in range(i + 1, count):
            (x2, y2, z2), v2, m2 = bodies[j]
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            distance_sq = dx * dx + dy * dy + dz * dz
            magnitude = dt / (distance_sq * distance_sq ** 0.5)
            v1[0] -= dx * m2 * magnitude
            v1[1] -= dy * m2 * magnitude
            v1[2] -= dz * m2 * magnitude
            v2[0] += dx * m1 * magnitude
            v2[1] += dy * m1 * magnitude
            v2[2] += dz * m1 * magnitude
    for position, velocity, _ in bodies:
        position[0] += dt * velocity[0]
        position[1] += dt * velocity[1]
        position[2] += dt * velocity[2]


def energy(bodies):
    total = 0.0
    for i, (position, velocity, mass) in enumerate(bodies):
        total += 0.5 * mass * sum(v * v for v in velocity)
        for other_position, _, other_mass in bodies[i + 1:]:
            d = sum((a - b) ** 2 for a, b in zip(position, other_position)) ** 0.5
            total -= mass * other_mass / d
    return total


def run(n):
    bodies = make_bodies()
    before = energy(bodies)
    for _ in range(n):
        advance(bodies, 0.01)
    return round(before, 6), round(energy(bodies), 6)


if __name__ == "__main__":
    print(run(SIZES["full"]))
