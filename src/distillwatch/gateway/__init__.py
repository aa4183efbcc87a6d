"""The online gateway: score each request as it arrives and apply a graduated policy.

Reverse proxy in front of an OpenAI-compatible server (``/v1/chat/completions``,
``/v1/completions``, SSE streaming included) and a scoring API (``/v1/score``) for a
provider's own gateway. One module per concept::

    settings   GatewaySettings, the policy file (load + validate)
    policy     rules -> Decision, token buckets per account
    requests   HTTP request + body -> canonical event; response usage -> event fields
    reasoning  strip reasoning from JSON bodies and SSE streams; apply a Marker
    keys       API keys (SHA-256 hashes, roles score / metrics) for /v1/score and /metrics
    metrics    Prometheus metrics in a registry of the app's own
    decisions  the append-only JSONL decision log
    app        create_app(settings, scorer) -> ASGI app
    server     serve(...) in the foreground, running_gateway(...) in a thread
"""
