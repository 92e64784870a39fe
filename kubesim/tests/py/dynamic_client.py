"""Drive kubesim with the official Python `kubernetes` client: dynamic discovery, CRUD,
conflicts, selectors and paging. Prints one JSON summary line; exits non-zero on failure."""
import json
import sys

from kubernetes import config, dynamic
from kubernetes.client import api_client
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError

kubeconfig = sys.argv[1]
client = dynamic.DynamicClient(api_client.ApiClient(configuration=config.new_client_from_config(config_file=kubeconfig).configuration))
summary = {}

# Discovery: resources are found by apiVersion/kind, with the right scope.
cms = client.resources.get(api_version="v1", kind="ConfigMap")
deploys = client.resources.get(api_version="apps/v1", kind="Deployment")
crds = client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
summary["scopes"] = {"ConfigMap": cms.namespaced, "Deployment": deploys.namespaced, "CRD": crds.namespaced}

# CRUD.
created = cms.create(namespace="default", body={"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": "py-cm", "labels": {"app": "py"}},
                                                 "data": {"k": "v1"}})
got = cms.get(namespace="default", name="py-cm")
assert got.data.k == "v1", got
got_dict = got.to_dict()
got_dict["data"]["k"] = "v2"
updated = cms.replace(namespace="default", body=got_dict)
assert int(updated.metadata.resourceVersion) > int(created.metadata.resourceVersion)
# A stale resourceVersion is a 409 Conflict.
stale = dict(got_dict)
stale["metadata"] = dict(got_dict["metadata"], resourceVersion=created.metadata.resourceVersion)
try:
    cms.replace(namespace="default", body=stale)
    summary["stale_update"] = "accepted"
except ConflictError as e:
    summary["stale_update"] = e.status
patched = cms.patch(namespace="default", name="py-cm", body={"data": {"extra": "x"}},
                    content_type="application/merge-patch+json")
summary["patched_data"] = patched.to_dict()["data"]

# generateName.
gen = cms.create(namespace="default", body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}})
summary["generated_name_prefix"] = gen.metadata.name.startswith("gen-") and len(gen.metadata.name) > 4

# Paging: 25 objects in pages of 10.
for i in range(25):
    cms.create(namespace="default", body={"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": f"page-{i:02d}", "labels": {"paged": "yes"}}})
names, token, pages = [], None, 0
while pages < 100:
    page = cms.get(namespace="default", label_selector="paged=yes", limit=10, _continue=token)
    pages += 1
    names += [item.metadata.name for item in page.items]
    token = getattr(page.metadata, "continue", None)
    if not token:
        break
summary["paged"] = {"pages": pages, "count": len(names), "unique": len(set(names))}

# Field selector and delete.
one = cms.get(namespace="default", field_selector="metadata.name=py-cm")
summary["field_selector_count"] = len(one.items)
cms.delete(namespace="default", name="py-cm")
try:
    cms.get(namespace="default", name="py-cm")
    summary["after_delete"] = "still there"
except NotFoundError as e:
    summary["after_delete"] = e.status

print(json.dumps(summary, sort_keys=True))
