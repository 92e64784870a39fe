/* trivial: returns {"ok":true,"attempt":N} and asks for nothing. Used for benchmarks,
 * parallel runs and the WIT version check. */
#include "lifeboat.h"

void exports_lifeboat_plugin_guest_describe(lb_descriptor_t *ret) {
    lb_describe(ret, "trivial", "0.1.0", "Does nothing, quickly",
                "{\"type\":\"object\",\"additionalProperties\":true}", NULL, 0, false, false);
}

bool exports_lifeboat_plugin_guest_run(lb_ctx_t *ctx, plugin_string_t *ret, lb_error_t *err) {
    (void)err;
    return lb_ok(ret, "{\"ok\":true,\"attempt\":%u,\"drill\":%s}", ctx->attempt, ctx->drill ? "true" : "false");
}
