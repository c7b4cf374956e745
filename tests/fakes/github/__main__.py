"""`python -m tests.fakes.github --port PORT`: serve the demo world until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from .demo import DEMO_USERS, seed_demo
from .simulator import GitHubSimulator


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the GitHub simulator with a demo world.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9780)
    parser.add_argument("--nanoscale-url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    # SIGTERM (make, process managers) must still clean up the temporary repositories.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sim = GitHubSimulator()
    served = sim.serve(args.host, args.port)
    app = seed_demo(sim, nanoscale_url=args.nanoscale_url)
    key = sim.private_key_file(app)
    base = served.base_url
    lines = [
        f"GitHub simulator on {base} (REST API {base}/api/v3)",
        f"  App id:          {app.id}",
        f"  App slug:        {app.slug}",
        f"  client id:       {app.client_id}",
        f"  client secret:   {app.client_secret}",
        f"  webhook secret:  {app.webhook_secret}",
        f"  private key:     {key}",
        f"  webhook URL:     {app.webhook_url}",
        f"  install page:    {base}/apps/{app.slug}/installations/new",
        f"  users:           {', '.join(DEMO_USERS)}  (pick one in the page's 'Signed in as' list,",
        f"                   or add ?login={DEMO_USERS[0]} to the page's URL)",
        "  repositories:    octo-alice/blog (public), octo-alice/hello-web (private),",
        "                   acme-corp/website, acme-corp/api; start command: python3 app.py",
        f"  control API:     {base}/_sim/world",
    ]
    print("\n".join(lines), flush=True)
    try:
        while served.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        served.stop()
        sim.close()


if __name__ == "__main__":
    main()
