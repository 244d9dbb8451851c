#!/usr/bin/env python3
"""An SMTP server for tests (aiosmtpd): stores every accepted message as DIR/NNNN.eml with its
envelope in DIR/NNNN.json, and misbehaves on request so delivery failures can be tested:
recipients starting with "reject" get 550, those starting with "tempfail" get 451 on their first
attempt. With --cert/--key it speaks STARTTLS (or implicit TLS with --implicit-tls).
Prints "ready PORT" once it listens."""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.tempfailed = set()

    async def handle_RCPT(self, server, session, envelope, address, options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: recipient unknown" % address
        if local.startswith("tempfail") and address not in self.tempfailed:
            self.tempfailed.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.folder, "%04d" % self.count)
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(name + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos, "tls": session.ssl is not None}, f)
        os.rename(name + ".tmp", name + ".eml")
        return "250 2.0.0 queued as sink-%d" % self.count


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--implicit-tls", action="store_true")
    a = ap.parse_args()
    context = None
    if a.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.cert, a.key)
    sink = Sink(a.dir)
    if context and a.implicit_tls:
        controller = Controller(sink, hostname="127.0.0.1", port=a.port, ssl_context=context)
    elif context:
        controller = Controller(sink, hostname="127.0.0.1", port=a.port,
                                server_kwargs={"tls_context": context, "require_starttls": True})
    else:
        controller = Controller(sink, hostname="127.0.0.1", port=a.port)
    controller.start()
    print("ready", a.port, flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
