"""A tiny ray tracer: vector objects with operator methods, sphere intersection, shading.

Lots of short method calls that build new immutable objects, as in real numeric OO code.
"""

SIZES = {"full": 48, "quick": 28, "reference": 10, "callgrind": (6, 9)}


class Vec:
    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z

    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y, self.z + other.z)

    def __sub__(self, other):
        return Vec(self.x - other.x, self.y - other.y, self.z - other.z)

    def scale(self, k):
        return Vec(self.x * k, self.y * k, self.z * k)

    def dot(self, other):
        return self.x * other.x + self.y * other.y + self.z * other.z

    def unit(self):
        length = self.dot(self) ** 0.5
        return self.scale(1.0 / length)

    def __repr__(self):
        return f"Vec({self.x:.2f}, {self.y:.2f}, {self.z:.2f})"


class Sphere:
    def __init__(self, centre, radius, shade):
        self.centre = centre
        self.radius = radius
        self.shade = shade

    def hit(self, origin, direction):
        offset = origin - self.centre
        b = offset.dot(direction)
        c = offset.dot(offset) - self.radius * self.radius
        disc = b * b - c
        if disc < 0:
            return None
        t = -b - disc ** 0.5
        return t if t > 1e-6 else None


def trace(scene, light, origin, direction):
    nearest, target = None, None
    for sphere in scene:
        t = sphere.hit(origin, direction)
        if t is not None and (nearest is None or t < nearest):
            nearest, target = t, sphere
    if target is None:
        return 0.1
    point = origin + direction.scale(nearest)
    normal = (point - target.centre).unit()
    brightness = max(0.0, normal.dot((light - point).unit()))
    return target.shade * (0.2 + 0.8 * brightness)


def run(n):
    scene = [Sphere(Vec(0, 0, 5), 1.5, 0.9), Sphere(Vec(2, 1, 7), 1.0, 0.6), Sphere(Vec(0, -101, 5), 100, 0.4)]
    light = Vec(-5, 5, 0)
    eye = Vec(0, 0, 0)
    total = 0.0
    for row in range(n):
        for col in range(n):
            direction = Vec((col - n / 2) / n, (n / 2 - row) / n, 1).unit()
            total += trace(scene, light, eye, direction)
    return round(total, 3)


if __name__ == "__main__":
    print(run(SIZES["full"]))
