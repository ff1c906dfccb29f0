/* A plugin written in plain C against tracesnap_plugin.h, built by the tests with `cc`.
 * FIXTURE selects a variant: 0 good (drops `line` events), 1 only exports the v2 entry symbol,
 * 2 wrong magic, 3 descriptor claims ABI major 2, 4 on_event fails on the 3rd event,
 * 5 entry point reports an error, 6 good but built against ABI 1.0 (the descriptor ends before the
 * 1.1 members and says minor 0). */
#include <stdlib.h>
#include <string.h>
#include "tracesnap_plugin.h"

#ifndef FIXTURE
#define FIXTURE 0
#endif

static int seen = 0;

static int create(const char *options, size_t len, void **state, char **error) {
    (void)options; (void)len; (void)error;
    *state = &seen;
    return TS_OK;
}

static int on_event(void *state, ts_event *event, const ts_next *next, char **error) {
    (void)state;
    seen++;
    if (FIXTURE == 4 && seen == 3) {
        *error = strdup("fixture failure on purpose");
        return TS_ERROR;
    }
    if (event->type == TS_EVENT_LINE && FIXTURE == 0) return TS_OK; /* dropped */
    next->emit(next->ctx, event);
    return TS_OK;
}

static const char *const features[] = {"fixture", NULL};

static ts_plugin_descriptor descriptor = {
    TS_PLUGIN_MAGIC, sizeof(ts_plugin_descriptor), TS_PLUGIN_ABI_MAJOR, TS_PLUGIN_ABI_MINOR,
    TS_PLUGIN_KIND_TRANSFORM, "c-fixture", "0.0.1", features, TS_EVENT_ALL,
    create, NULL, on_event, NULL, NULL,
};

#if FIXTURE == 1
int tracesnap_plugin_init_v2(const ts_host_api *host, const ts_plugin_descriptor **out, char **error) {
#else
int tracesnap_plugin_init_v1(const ts_host_api *host, const ts_plugin_descriptor **out, char **error) {
#endif
    (void)host;
    if (FIXTURE == 2) descriptor.magic = 0x12345678u;
    if (FIXTURE == 3) descriptor.abi_major = 2;
    if (FIXTURE == 6) {
        descriptor.struct_size = (uint32_t)offsetof(ts_plugin_descriptor, watches);
        descriptor.abi_minor = 0;
    }
    if (FIXTURE == 5) {
        *error = strdup("this fixture refuses to start");
        return TS_ERROR;
    }
    *out = &descriptor;
    return TS_OK;
}
