/* spin: a CPU-bound loop of input.n iterations (for benchmarks of fuel and epochs). */
#include "lifeboat.h"

void exports_lifeboat_plugin_guest_describe(lb_descriptor_t *ret) {
    lb_describe(ret, "spin", "0.1.0", "Burn CPU for benchmarks",
                "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}}}", NULL, 0, false, false);
}

bool exports_lifeboat_plugin_guest_run(lb_ctx_t *ctx, plugin_string_t *ret, lb_error_t *err) {
    (void)err;
    double n = 1000;
    lb_json_num(lb_cstr(&ctx->input), "n", &n);
    unsigned long long x = 88172645463325252ull;
    for (unsigned long long i = 0; i < (unsigned long long)n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return lb_ok(ret, "{\"x\":%llu}", x % 1000);
}
