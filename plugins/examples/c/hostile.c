/* Hostile plugins for the host's tests, one per MODE (compile with -DMODE_xxx):
 *   loop        spins forever                         -> deadline (epoch interruption)
 *   membomb     allocates until the cap               -> out of memory
 *   hugeout     returns 4 MiB of output               -> output too large
 *   trap        executes `unreachable`                -> trap
 *   badhost     calls the URL in input.url            -> denied when not allow-listed
 *   kubeescape  reads a Secret in kube-system         -> denied outside the granted namespace
 *   sleeper     sleeps in a host call forever         -> deadline (async timeout on host calls)
 *   nolog       logs without the log grant            -> denied
 *   chatty      logs 1000 lines of 1 KiB               -> logs capped, step succeeds
 *   ambient     looks for files, environment, clocks  -> finds none (empty WASI context) */
#include "lifeboat.h"

#if defined(MODE_loop)
#define NAME "hostile-loop"
#elif defined(MODE_membomb)
#define NAME "hostile-membomb"
#elif defined(MODE_hugeout)
#define NAME "hostile-hugeout"
#elif defined(MODE_trap)
#define NAME "hostile-trap"
#elif defined(MODE_badhost)
#define NAME "hostile-badhost"
#elif defined(MODE_kubeescape)
#define NAME "hostile-kubeescape"
#elif defined(MODE_sleeper)
#define NAME "hostile-sleeper"
#elif defined(MODE_nolog)
#define NAME "hostile-nolog"
#elif defined(MODE_chatty)
#define NAME "hostile-chatty"
#elif defined(MODE_ambient)
#define NAME "hostile-ambient"
#include <time.h>
#else
#error "define MODE_xxx"
#endif

void exports_lifeboat_plugin_guest_describe(lb_descriptor_t *ret) {
    lb_describe(ret, NAME, "0.1.0", "A misbehaving plugin for tests", "{\"type\":\"object\"}", NULL, 0, false, false);
}

volatile unsigned long long sink;

bool exports_lifeboat_plugin_guest_run(lb_ctx_t *ctx, plugin_string_t *ret, lb_error_t *err) {
    char *input = lb_cstr(&ctx->input);
    (void)input;
    (void)err;
#if defined(MODE_loop)
    for (unsigned long long i = 0;; i++) sink += i;
#elif defined(MODE_membomb)
    for (;;) {
        char *p = malloc(1 << 20);
        if (!p) __builtin_trap();
        memset(p, 1, 1 << 20);
        sink += (unsigned long long)(size_t)p;
    }
#elif defined(MODE_hugeout)
    size_t n = 4u << 20;
    char *s = malloc(n + 3);
    s[0] = '"';
    memset(s + 1, 'a', n);
    s[n + 1] = '"';
    s[n + 2] = 0;
    ret->ptr = (uint8_t *)s;
    ret->len = n + 2;
    return true;
#elif defined(MODE_trap)
    fprintf(stderr, "about to trap\n");
    fflush(stderr);
    __builtin_trap();
#elif defined(MODE_badhost)
    char *url = lb_json_str(input, "url");
    int status = 0;
    char *body = NULL, *herr = NULL;
    if (!lb_http("GET", url, NULL, &status, &body, &herr)) return lb_fail(err, false, "http: %s", herr);
    return lb_ok(ret, "{\"status\":%d}", status);
#elif defined(MODE_kubeescape)
    char *cluster = lb_json_str(input, "cluster");
    lifeboat_plugin_kube_object_ref_t ref;
    plugin_string_set(&ref.cluster, cluster);
    plugin_string_set(&ref.api_version, "v1");
    plugin_string_set(&ref.kind, "Secret");
    plugin_string_set(&ref.namespace_, "kube-system");
    plugin_string_set(&ref.name, "admin-token");
    plugin_option_string_t found;
    lifeboat_plugin_kube_host_error_t kerr;
    if (!lifeboat_plugin_kube_get(&ref, &found, &kerr)) return lb_fail(err, false, "get: %s", lb_cstr(&kerr.message));
    return lb_ok(ret, "{\"stolen\":%s}", found.is_some ? "true" : "false");
#elif defined(MODE_sleeper)
    for (;;) lifeboat_plugin_clock_sleep_ms(3600000);
#elif defined(MODE_chatty)
    char line[1025];
    memset(line, 'x', 1024);
    line[1024] = 0;
    for (int i = 0; i < 1000; i++) lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "%d %s", i, line);
    return lb_ok(ret, "{\"lines\":1000}");
#elif defined(MODE_ambient)
    FILE *f = fopen("/etc/passwd", "r");
    FILE *g = fopen("passwd", "r");
    const char *home = getenv("HOME");
    extern char **environ;
    int nenv = 0;
    for (char **e = environ; e && *e; e++) nenv++;
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    return lb_ok(ret, "{\"file\":%s,\"env\":%d,\"home\":%s,\"realtime\":%lld}", (f || g) ? "true" : "false",
                 nenv, home ? "true" : "false", (long long)ts.tv_sec);
#elif defined(MODE_nolog)
    lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "hello without permission");
    return lb_ok(ret, "{}");
#endif
    return lb_ok(ret, "{}");
}
