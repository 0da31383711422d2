#!/usr/bin/env python3
"""A local SMTP server for the mail tests (aiosmtpd from PyPI): every accepted message is
written to DIR as NNNN.eml (the DATA as received) with NNNN.json (envelope sender, recipients,
whether the session was TLS). Prints "READY <port>" once it listens.

    smtp_catcher.py DIR [--starttls CERT KEY] [--defer-first N [--defer-match TEXT]] [--refuse-rcpt TEXT]

--defer-first N   answer the first N messages' DATA with 451 (try again later); with
                  --defer-match, only messages to a recipient containing TEXT count
--refuse-rcpt T   answer RCPT TO with 550 for recipients containing T (a permanent bounce)
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import sys

from aiosmtpd.controller import Controller


class Catcher:
    def __init__(self, directory, defer_first, defer_match, refuse_rcpt):
        self.directory = directory
        self.defer_left = defer_first
        self.defer_match = defer_match
        self.refuse_rcpt = refuse_rcpt
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt and self.refuse_rcpt in address:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        matches = not self.defer_match or any(self.defer_match in r for r in envelope.rcpt_tos)
        if self.defer_left > 0 and matches:
            self.defer_left -= 1
            return "451 4.3.0 try again later"
        self.count += 1
        base = os.path.join(self.directory, "%06d" % self.count)
        with open(base + ".eml.part", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as out:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "tls": session.ssl is not None}, out)
        os.rename(base + ".eml.part", base + ".eml")
        return "250 OK queued"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--defer-first", type=int, default=0)
    parser.add_argument("--defer-match")
    parser.add_argument("--refuse-rcpt")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    options = {}
    if args.starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.starttls)
        options = {"tls_context": context, "require_starttls": True}
    port = free_port()
    controller = Controller(Catcher(args.directory, args.defer_first, args.defer_match, args.refuse_rcpt),
                            hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("READY %d" % port, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    main()
