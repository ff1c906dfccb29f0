"""An independent reader of the players' columns stream (docs/players.md, "Wire format"), written
from the spec to check the server's encoder: it turns a stream back into the trace as JSON values.
"""

import json
import struct

HEAD, EVENTS, TAIL, ERROR = 1, 2, 3, 4
INT32, FLOAT64, TEXT, CONST_TEXT, INDEX, CONST_INT = range(6)
NULL_INT32 = -(2 ** 31)


def pad8(n):
    return (n + 7) & ~7


def frames(data: bytes):
    """(kind, payload) of every frame."""
    at = 0
    while at < len(data):
        kind, length = struct.unpack_from("<II", data, at)
        payload = data[at + 8: at + 8 + length]
        assert len(payload) == length, "frame cut short"
        yield kind, payload
        at += pad8(8 + length)


class Decoder:
    def __init__(self):
        self.strings = [None]  # id 0 = none
        self.shapes = []
        self.head = None
        self.tail = None
        self.error = None
        self.events = []
        self.chunks = []  # (first, count, progress)

    def text(self, sid):
        return json.loads(self.strings[sid])

    def feed(self, data: bytes):
        for kind, payload in frames(data):
            if kind == HEAD:
                assert self.head is None and not self.events
                self.head = json.loads(payload)
            elif kind == EVENTS:
                assert self.head is not None
                self.chunk(payload)
            elif kind == TAIL:
                self.tail = json.loads(payload)
            elif kind == ERROR:
                self.error = json.loads(payload)["error"]
            else:
                raise AssertionError("unknown frame kind %d" % kind)
        return self

    def chunk(self, p: bytes):
        first, count, nstr, nshapes, ngroups, flags, progress, _ = struct.unpack_from("<8I", p, 0)
        assert first == len(self.events), (first, len(self.events))
        at = 32
        lengths = struct.unpack_from("<%dI" % nstr, p, at)
        at += 4 * nstr
        for n in lengths:
            self.strings.append(p[at: at + n].decode("utf-8"))
            at += n
        at = pad8(at)
        for _ in range(nshapes):
            (nkeys,) = struct.unpack_from("<I", p, at)
            keys = struct.unpack_from("<%dI" % nkeys, p, at + 4)
            self.shapes.append([self.text(k) for k in keys])
            at += 4 + 4 * nkeys
        at = pad8(at)
        wide = flags & 1
        shape_of = struct.unpack_from("<%d%s" % (count, "I" if wide else "H"), p, at)
        at = pad8(at + count * (4 if wide else 2))
        members = {}
        for i, s in enumerate(shape_of):
            members.setdefault(s, []).append(i)
        events = [None] * count
        for _ in range(ngroups):
            shape, size = struct.unpack_from("<II", p, at)
            at += 8
            assert len(members[shape]) == size
            objs = [dict() for _ in range(size)]
            for key in self.shapes[shape]:
                enc, aux = struct.unpack_from("<II", p, at)
                at += 8
                if enc == INT32:
                    vals = struct.unpack_from("<%di" % size, p, at)
                    at = pad8(at + 4 * size)
                    vals = [None if v == NULL_INT32 else v for v in vals]
                elif enc == FLOAT64:
                    vals = struct.unpack_from("<%dd" % size, p, at)
                    at = pad8(at + 8 * size)
                    vals = [int(v) if v.is_integer() and abs(v) < 2 ** 53 else v for v in vals]
                elif enc == TEXT:
                    ids = struct.unpack_from("<%dI" % size, p, at)
                    at = pad8(at + 4 * size)
                    vals = [self.text(i) for i in ids]
                elif enc == CONST_TEXT:
                    vals = [self.text(aux)] * size
                elif enc == INDEX:
                    vals = [first + i for i in members[shape]]
                elif enc == CONST_INT:
                    vals = [struct.unpack("<i", struct.pack("<I", aux))[0]] * size
                else:
                    raise AssertionError("unknown encoding %d" % enc)
                for o, v in zip(objs, vals):
                    o[key] = v
            for i, o in zip(members[shape], objs):
                events[i] = o
        assert at == len(p), (at, len(p))
        assert all(e is not None for e in events)
        self.events.extend(events)
        self.chunks.append((first, count, progress))

    def trace(self):
        """The trace as one JSON object (members, events, session)."""
        out = dict(self.head["members"])
        out["events"] = self.events
        if self.tail:
            out.update(self.tail["members"])
            out["session"] = self.tail["session"]
        return out
