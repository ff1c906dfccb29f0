/*
 * tracesnap_plugin.h — the tracesnap plugin ABI, major version 1.
 *
 * This header is the only contract between the tracesnap host (the recorder that runs inside the
 * traced Python process) and a plugin shared library. No Swift type crosses this boundary: only
 * the C structs below, plain function pointers and UTF-8 byte ranges. A plugin may therefore be
 * built with any toolchain (any Swift version, C, Rust, ...), with or without a static runtime.
 *
 * Rules that keep old plugins loading:
 *   - Every struct starts with `struct_size`. Fields are only ever APPENDED at the end of a struct,
 *     under a "since 1.N" comment; a reader checks `struct_size` before touching a newer field.
 *   - The entry symbol carries the ABI major in its name. An incompatible change adds
 *     `tracesnap_plugin_init_v2` and keeps `tracesnap_plugin_init_v1` as a stub that reports it.
 *   - The host refuses a plugin whose descriptor has the wrong magic, another ABI major, or a
 *     struct smaller than the 1.0 layout, with one message and before calling anything else in it.
 *
 * See docs/plugin-abi.md for the life cycle, ownership rules and a worked example.
 */
#ifndef TRACESNAP_PLUGIN_H
#define TRACESNAP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major version: bumped only for incompatible changes (with a new entry symbol). */
#define TS_PLUGIN_ABI_MAJOR 1
/** ABI minor version: bumped when fields or host functions are appended. */
#define TS_PLUGIN_ABI_MINOR 1
/** The descriptor magic, "TSNP". */
#define TS_PLUGIN_MAGIC 0x54534E50u

/** Status codes returned by plugin callbacks. */
#define TS_OK 0
/** The plugin failed; the host disables it with one warning and recording continues. */
#define TS_ERROR 1

/** A UTF-8 byte range. `ptr` may be NULL when `len` is 0. Not NUL-terminated in general. */
typedef struct ts_str {
    const char *ptr;
    size_t len;
} ts_str;

/* ---- Values ------------------------------------------------------------------------------- */

/** The value's repr was cut at the repr limit (120 characters). */
#define TS_VALUE_TRUNCATED 0x1u
/** The value was redacted; `repr` holds the redaction placeholder. */
#define TS_VALUE_REDACTED 0x2u
/** Calling `repr()` failed (it raised, recursed or changed the object); `repr` says why. */
#define TS_VALUE_REPR_FAILED 0x4u
/** The value slot is filled. An empty slot is written as JSON `null`. */
#define TS_VALUE_PRESENT 0x8u

/** A captured Python value: its bounded repr, its type name and its `id()`. */
typedef struct ts_value {
    ts_str repr;
    ts_str type;
    int64_t id;
    uint32_t flags; /* TS_VALUE_* */
    uint32_t reserved;
} ts_value;

/** A named value, used for call arguments. */
typedef struct ts_arg {
    ts_str name;
    ts_value value;
} ts_arg;

/* ---- Events ------------------------------------------------------------------------------- */

/** Event types. Values are stable; new types are appended. */
typedef enum ts_event_type {
    TS_EVENT_CALL = 1,      /* a traced function was entered */
    TS_EVENT_LINE = 2,      /* a line is about to run */
    TS_EVENT_ASSIGN = 3,    /* a variable was bound, rebound, deleted or mutated in place */
    TS_EVENT_BRANCH = 4,    /* an if/elif/else, match case, try/except arm was taken */
    TS_EVENT_LOOP = 5,      /* a loop iteration started */
    TS_EVENT_RETURN = 6,    /* a traced function returned (or unwound) */
    TS_EVENT_EXCEPTION = 7, /* an exception was raised, propagated into or handled in a frame */
    TS_EVENT_EXTCALL = 8,   /* an outbound call (HTTP, ...) finished */
    TS_EVENT_YIELD = 9,     /* a generator or coroutine suspended (yield / await) */
    TS_EVENT_RESUME = 10,   /* a generator or coroutine resumed */
    TS_EVENT_GAP = 11,      /* events were left out on purpose (limits); the trace says so */
} ts_event_type;

/** Bit for `event_mask` fields: `TS_EVENT_BIT(TS_EVENT_LINE)`. */
#define TS_EVENT_BIT(type) (1ull << (unsigned)(type))
/** A mask that selects every event type. */
#define TS_EVENT_ALL (~0ull)

/** return: the frame unwound because of an exception (no return value). */
#define TS_EVENTF_UNWIND 0x1u
/** assign: the object was changed in place (same identity); `prev` holds the value before. */
#define TS_EVENTF_MUTATION 0x2u
/** assign: the name was deleted (`del x`); `value` is empty. */
#define TS_EVENTF_DELETED 0x4u
/** call: the frame is a module body (`<module>`). */
#define TS_EVENTF_MODULE 0x8u

/**
 * One recorder event. Field meaning per type:
 *
 *   field        | call        | assign            | branch   | loop      | return/yield | exception         | extcall
 *   -------------+-------------+-------------------+----------+-----------+--------------+-------------------+-----------
 *   name         | -           | variable name     | node_id  | node_id   | -            | exception type    | kind ("http")
 *   text         | -           | scope             | taken    | -         | -            | message           | -
 *   phase        | -           | -                 | -        | -         | -            | raised/propagated/handled | -
 *   value        | -           | new value         | -        | -         | return value | exception value   | -
 *   prev         | -           | previous value    | -        | -         | -            | -                 | -
 *   index        | -           | change_index      | -        | iteration | -            | -                 | -
 *   args         | arguments   | -                 | -        | -         | -            | -                 | -
 *   extra_json   | extra members of the JSON object, e.g. `"verb":"GET","status":200` (no braces)
 *
 * All pointers stay valid only for the duration of the callback that received the event. A
 * transform that changes a field must point it at memory that stays valid until its `next` call
 * returns (a static string, or storage owned by the plugin).
 */
typedef struct ts_event {
    uint32_t struct_size;
    uint32_t type;        /* ts_event_type */
    int64_t seq;          /* dense, 0-based; assigned when the event reaches the sinks, -1 before */
    int64_t ts;           /* nanoseconds since the session started (monotonic clock) */
    int32_t depth;        /* traced-frame depth on this thread (call: after push; return: before pop) */
    int32_t line;         /* 1-based line number; 0 when unknown */
    uint64_t thread;      /* OS thread ident (`threading.get_ident()`) */
    uint64_t frame_id;    /* unique per traced call in the session; 0 for session-level events */
    int64_t parent_seq;   /* seq of the enclosing branch/loop event, or -1 for null */
    uint32_t flags;       /* TS_EVENTF_* */
    uint32_t nargs;       /* call: number of entries in `args` */
    ts_str file;          /* absolute path of the source file */
    ts_str func;          /* function name (`co_name`; `<module>` for module bodies) */
    ts_str name;          /* see the table above */
    ts_str text;          /* see the table above */
    ts_str phase;         /* see the table above */
    ts_value value;
    ts_value prev;
    int64_t index;        /* see the table above */
    const ts_arg *args;   /* call: the arguments, in signature order */
    ts_str extra_json;    /* extra JSON object members (no surrounding braces), or empty */
    uint64_t task;        /* since 1.0: asyncio task id when known, else 0 */
} ts_event;

/* ---- Host API ----------------------------------------------------------------------------- */

/** Log levels for `ts_host_api.log`. */
#define TS_LOG_DEBUG 0
#define TS_LOG_INFO 1
#define TS_LOG_WARNING 2
#define TS_LOG_ERROR 3

/**
 * The continuation handed to `on_event`: call `emit(ctx, event)` to pass an event (the one
 * received, possibly changed, or a new one) to the rest of the chain. `emit` returns the `seq`
 * the event received at the sinks, or -1 when a later stage dropped it. Not calling `emit` drops
 * the event.
 */
typedef struct ts_next {
    void *ctx;
    int64_t (*emit)(void *ctx, ts_event *event);
} ts_next;

/** Functions the host lends to a plugin. Append-only; check `struct_size` for newer members. */
typedef struct ts_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /** Host version string, e.g. "0.3.0". */
    const char *host_version;
    /** Write a message to the host's log (stderr, prefixed `tracesnap:`). `msg` is NUL-terminated. */
    void (*log)(int level, const char *plugin_name, const char *msg);
    /** Nanoseconds since the session started, on the clock used for `ts`. */
    int64_t (*now_ns)(void);
} ts_host_api;

/* ---- Watching Python calls (since 1.1) --------------------------------------------------- */

/**
 * A Python callable a plugin watches, and what it reads from each call (since 1.1).
 *
 * The recorder wraps `module.qualname` (e.g. `requests.sessions` / `Session.send`) for the length
 * of a recording: at once when the module is already imported, otherwise as soon as the program
 * imports it (the recorder never imports it itself). When an outermost call of it finishes
 * (returned or raised), each path in `reads` is evaluated on the call and the plugin's
 * `on_watch` receives the values. The wrapper never changes what the call returns or raises.
 *
 * Path grammar: a root — `args[N]` (positional argument N; for a method, `args[0]` is `self`),
 * `kwargs.NAME`, `result`, `exception` — followed by `.attribute` steps, optionally ended by
 * `#len` (the `len()` of the value), `#dict` (a mapping as an object of str → str) or `#str`
 * (its `str()`). Values arrive as JSON: null (missing, or reading it failed), booleans, numbers,
 * strings; any other object as its `str()`, cut at 2000 characters. Reading never raises into
 * the program and never runs code but attribute access, `len`, `str` and mapping iteration.
 */
typedef struct ts_watch {
    uint32_t struct_size;
    uint32_t flags;             /* reserved, 0 */
    const char *module;         /* module that defines the callable, e.g. "urllib.request" */
    const char *qualname;       /* "OpenerDirector.open"; a class attribute or a module function */
    const char *const *reads;   /* NULL-terminated paths, see above */
} ts_watch;

/** One finished outermost call of a watched callable (since 1.1). */
typedef struct ts_watch_call {
    uint32_t struct_size;
    uint32_t watch_index;       /* index into the descriptor's `watches` */
    int64_t started_ts;         /* ns since the session started, like ts_event.ts */
    int64_t ended_ts;
    ts_str values_json;         /* JSON object: {path: value} for every path in `reads` */
    ts_str exception_type;      /* the exception's class name; empty when the call returned */
    ts_str exception_message;   /* str() of the exception */
    /* Where the call was made: the innermost traced frame on the calling thread. */
    int64_t call_seq;           /* seq of that frame's current line event, or -1 */
    uint64_t frame_id;          /* 0 when no traced frame is running */
    uint64_t thread;
    uint64_t task;
    int32_t depth;
    int32_t line;
    ts_str file;
    ts_str func;
} ts_watch_call;

/* ---- Plugin descriptor -------------------------------------------------------------------- */

/** Plugin kinds (a plugin may be both). */
#define TS_PLUGIN_KIND_TRANSFORM 0x1u /* sees events before the sinks; may change, add or drop */
#define TS_PLUGIN_KIND_SINK 0x2u      /* receives the final events (with seq) and stores them */

/**
 * What a plugin hands back from its entry point. Owned by the plugin and valid for the life of
 * the process (plugins are never unloaded). Callbacks that are not needed may be NULL.
 *
 * Ownership of `char **error` out-parameters: the plugin sets `*error` to a `malloc`ed
 * NUL-terminated message; the host `free`s it.
 */
typedef struct ts_plugin_descriptor {
    uint32_t magic;        /* TS_PLUGIN_MAGIC */
    uint32_t struct_size;  /* sizeof(ts_plugin_descriptor) as the plugin was built */
    uint16_t abi_major;    /* TS_PLUGIN_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;    /* TS_PLUGIN_ABI_MINOR the plugin was built against */
    uint32_t kind;         /* TS_PLUGIN_KIND_* */
    const char *name;      /* short unique name, e.g. "redactor" */
    const char *version;   /* the plugin's own version, e.g. "1.0.0" */
    const char *const *features; /* NULL-terminated list of feature strings, or NULL */
    uint64_t event_mask;   /* TS_EVENT_BIT(...) of the events `on_event` wants; others bypass it */

    /** Create an instance for one recording session. `options_json` is a JSON object. */
    int (*create)(const char *options_json, size_t options_len, void **state, char **error);
    /**
     * The session starts. `session_json` is the session object (JSON). A transform may replace it
     * by setting `*replacement` to a `malloc`ed JSON object (the host frees it); sinks see the
     * final session. `trace_id` is the trace's id.
     */
    int (*begin)(void *state, const char *trace_id, const char *session_json, size_t session_len,
                 char **replacement, size_t *replacement_len, char **error);
    /** One event. Transforms pass it on with `next`; sinks store it (`next` is empty for sinks). */
    int (*on_event)(void *state, ts_event *event, const ts_next *next, char **error);
    /**
     * The session ends. `session_json` is the final session object (it may differ from the one
     * given to `begin`, e.g. a request's status was added). `partial` is 1 when the traced program
     * was interrupted (Ctrl-C, a signal, a recorder error). A transform may replace the session as
     * in `begin`. `result_json` lets a sink report what it wrote (a `malloc`ed JSON object, e.g.
     * `{"path": "..."}`), or stays NULL.
     */
    int (*finish)(void *state, const char *session_json, size_t session_len, int partial,
                  char **replacement, size_t *replacement_len, char **result_json, char **error);
    /** Release the instance. Called once, after `finish` or after a failure. */
    void (*destroy)(void *state);

    /* since 1.1 */
    /** Python callables to watch (see `ts_watch`), `watch_count` of them; NULL/0 for none. */
    const ts_watch *watches;
    uint32_t watch_count;
    uint32_t reserved;
    /**
     * A watched call finished. Emit any events (an `extcall`, say) with `next`, as `on_event`
     * does; the events enter the chain after this plugin. NULL when `watch_count` is 0.
     */
    int (*on_watch)(void *state, const ts_watch_call *call, const ts_next *next, char **error);
} ts_plugin_descriptor;

/**
 * The one symbol a plugin exports. The host calls it once after `dlopen`, passing its API table.
 * The plugin fills `*descriptor` and returns TS_OK, or returns TS_ERROR with `*error` set (for
 * example when `host->abi_major` is not the major it was built for).
 */
typedef int (*ts_plugin_init_v1_fn)(const ts_host_api *host, const ts_plugin_descriptor **descriptor,
                                    char **error);

/** The entry symbol's name for ABI major 1. */
#define TS_PLUGIN_ENTRY_V1 "tracesnap_plugin_init_v1"

#ifdef __cplusplus
}
#endif

#endif /* TRACESNAP_PLUGIN_H */
