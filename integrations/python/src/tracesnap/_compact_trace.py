"""Reader of the compact binary trace form (``.tsnap``, the ``compact`` sink), in pure Python.

It is written from the format description in docs/trace-format.md ("The compact form"), apart
from the Swift reader, so the two check each other; ``load`` gives the same dict as the JSON form
of the same recording. A file whose END record is missing (a killed recording) gives every
complete event and a session marked partial. Reads versions 1 and 2 (version 2 keeps variable
slots: see ``_Slots``).
"""

import json
from typing import Any, Dict, List, Optional

MAGIC = b"TSNAPv2\n"
MAGIC_V1 = b"TSNAPv1\n"

REC_END, REC_STRING, REC_HEADER, REC_FINISH, REC_RESET, REC_RAW, REC_EVENT = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10
# version 2: an event of type t (< 0x20) with the last mask of type t, or with the one before it
REC_LAST_MASK, REC_EARLIER_MASK = 0x50, 0x70

F_PARENT, F_NAME, F_TEXT, F_VALUE, F_PREV, F_INDEX = 1, 2, 4, 8, 16, 32
F_CONTEXT, F_FLAGS, F_PHASE, F_ARGS, F_EXTRA, F_SEQ = 64, 128, 256, 512, 1024, 2048

V_TRUNCATED, V_REDACTED, V_REPR_FAILED = 0x1, 0x2, 0x4
V_REPEATS_LAST = 0x40  # version 2: an assign's prev that is its variable's last value
V_RECENT_SHIFT, V_RECENT_MASK = 3, 0x38  # version 2: an assign's id as a place among the recent ones
RECENT_IDS = 7
T_ASSIGN, T_LOOP, T_RETURN = 3, 5, 6
E_UNWIND, E_MUTATION, E_DELETED, E_MODULE = 0x1, 0x2, 0x4, 0x8

TYPE_NAMES = {
    1: "call", 2: "line", 3: "assign", 4: "branch", 5: "loop", 6: "return",
    7: "exception", 8: "extcall", 9: "yield", 10: "resume", 11: "gap",
}


class _Cut(Exception):
    """A record runs past the end of the data."""


class _Slots:
    """Version 2: per live frame, each variable's and loop's last index and each variable's last
    value and scope, keyed by (frame, event type, name string number). An absent index is the
    slot's + 1 (0 without a slot); a prev written as ``V_REPEATS_LAST`` is the slot's value; an
    assign with a slot and no text has the slot's scope; an assign's value may give its id as its
    place among the variable's last seven ids (most recent first). A frame's slots go with its
    ``return`` event, all of them with a RESET record. Also the last two field masks of each
    event type."""

    def __init__(self) -> None:
        self.slots: Dict[Any, List[Any]] = {}
        self.by_frame: Dict[int, List[Any]] = {}
        self.masks: Dict[int, List[Optional[int]]] = {}

    def update(self, key: Any, index: int, value: Any, scope: str, is_assign: bool) -> None:
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = [index, None, None, []]
            self.by_frame.setdefault(key[0], []).append(key)
        slot[0] = index
        if is_assign:
            slot[1] = value
            slot[2] = scope
            if value is not None:
                recent = slot[3]
                if value["id"] in recent:
                    recent.remove(value["id"])
                elif len(recent) == RECENT_IDS:
                    recent.pop()
                recent.insert(0, value["id"])

    def wrote_mask(self, etype: int, mask: int) -> None:
        recent = self.masks.setdefault(etype, [None, None])
        recent[1], recent[0] = recent[0], mask

    def recent_mask(self, etype: int, earlier: bool) -> int:
        recent = self.masks.get(etype, [None, None])
        mask = recent[1] if earlier else recent[0]
        if mask is None:
            raise ValueError("no mask to repeat")
        if earlier:
            self.wrote_mask(etype, mask)
        return mask

    def end_frame(self, frame: int) -> None:
        for key in self.by_frame.pop(frame, ()):
            self.slots.pop(key, None)


class _Reader:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos
        self.strings: List[str] = []
        self.last_number = -1  # the number of the string read last (-1: written inline)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise _Cut()
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7
            if shift > 63:
                raise _Cut()

    def signed(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def raw(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise _Cut()
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def prefixed(self) -> bytes:
        return self.raw(self.varint())

    def text(self, chunk: bytes) -> str:
        return chunk.decode("utf-8", "replace")

    def string(self) -> str:
        reference = self.varint()
        if reference & 1:
            index = reference >> 1
            if index >= len(self.strings):
                raise _Cut()
            self.last_number = index
            return self.strings[index]
        self.last_number = -1
        return self.text(self.raw(reference >> 1))


def _value(reader: _Reader, last_id: List[int], slot: Optional[List[Any]] = None,
           recent_ids: Optional[List[int]] = None) -> Dict[str, Any]:
    flags = reader.varint()
    if slot is not None and flags == V_REPEATS_LAST:
        if slot[1] is None:
            raise _Cut()
        return dict(slot[1])
    recent = 0
    if recent_ids is not None:
        recent = (flags & V_RECENT_MASK) >> V_RECENT_SHIFT
        flags &= ~V_RECENT_MASK
        if recent > len(recent_ids):
            raise _Cut()
    type_name = reader.string()
    if recent:
        last_id[0] = recent_ids[recent - 1]
    else:
        last_id[0] += reader.signed()
    repr_text = reader.text(reader.prefixed())
    value = {
        "repr": repr_text,
        "type": type_name,
        "id": last_id[0],
        "truncated": bool(flags & V_TRUNCATED),
        "redacted": bool(flags & V_REDACTED),
    }
    if flags & V_REPR_FAILED:
        value["repr_failed"] = True
    return value


def _event(reader: _Reader, etype: int, mask: int, state: Dict[str, Any]) -> Dict[str, Any]:
    seq = reader.varint() if mask & F_SEQ else state["seq"] + 1
    state["seq"] = seq
    if mask & F_CONTEXT:
        state["context"] = (reader.varint(), reader.signed(), reader.varint(), reader.varint(),
                            reader.string(), reader.string())
    frame_id, depth, thread, task, file, func = state["context"]
    parent = seq - reader.varint() if mask & F_PARENT else None
    name, name_number = "", -1
    if mask & F_NAME:
        name = reader.string()
        name_number = reader.last_number
    text = reader.string() if mask & F_TEXT else ""
    phase = reader.string() if mask & F_PHASE else ""
    slots: Optional[_Slots] = state["slots"]
    key = (frame_id, etype, name_number)
    has_slot = slots is not None and name_number >= 0 and etype in (T_ASSIGN, T_LOOP)
    slot = slots.slots.get(key) if has_slot else None
    if etype == T_ASSIGN and slot is not None and not mask & F_TEXT:
        text = slot[2]
    last_id = state["last_id"]
    recent_ids = slot[3] if etype == T_ASSIGN and slot is not None else None
    value = _value(reader, last_id, recent_ids=recent_ids) if mask & F_VALUE else None
    prev = _value(reader, last_id, slot if has_slot else None) if mask & F_PREV else None
    if mask & F_INDEX:
        index = reader.signed()
    else:
        index = slot[0] + 1 if slot is not None else 0
    flags = reader.varint() if mask & F_FLAGS else 0
    args: Dict[str, Any] = {}
    if mask & F_ARGS:
        for _ in range(reader.varint()):
            arg_name = reader.string()
            args[arg_name] = _value(reader, last_id)
    extra = reader.text(reader.prefixed()) if mask & F_EXTRA else ""
    state["line"] += reader.signed()
    state["ts"] += reader.signed()
    if has_slot:
        slots.update(key, index, value, text, etype == T_ASSIGN)
    elif slots is not None and etype == T_RETURN:
        slots.end_frame(frame_id)
    if state["main_thread"] is None:
        state["main_thread"] = thread

    event: Dict[str, Any] = {"seq": seq, "ts": state["ts"], "depth": depth}
    type_name = TYPE_NAMES.get(etype, "unknown")
    event["type"] = type_name
    if type_name == "call":
        event["args"] = args
        if flags & E_MODULE:
            event["module"] = True
    elif type_name == "assign":
        event.update(var=name, scope=text, value=value, prev=prev, change_index=index)
        if flags & E_MUTATION:
            event["mutation"] = True
        if flags & E_DELETED:
            event["deleted"] = True
    elif type_name == "branch":
        event.update(node_id=name, taken=text)
    elif type_name == "loop":
        event.update(node_id=name, iteration=index)
    elif type_name == "return":
        if flags & E_UNWIND:
            event.update(value=None, unwind=True)
        else:
            event["value"] = value
    elif type_name == "exception":
        event.update(exc_type=name, message=text, value=value, phase=phase)
    elif type_name == "yield":
        event["value"] = value
    event["line"] = state["line"]
    if file:
        event["file"] = file
    if func:
        event["func"] = func
    event["parent_seq"] = parent
    if frame_id:
        event["frame_id"] = frame_id
    if thread and thread != state["main_thread"]:
        event["thread"] = thread
    if task:
        event["task"] = task
    if extra:
        event.update(json.loads("{" + extra + "}"))
    return event


def load(path: str) -> Dict[str, Any]:
    """The trace at ``path`` as the dict its JSON form gives."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.startswith((MAGIC, MAGIC_V1)):
        raise ValueError(f"{path}: not a compact tracesnap trace")
    version = 2 if data.startswith(MAGIC) else 1
    reader = _Reader(data, len(MAGIC))
    try:
        if reader.byte() != REC_HEADER:
            raise ValueError(f"{path}: the compact trace has no header")
        header = json.loads(reader.prefixed())
    except (_Cut, ValueError) as error:
        raise ValueError(f"{path}: the compact trace's header is unreadable") from error
    events: List[Dict[str, Any]] = []
    state: Dict[str, Any] = {
        "seq": -1, "line": 0, "ts": 0, "last_id": [0], "main_thread": None,
        "context": (0, 0, 0, 0, "", ""), "slots": _Slots() if version >= 2 else None,
    }
    final: Optional[Dict[str, Any]] = None
    cut = False
    while True:
        start = reader.pos
        try:
            kind = reader.byte()
            if kind == REC_END:
                break
            if kind == REC_STRING:
                reader.strings.append(reader.text(reader.prefixed()))
            elif kind == REC_FINISH:
                try:
                    final = json.loads(reader.prefixed())
                except ValueError:
                    cut = True
                break
            elif kind == REC_RAW:
                state["seq"] = reader.signed()
                events.append(json.loads(reader.prefixed()))
            elif kind == REC_RESET:
                state.update(seq=-1, line=0, ts=0, last_id=[0], context=(0, 0, 0, 0, "", ""),
                             slots=_Slots() if version >= 2 else None)
            elif REC_EVENT <= kind < REC_EVENT + 0x40:
                mask = reader.varint()
                if state["slots"] is not None:
                    state["slots"].wrote_mask(kind - REC_EVENT, mask)
                events.append(_event(reader, kind - REC_EVENT, mask, state))
            elif REC_LAST_MASK <= kind < REC_EARLIER_MASK + 0x20 and state["slots"] is not None:
                earlier = kind >= REC_EARLIER_MASK
                etype = kind - (REC_EARLIER_MASK if earlier else REC_LAST_MASK)
                try:
                    mask = state["slots"].recent_mask(etype, earlier)
                except ValueError:
                    cut = True
                    break
                events.append(_event(reader, etype, mask, state))
            else:
                cut = True
                break
        except _Cut:
            reader.pos = start
            cut = start < len(data)
            break
    document: Dict[str, Any] = {key: value for key, value in header.items() if key != "session"}
    document["events"] = events
    if final is not None:
        document["session"] = final
    else:
        session = dict(header.get("session") or {})
        session["partial"] = True
        session.setdefault("partial_reason", "truncated" if cut else "the recording did not finish")
        session["event_count"] = len(events)
        if state["main_thread"] and "main_thread" not in session:
            session["main_thread"] = state["main_thread"]
        document["session"] = session
    return document

