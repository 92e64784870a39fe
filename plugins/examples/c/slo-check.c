/* slo-check: GET a metrics endpoint returning {"errorRate": 0.01, ...} and fail the
 * step (retryable) when the error rate is above `maxErrorRate`. Grants: log, http. */
#include "lifeboat.h"

static const lifeboat_plugin_types_capability_t CAPS[] = {LIFEBOAT_PLUGIN_TYPES_CAPABILITY_LOG,
                                                           LIFEBOAT_PLUGIN_TYPES_CAPABILITY_HTTP};

void exports_lifeboat_plugin_guest_describe(lb_descriptor_t *ret) {
    lb_describe(ret, "slo-check", "0.1.0", "Fail when an endpoint's error rate is above a threshold",
                "{\"type\":\"object\",\"properties\":{\"url\":{\"type\":\"string\"},\"maxErrorRate\":{\"type\":"
                "\"number\",\"minimum\":0}},\"required\":[\"url\",\"maxErrorRate\"],\"additionalProperties\":false}",
                CAPS, 2, false, false);
}

bool exports_lifeboat_plugin_guest_run(lb_ctx_t *ctx, plugin_string_t *ret, lb_error_t *err) {
    char *input = lb_cstr(&ctx->input);
    char *url = lb_json_str(input, "url");
    double max_rate;
    if (!url || !lb_json_num(input, "maxErrorRate", &max_rate))
        return lb_fail(err, false, "input needs url and maxErrorRate");
    int status = 0;
    char *body = NULL, *herr = NULL;
    if (!lb_http("GET", url, NULL, &status, &body, &herr))
        return lb_fail(err, true, "metrics endpoint unreachable: %s", herr);
    if (status != 200) return lb_fail(err, true, "GET %s: HTTP %d", url, status);
    double rate;
    if (!lb_json_num(body, "errorRate", &rate)) return lb_fail(err, false, "no errorRate in %s", body);
    if (rate > max_rate) {
        lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_WARN, "error rate %.4f above %.4f", rate, max_rate);
        return lb_fail(err, true, "SLO violated: error rate %.4f is above %.4f", rate, max_rate);
    }
    lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "error rate %.4f within %.4f", rate, max_rate);
    return lb_ok(ret, "{\"errorRate\":%.6f,\"maxErrorRate\":%.6f,\"ok\":true}", rate, max_rate);
}
