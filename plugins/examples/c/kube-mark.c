/* kube-mark: server-side apply a ConfigMap `lifeboat-failover` recording the run into a
 * namespace (so humans and tools see that a failover happened), then list the
 * namespace's ConfigMaps. Grants: log, kube (apply + list on the namespace). */
#include "lifeboat.h"

static const lifeboat_plugin_types_capability_t CAPS[] = {LIFEBOAT_PLUGIN_TYPES_CAPABILITY_LOG,
                                                           LIFEBOAT_PLUGIN_TYPES_CAPABILITY_KUBE};

void exports_lifeboat_plugin_guest_describe(lb_descriptor_t *ret) {
    lb_describe(ret, "kube-mark", "0.1.0", "Record the failover in a ConfigMap",
                "{\"type\":\"object\",\"properties\":{\"cluster\":{\"type\":\"string\"},\"namespace\":{\"type\":"
                "\"string\"}},\"required\":[\"cluster\",\"namespace\"],\"additionalProperties\":false}",
                CAPS, 2, true, false);
}

bool exports_lifeboat_plugin_guest_run(lb_ctx_t *ctx, plugin_string_t *ret, lb_error_t *err) {
    char *input = lb_cstr(&ctx->input);
    char *cluster = lb_json_str(input, "cluster");
    char *ns = lb_json_str(input, "namespace");
    if (!cluster || !ns) return lb_fail(err, false, "input needs cluster and namespace");
    char *run_id = lb_cstr(&ctx->run_id);

    plugin_string_t c, manifest, applied;
    plugin_string_set(&c, cluster);
    plugin_string_set(&manifest,
                      lb_fmt("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"lifeboat-failover\","
                             "\"namespace\":\"%s\"},\"data\":{\"run\":\"%s\",\"drill\":\"%s\"}}",
                             ns, run_id, ctx->drill ? "true" : "false"));
    lifeboat_plugin_kube_host_error_t kerr;
    if (!lifeboat_plugin_kube_apply(&c, &manifest, &applied, &kerr))
        return lb_fail(err, true, "apply: %s", lb_cstr(&kerr.message));

    lifeboat_plugin_kube_object_ref_t ref;
    plugin_string_set(&ref.cluster, cluster);
    plugin_string_set(&ref.api_version, "v1");
    plugin_string_set(&ref.kind, "ConfigMap");
    plugin_string_set(&ref.namespace_, ns);
    plugin_string_set(&ref.name, "");
    plugin_string_t selector, items;
    plugin_string_set(&selector, "");
    if (!lifeboat_plugin_kube_list_objects(&ref, &selector, &items, &kerr))
        return lb_fail(err, true, "list: %s", lb_cstr(&kerr.message));
    /* Count top-level objects by their "kind" keys (naive, good enough here). */
    int count = 0;
    for (char *p = lb_cstr(&items); (p = strstr(p, "\"kind\"")); p++) count++;
    lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "marked %s/%s; %d ConfigMaps", cluster, ns, count);
    return lb_ok(ret, "{\"marked\":true,\"configMaps\":%d}", count);
}
