"""Baseline for bench_roundtrip.py: the original design's client, which polls its queue every 5 seconds
(short polls) instead of long-polling. It runs each request through phi-agent's own worker, so only the
polling strategy differs from the real agent.

Usage: python bench/polling_baseline_agent.py CONFIG [--interval 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from phi_agent.app import build_agent
from phi_agent.config import load_config
from phi_agent.logs import configure_logging
from phi_agent.worker import Worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config", type=Path)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    configure_logging()
    runtime = load_config(args.config, os.environ)
    agent = build_agent(runtime, os.environ)
    worker = Worker(runtime.agent, agent.clients, agent.registry, agent.state)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        response = agent.clients.sqs.receive_message(
            QueueUrl=runtime.agent.cloud.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        threads = [threading.Thread(target=worker.handle_message, args=(m,)) for m in response.get("Messages", [])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.wait(args.interval)
    agent.registry.close()


if __name__ == "__main__":
    main()
