"""Register a tool that lives behind an HTTP API from its JSON function spec, then call it.

Runs offline: it starts a small exchange-rate service on 127.0.0.1 first. The HTTP executor is stored as
data with the skill version, so the tool keeps working after the registry is reopened.

    python examples/http_tool.py                 # throwaway in-memory registry
    python examples/http_tool.py --db sqlite:////tmp/agentcl-demo.db
"""
from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from skills import SkillRegistry

RATES = {("EUR", "USD"): 1.08, ("USD", "EUR"): 0.926, ("GBP", "EUR"): 1.17}

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
    def do_POST(self):
        args = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        key = (str(args.get("base", "")).upper(), str(args.get("quote", "")).upper())
        status, body = (200, {"base": key[0], "quote": key[1], "rate": RATES[key]}) if key in RATES \
            else (404, {"error": f"no rate for {key[0]}/{key[1]}"})
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
    opts = parser.parse_args()

    server = HTTPServer(("127.0.0.1", 0), RateService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/rate"
    registry = SkillRegistry.open(opts.db, entry_points=False) if opts.db else SkillRegistry.in_memory()
    try:
        print("register:", registry.register_spec(SPEC, http={"url": url, "method": "POST"}).to_dict())
        ok = registry.call("fx_rate", {"base": "EUR", "quote": "USD"}, task="How many dollars is one euro?")
        print("call:", ok.to_dict())
        wrong = registry.call("fx_rate", {"from": "EUR", "quote": "USD"})
        print("wrong call:", wrong.error.message)
        missing = registry.call("fx_rate", {"base": "EUR", "quote": "JPY"})
        print("service error:", missing.error.kind, missing.error.message)
        print("stats:", registry.stats("fx_rate"))
        print("as an OpenAI tool:", json.dumps(registry.export_openai(names=["fx_rate"])[0]))
    finally:
        registry.close()
        server.shutdown()


if __name__ == "__main__":
    main()
