"""notify: post a message to a webhook (Slack-style JSON). A Lifeboat plugin in Python.

Build: componentize-py -d plugins/wit -w plugin componentize -p plugins/examples/python/notify app -o notify.wasm
Grants it needs: log, http (the webhook's host:port in allowHosts).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import http, log, types

SCHEMA = {
    "type": "object",
    "properties": {
        "webhook": {"type": "string"},
        "message": {"type": "string"},
        "channel": {"type": "string"},
    },
    "required": ["webhook", "message"],
    "additionalProperties": False,
}


class Guest(exports.Guest):
    def describe(self) -> types.Descriptor:
        return types.Descriptor(
            name="notify",
            version="0.1.0",
            description="Post a message to a webhook",
            input_schema=json.dumps(SCHEMA),
            capabilities=[types.Capability.LOG, types.Capability.HTTP],
            mutating=False,
            production_only=False,
        )

    def run(self, ctx: types.RunCtx) -> str:
        try:
            inp = json.loads(ctx.input)
            webhook, message = inp["webhook"], inp["message"]
        except (ValueError, KeyError) as e:
            raise Err(types.PluginError(message=f"bad input: {e}", retryable=False))
        prefix = "[DRILL] " if ctx.drill else ""
        payload = {
            "text": prefix + message,
            "channel": inp.get("channel", ""),
            "run": ctx.run_id,
            "step": ctx.step_id,
            "idempotencyKey": ctx.idempotency_key,
        }
        request = http.Request(
            method="POST",
            url=webhook,
            headers=[http.Header(name="content-type", value="application/json")],
            body=json.dumps(payload).encode(),
        )
        try:
            resp = http.send(request)
        except Err as e:
            raise Err(types.PluginError(message=f"webhook unreachable: {e.value.message}", retryable=True))
        if resp.status >= 300:
            raise Err(
                types.PluginError(
                    message=f"webhook answered HTTP {resp.status}", retryable=resp.status >= 500
                )
            )
        log.log(log.Level.INFO, f"notified {webhook} (HTTP {resp.status})")
        return json.dumps({"status": resp.status, "drill": ctx.drill, "language": "python"})
