"""Register a tool that lives behind an HTTP API from its JSON function spec, then call it.

Runs offline: it starts a small exchange-rate service on 127.0.0.1 first (it wants an API key). The HTTP
executor is stored as data with the skill version, so the tool keeps working after the registry is
reopened; the key is written as ${FX_API_KEY} and read from the environment at call time, never stored.

    python examples/http_tool.py                 # throwaway in-memory registry
    python examples/http_tool.py --db sqlite:////tmp/agentcl-demo.db --port 8765
    agentcl --db sqlite:////tmp/agentcl-demo.db skills show fx_rate
"""
from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from skills import SkillRegistry

RATES = {("EUR", "USD"): 1.08, ("USD", "EUR"): 0.926, ("GBP", "EUR"): 1.17}
DEMO_KEY = "demo-key"

SPEC = {
    "type": "function",
    "function": {
        "name": "fx_rate",
        "description": "Get the exchange rate between two currencies.",
        "parameters": {
            "type": "object",
            "properties": {
                "base": {"type": "string", "description": "ISO code of the currency to convert from, e.g. EUR."},
                "quote": {"type": "string", "description": "ISO code of the currency to convert to, e.g. USD."},
            },
            "required": ["base", "quote"],
        },
    },
}


class RateService(BaseHTTPRequestHandler):
    """POST {"base": "EUR", "quote": "USD"} -> {"rate": 1.08}; 401 without the key, 404 for unknown pairs."""

    def do_POST(self):
        args = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        key = (str(args.get("base", "")).upper(), str(args.get("quote", "")).upper())
        if self.headers.get("X-Api-Key") != DEMO_KEY:
            status, body = 401, {"error": "missing or wrong X-Api-Key"}
        elif key in RATES:
            status, body = 200, {"base": key[0], "quote": key[1], "rate": RATES[key]}
        else:
            status, body = 404, {"error": f"no rate for {key[0]}/{key[1]}"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a throwaway in-memory registry)")
    parser.add_argument("--port", type=int, default=0, help="port of the demo service (default: any free one)")
    opts = parser.parse_args()

    os.environ.setdefault("FX_API_KEY", DEMO_KEY)  # in real use: exported in the agent's environment
    server = HTTPServer(("127.0.0.1", opts.port), RateService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http = {"url": f"http://127.0.0.1:{server.server_port}/rate", "method": "POST",
            "headers": {"X-Api-Key": "${FX_API_KEY}"}, "timeout_s": 5}
    registry = SkillRegistry.open(opts.db, entry_points=False) if opts.db else SkillRegistry.in_memory()
    try:
        print("register:", registry.register_spec(SPEC, http=http).to_dict())
        ok = registry.call("fx_rate", {"base": "EUR", "quote": "USD"}, task="How many dollars is one euro?")
        print("call:", ok.to_dict())
        wrong = registry.call("fx_rate", {"from": "EUR", "quote": "USD"})
        print("wrong call:", wrong.error.kind, "-", wrong.error.message)
        missing = registry.call("fx_rate", {"base": "EUR", "quote": "JPY"})
        print("service error:", missing.error.kind, "-", missing.error.message)
        print("stored executor:", json.dumps(registry.get("fx_rate").current.definition))
        print("stats:", json.dumps(registry.stats("fx_rate")[-1]))
        print("as an OpenAI tool:", json.dumps(registry.export_openai(names=["fx_rate"])[0]))
    finally:
        registry.close()
        server.shutdown()


if __name__ == "__main__":
    main()
