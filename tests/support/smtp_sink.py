"""A real SMTP server for the API tests (aiosmtpd, from Debian's python3-aiosmtpd).

Usage: smtp_sink.py DIR. Listens on 127.0.0.1 on a free port and prints the port.
Each message received is parsed and written to DIR/new/N.json as
{"from", "to", "subject", "text", "html"}, after the raw message in DIR/new/N.eml.
While the file DIR/refuse exists, every message is refused with a 451 (try later),
as a relay that is busy or greylisting does. A message to an address that starts with
"reject" is refused for good, with a 550 (no such mailbox).
"""

import asyncio
import email
import email.policy
import itertools
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(self.directory, "refuse")):
            return "451 4.3.0 Try again later"
        if any(rcpt.startswith("reject") for rcpt in envelope.rcpt_tos):
            return "550 5.1.1 No such mailbox"
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        parsed = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
        }
        name = f"{next(self.numbers):04}"
        new = os.path.join(self.directory, "new")
        with open(os.path.join(new, name + ".eml"), "wb") as f:
            f.write(raw)
        temporary = os.path.join(self.directory, name + ".tmp")
        with open(temporary, "w") as f:
            json.dump(parsed, f)
        os.rename(temporary, os.path.join(new, name + ".json"))
        return "250 2.0.0 OK"


async def main(directory):
    os.makedirs(os.path.join(directory, "new"), exist_ok=True)
    loop = asyncio.get_running_loop()
    sink = Sink(directory)  # one for every connection: it numbers the messages
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
