/* Helpers shared by the C example plugins, on top of the bindings that
 * `lifeboat-componentize bindgen` generates (plugin.h / plugin.c).
 *
 * Memory: every plugin step runs in a fresh instance that is thrown away afterwards,
 * so these helpers allocate freely and never free. Strings returned from exports must
 * be malloc'd (the generated post-return code frees them). */
#ifndef LIFEBOAT_H
#define LIFEBOAT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

/* plugin.c references this symbol to force-link wit-bindgen's `component-type` object
 * file. lifeboat-componentize embeds that type information itself, so no object file
 * is generated and this empty definition satisfies the reference. */
void __component_type_object_force_link_plugin(void) {}

typedef exports_lifeboat_plugin_guest_descriptor_t lb_descriptor_t;
typedef exports_lifeboat_plugin_guest_run_ctx_t lb_ctx_t;
typedef exports_lifeboat_plugin_guest_plugin_error_t lb_error_t;

/* A malloc'd copy of a C string as a WIT string. */
static plugin_string_t lb_str(const char *s) {
    plugin_string_t r;
    plugin_string_dup(&r, s);
    return r;
}

/* A NUL-terminated malloc'd copy of a WIT string. */
static char *lb_cstr(const plugin_string_t *s) {
    char *c = malloc(s->len + 1);
    memcpy(c, s->ptr, s->len);
    c[s->len] = 0;
    return c;
}

static char *lb_vfmt(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *buf = malloc((size_t)n + 1);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    return buf;
}

static char *lb_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = lb_vfmt(fmt, ap);
    va_end(ap);
    return s;
}

/* log at `level` (needs the `log` grant). */
static void lb_log(lifeboat_plugin_log_level_t level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = lb_vfmt(fmt, ap);
    va_end(ap);
    plugin_string_t msg;
    plugin_string_set(&msg, s);
    lifeboat_plugin_log_log(level, &msg);
}

/* Fill a descriptor. */
static void lb_describe(lb_descriptor_t *ret, const char *name, const char *version, const char *description,
                        const char *schema, const lifeboat_plugin_types_capability_t *caps, size_t ncaps,
                        bool mutating, bool production_only) {
    ret->name = lb_str(name);
    ret->version = lb_str(version);
    ret->description = lb_str(description);
    ret->input_schema = lb_str(schema);
    ret->capabilities.len = ncaps;
    ret->capabilities.ptr = malloc(sizeof(*caps) * (ncaps ? ncaps : 1));
    if (ncaps) memcpy(ret->capabilities.ptr, caps, sizeof(*caps) * ncaps);
    ret->mutating = mutating;
    ret->production_only = production_only;
}

/* Return a plugin error from `run`. */
static bool lb_fail(lb_error_t *err, bool retryable, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = lb_vfmt(fmt, ap);
    va_end(ap);
    err->message = lb_str(s);
    err->retryable = retryable;
    return false;
}

/* Return JSON output from `run`. */
static bool lb_ok(plugin_string_t *ret, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = lb_vfmt(fmt, ap);
    va_end(ap);
    ret->ptr = (uint8_t *)s;
    ret->len = strlen(s);
    return true;
}

/* Naive JSON lookup, good enough for flat example inputs: the string value of "key"
 * (malloc'd, escapes not decoded), or NULL. */
static char *lb_json_str(const char *json, const char *key) {
    char *pat = lb_fmt("\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n') p++;
    if (*p != '"') return NULL;
    p++;
    const char *end = p;
    while (*end && *end != '"') {
        if (*end == '\\' && end[1]) end++;
        end++;
    }
    size_t n = (size_t)(end - p);
    char *out = malloc(n + 1);
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

/* Naive JSON lookup of a number value; returns false when absent. */
static bool lb_json_num(const char *json, const char *key, double *out) {
    char *pat = lb_fmt("\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p) return false;
    p += strlen(pat);
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n') p++;
    char *end;
    *out = strtod(p, &end);
    return end != p;
}

/* One HTTP request (needs the `http` grant). On success returns true with the status
 * and a NUL-terminated body; on a host error returns false with a message. */
static bool lb_http(const char *method, const char *url, const char *body, int *status, char **resp_body,
                    char **error) {
    lifeboat_plugin_http_request_t req;
    memset(&req, 0, sizeof(req));
    plugin_string_set(&req.method, method);
    plugin_string_set(&req.url, url);
    lifeboat_plugin_http_header_t hdr;
    plugin_string_set(&hdr.name, "content-type");
    plugin_string_set(&hdr.value, "application/json");
    req.headers.ptr = &hdr;
    req.headers.len = 1;
    if (body) {
        req.body.ptr = (uint8_t *)body;
        req.body.len = strlen(body);
    }
    lifeboat_plugin_http_response_t resp;
    lifeboat_plugin_http_host_error_t herr;
    if (!lifeboat_plugin_http_send(&req, &resp, &herr)) {
        *error = lb_cstr(&herr.message);
        return false;
    }
    *status = resp.status;
    char *b = malloc(resp.body.len + 1);
    memcpy(b, resp.body.ptr, resp.body.len);
    b[resp.body.len] = 0;
    *resp_body = b;
    return true;
}

#endif
