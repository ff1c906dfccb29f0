"""Keeps what was computed."""


class History:
    def __init__(self):
        self.entries = []
        self.errors = 0

    def record(self, expression, result, error=None):
        self.entries.append((expression, result, error))
        if error is not None:
            self.errors += 1

    def summary(self):
        ok = len(self.entries) - self.errors
        return f"{len(self.entries)} expressions, {ok} ok, {self.errors} failed"
