# A Cloudflare-style module worker running @meshguard/policy in standalone workerd.
#
#   npx workerd serve config.capnp            (from bindings/npm/examples/worker, after
#                                              `npm run build:wasm` in bindings/npm)
#
# The .wasm is a `wasm` module (a compiled WebAssembly.Module: Workers forbid compiling
# bytes at run time) and the worker calls `initSync({ module })`. Modules keep the
# package's own relative paths, so the package's files are embedded unchanged.
# test/runtimes.test.mjs serves this on a free port (`--socket-addr http=127.0.0.1:PORT`).

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "js/web.js", esModule = embed "../../js/web.js"),
    (name = "js/api.js", esModule = embed "../../js/api.js"),
    (name = "js/errors.js", esModule = embed "../../js/errors.js"),
    (name = "js/sync.js", esModule = embed "../../js/sync.js"),
    (name = "js/client.js", esModule = embed "../../js/client.js"),
    (name = "js/compact.js", esModule = embed "../../js/compact.js"),
    (name = "pkg/web/meshguard_wasm.js", esModule = embed "../../pkg/web/meshguard_wasm.js"),
    (name = "pkg/web/meshguard_wasm_bg.wasm", wasm = embed "../../pkg/web/meshguard_wasm_bg.wasm"),
    (name = "policies/autogpt-production.yaml", text = embed "../../../../policies/autogpt-production.yaml"),
    (name = "policies/autogpt.yaml", text = embed "../../../../policies/autogpt.yaml"),
    (name = "policies/claude-code-dev-assistant.yaml", text = embed "../../../../policies/claude-code-dev-assistant.yaml"),
    (name = "policies/claude-code-file.yaml", text = embed "../../../../policies/claude-code-file.yaml"),
    (name = "policies/claude-code-shell.yaml", text = embed "../../../../policies/claude-code-shell.yaml"),
    (name = "policies/claude-code-web.yaml", text = embed "../../../../policies/claude-code-web.yaml"),
    (name = "policies/clawdbot-calendar.yaml", text = embed "../../../../policies/clawdbot-calendar.yaml"),
    (name = "policies/clawdbot-email.yaml", text = embed "../../../../policies/clawdbot-email.yaml"),
    (name = "policies/clawdbot-file.yaml", text = embed "../../../../policies/clawdbot-file.yaml"),
    (name = "policies/clawdbot-messaging.yaml", text = embed "../../../../policies/clawdbot-messaging.yaml"),
    (name = "policies/clawdbot-web.yaml", text = embed "../../../../policies/clawdbot-web.yaml"),
  ],
  compatibilityDate = "2025-01-01",
);
