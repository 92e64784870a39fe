/* dns-switch: point a DNS record at a new target through a DNS provider's HTTP API
 *   GET  {api}/records/{record}  -> {"value":"..."}
 *   PUT  {api}/records/{record}  <- {"value":"TARGET"}
 * Idempotent (no PUT when the record already points at the target; the last switch's
 * idempotency key is kept in kv). In a drill it changes nothing and reports what it
 * would do. Grants: log, http (the API's host:port), kv. */
#include "lifeboat.h"

static const lifeboat_plugin_types_capability_t CAPS[] = {
    LIFEBOAT_PLUGIN_TYPES_CAPABILITY_LOG, LIFEBOAT_PLUGIN_TYPES_CAPABILITY_HTTP, LIFEBOAT_PLUGIN_TYPES_CAPABILITY_KV};

void exports_lifeboat_plugin_guest_describe(lb_descriptor_t *ret) {
    lb_describe(ret, "dns-switch", "0.1.0", "Point a DNS record at a new target (drill: report only)",
                "{\"type\":\"object\",\"properties\":{\"api\":{\"type\":\"string\"},\"record\":{\"type\":\"string\"},"
                "\"target\":{\"type\":\"string\"}},\"required\":[\"api\",\"record\",\"target\"],"
                "\"additionalProperties\":false}",
                CAPS, 3, true, false);
}

static void kv_set(const char *key, const char *value) {
    plugin_string_t k, v;
    plugin_string_set(&k, key);
    plugin_string_set(&v, value);
    lifeboat_plugin_kv_host_error_t e;
    lifeboat_plugin_kv_set(&k, &v, &e);
}

bool exports_lifeboat_plugin_guest_run(lb_ctx_t *ctx, plugin_string_t *ret, lb_error_t *err) {
    char *input = lb_cstr(&ctx->input);
    char *api = lb_json_str(input, "api");
    char *record = lb_json_str(input, "record");
    char *target = lb_json_str(input, "target");
    if (!api || !record || !target) return lb_fail(err, false, "input needs api, record and target");

    char *url = lb_fmt("%s/records/%s", api, record);
    int status = 0;
    char *body = NULL, *herr = NULL;
    if (!lb_http("GET", url, NULL, &status, &body, &herr))
        return lb_fail(err, true, "DNS API unreachable: %s", herr);
    if (status != 200) return lb_fail(err, status >= 500, "GET %s: HTTP %d", url, status);
    char *current = lb_json_str(body, "value");
    if (!current) current = "";

    if (ctx->drill) {
        lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "drill: would switch %s from %s to %s", record, current, target);
        return lb_ok(ret, "{\"switched\":false,\"drill\":true,\"record\":\"%s\",\"from\":\"%s\",\"wouldSwitchTo\":\"%s\"}",
                     record, current, target);
    }
    if (strcmp(current, target) == 0) {
        lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "%s already points at %s", record, target);
        return lb_ok(ret, "{\"switched\":false,\"drill\":false,\"record\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}",
                     record, current, target);
    }
    char *put = lb_fmt("{\"value\":\"%s\"}", target);
    if (!lb_http("PUT", url, put, &status, &body, &herr))
        return lb_fail(err, true, "DNS API unreachable: %s", herr);
    if (status / 100 != 2) return lb_fail(err, status >= 500, "PUT %s: HTTP %d", url, status);
    char *key = lb_cstr(&ctx->idempotency_key);
    kv_set(lb_fmt("last-switch/%s", record), key);
    lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "switched %s from %s to %s", record, current, target);
    return lb_ok(ret, "{\"switched\":true,\"drill\":false,\"record\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", record,
                 current, target);
}
