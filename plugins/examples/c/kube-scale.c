/* kube-scale: set a Deployment's replicas (JSON merge patch through the `kube`
 * import) and report the previous count. Grants: log, kube (get + patch on the
 * namespace). Asking for a namespace outside the grant is refused by the host. */
#include "lifeboat.h"

static const lifeboat_plugin_types_capability_t CAPS[] = {LIFEBOAT_PLUGIN_TYPES_CAPABILITY_LOG,
                                                           LIFEBOAT_PLUGIN_TYPES_CAPABILITY_KUBE};

void exports_lifeboat_plugin_guest_describe(lb_descriptor_t *ret) {
    lb_describe(ret, "kube-scale", "0.1.0", "Scale a Deployment",
                "{\"type\":\"object\",\"properties\":{\"cluster\":{\"type\":\"string\"},\"namespace\":{\"type\":"
                "\"string\"},\"deployment\":{\"type\":\"string\"},\"replicas\":{\"type\":\"integer\",\"minimum\":0}},"
                "\"required\":[\"cluster\",\"namespace\",\"deployment\",\"replicas\"],\"additionalProperties\":false}",
                CAPS, 2, true, false);
}

bool exports_lifeboat_plugin_guest_run(lb_ctx_t *ctx, plugin_string_t *ret, lb_error_t *err) {
    char *input = lb_cstr(&ctx->input);
    char *cluster = lb_json_str(input, "cluster");
    char *ns = lb_json_str(input, "namespace");
    char *name = lb_json_str(input, "deployment");
    double replicas;
    if (!cluster || !ns || !name || !lb_json_num(input, "replicas", &replicas))
        return lb_fail(err, false, "input needs cluster, namespace, deployment, replicas");

    lifeboat_plugin_kube_object_ref_t ref;
    plugin_string_set(&ref.cluster, cluster);
    plugin_string_set(&ref.api_version, "apps/v1");
    plugin_string_set(&ref.kind, "Deployment");
    plugin_string_set(&ref.namespace_, ns);
    plugin_string_set(&ref.name, name);

    plugin_option_string_t found;
    lifeboat_plugin_kube_host_error_t kerr;
    if (!lifeboat_plugin_kube_get(&ref, &found, &kerr)) return lb_fail(err, true, "get: %s", lb_cstr(&kerr.message));
    if (!found.is_some) return lb_fail(err, false, "deployment %s/%s not found in %s", ns, name, cluster);
    double before = -1;
    lb_json_num(lb_cstr(&found.val), "replicas", &before);

    if (ctx->drill) {
        lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "drill: would scale %s/%s to %d", ns, name, (int)replicas);
        return lb_ok(ret, "{\"scaled\":false,\"drill\":true,\"before\":%d}", (int)before);
    }
    plugin_string_t patch, out;
    plugin_string_set(&patch, lb_fmt("{\"spec\":{\"replicas\":%d}}", (int)replicas));
    if (!lifeboat_plugin_kube_patch(&ref, &patch, &out, &kerr))
        return lb_fail(err, true, "patch: %s", lb_cstr(&kerr.message));
    lb_log(LIFEBOAT_PLUGIN_LOG_LEVEL_INFO, "scaled %s/%s from %d to %d", ns, name, (int)before, (int)replicas);
    return lb_ok(ret, "{\"scaled\":true,\"drill\":false,\"before\":%d,\"after\":%d}", (int)before, (int)replicas);
}
