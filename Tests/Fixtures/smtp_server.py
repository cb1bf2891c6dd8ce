#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) that records every message as one JSON line.

Used by the email integration tests:

    smtp_server.py --port-file P --out F [--starttls CERT KEY] [--auth USER:PASS]
                   [--reject-rcpt ADDRESS:CODE]

--starttls offers STARTTLS with the given PEM certificate and key (without
it the server does not offer STARTTLS at all). --auth requires AUTH
(PLAIN/LOGIN) with these credentials before MAIL; with --starttls, AUTH is
accepted only after STARTTLS. --reject-rcpt answers RCPT TO:<ADDRESS> with
CODE (e.g. 550 or 451). Binds 127.0.0.1 on a free port, written to the port
file.

Each line of the output file: mail_from, rcpt_tos, data (the message as
received), tls (whether the session had switched to TLS), auth (the user
that authenticated, or null), and, parsed with Python's email package (an
independent MIME decoder): headers ([name, decoded value] pairs, in order)
and parts ([{content_type, charset, transfer_encoding, content}]).
"""
import argparse
import asyncio
import email
import email.policy
import json
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult

parser = argparse.ArgumentParser()
parser.add_argument("--port-file", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
parser.add_argument("--auth", metavar="USER:PASS")
parser.add_argument("--reject-rcpt", action="append", default=[], metavar="ADDRESS:CODE")
args = parser.parse_args()

# The tests stop the server with SIGTERM: make sure it is neither ignored nor
# blocked, whatever the parent process left set.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
signal.signal(signal.SIGTERM, signal.SIG_DFL)

out = open(args.out, "a", encoding="utf-8")
rejections = {}
for item in args.reject_rcpt:
    address, _, code = item.rpartition(":")
    rejections[address.lower()] = int(code)


def parse(content):
    message = email.message_from_bytes(content, policy=email.policy.default)
    headers = [[name, str(value)] for name, value in message.items()]
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "transfer_encoding": part.get("Content-Transfer-Encoding"),
            "content": part.get_content(),
        })
    return headers, parts


class Recorder:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = rejections.get(address.lower())
        if code is not None:
            return "%d recipient rejected by the test server" % code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        headers, parts = parse(envelope.original_content)
        out.write(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
            "auth": session.auth_data if session.authenticated else None,
            "headers": headers,
            "parts": parts,
        }) + "\n")
        out.flush()
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    user, _, password = args.auth.partition(":")
    login = auth_data.login.decode("utf-8", "replace")
    ok = login == user and auth_data.password.decode("utf-8", "replace") == password
    # handled=False: aiosmtpd then answers 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=login if ok else None)


def make_protocol():
    options = {}
    if args.starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.starttls)
        options["tls_context"] = context
    if args.auth:
        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.starttls))
    else:
        options["auth_require_tls"] = False
    return SMTP(Recorder(), hostname="smtp.test", **options)


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(make_protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file, "w") as f:
        f.write(str(port))
    sys.stdout.write("listening on %d\n" % port)
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


asyncio.run(main())
