#!/usr/bin/env python3
"""faultpeer.py: a scripted, misbehaving SMTP server for sluice's fault scenarios (stdlib).

  faultpeer.py --listen IP:PORT --log FILE [--ready FILE] --fault NAME

It behaves like a plain ESMTP server (EHLO with PIPELINING, SIZE, ENHANCEDSTATUSCODES; every
MAIL/RCPT/DATA accepted) except for the one fault chosen, which it commits on every
connection:

  greet421    421 as the greeting, then close
  ehlo421     421 as the reply to EHLO, then close
  mail421     421 as the reply to MAIL, then close
  rcpt421     250 to the first RCPT, 421 to the second, then close (mid-RCPT)
  data421     421 as the reply to DATA (instead of 354), then close
  dot421      421 as the reply to the final dot (after the whole content), then close
  dropdata    354, then close after 1024 bytes of content (no reply; mid-DATA)
  dropfinal   read the whole content and the dot, then close without a final reply
  split       no fault in the dialogue, but every reply is written one byte at a time
              (a separate write, 2 ms apart); the message is accepted
  longreply   a 64 KiB single-line reply to MAIL ("250 xxxx..."), then wait for the client
  silent      never send anything (not even the greeting); wait for the client to give up
  garbage     a greeting of binary garbage and text that is not SMTP, then wait
  none        a correct server (the message is accepted)

Log: JSON lines, flushed at once: {"type":"end", "conn":N, "fault":S, "commands":[...],
"bytes_in":N, "closed_by":"peer"|"client", "seconds":F, "accepted":B} when a connection
ends; {"type":"open", "conn":N} when it starts. A test checks that every connection ended
(nothing left hanging) and what the client sent.
"""
import argparse
import asyncio
import json
import random
import time

MAX_LINE = 8192
FAULTS = ("greet421", "ehlo421", "mail421", "rcpt421", "data421", "dot421", "dropdata",
          "dropfinal", "split", "longreply", "silent", "garbage", "none")


class Closed(Exception):
    """The client closed the connection."""


class Session:
    """One connection: reading lines, writing replies, recording what happened."""

    def __init__(self, srv, reader, writer):
        self.srv, self.r, self.w = srv, reader, writer
        srv.next_id += 1
        self.rec = {"type": "end", "conn": srv.next_id, "fault": srv.fault, "commands": [],
                    "bytes_in": 0, "closed_by": "client", "accepted": False}
        self.start = time.monotonic()
        self.rcpts = 0

    async def send(self, text):
        data = text.encode("latin-1") + b"\r\n"
        if self.srv.fault == "split":
            for i in range(len(data)):
                self.w.write(data[i:i + 1])
                await self.w.drain()
                await asyncio.sleep(0.002)
            return
        self.w.write(data)
        await self.w.drain()

    async def line(self):
        """One line (without CRLF); raises Closed at end of input."""
        raw = await self.r.readline()
        if not raw:
            raise Closed()
        self.rec["bytes_in"] += len(raw)
        return raw.rstrip(b"\r\n").decode("latin-1")

    async def close(self):
        self.rec["closed_by"] = "peer"
        self.w.close()

    async def wait_client(self):
        """Reads and drops everything until the client closes."""
        while True:
            data = await self.r.read(65536)
            if not data:
                raise Closed()
            self.rec["bytes_in"] += len(data)

    async def content(self, limit=None):
        """Reads the content up to the lone dot (True), or until limit bytes (False)."""
        n = 0
        while True:
            raw = await self.r.readline()
            if not raw:
                raise Closed()
            self.rec["bytes_in"] += len(raw)
            n += len(raw)
            if raw.rstrip(b"\r\n") == b".":
                return True
            if limit is not None and n >= limit:
                return False

    async def run(self):
        f = self.srv.fault
        if f == "silent":
            await self.wait_client()
        if f == "garbage":
            self.w.write(bytes(random.randrange(256) for _ in range(300)) +
                         b"\r\nHELLO THERE this is not smtp\r\n\x00\x01\x02\r\n2x0 nope\r\n")
            await self.w.drain()
            await self.wait_client()
        if f == "greet421":
            await self.send("421 4.3.2 faultpeer greeting: service not available")
            return await self.close()
        await self.send("220 faultpeer.example ESMTP faultpeer")
        while True:
            cmd = await self.line()
            self.rec["commands"].append(cmd[:100])
            if not await self.command(cmd.split(" ", 1)[0].upper()):
                return

    async def command(self, verb):
        """Answers one command; False when the session is over."""
        f = self.srv.fault
        if verb in ("EHLO", "HELO"):
            if f == "ehlo421":
                await self.send("421 4.3.2 faultpeer EHLO: closing connection")
                await self.close()
                return False
            await self.send("250-faultpeer.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                            "250 ENHANCEDSTATUSCODES")
        elif verb == "MAIL":
            self.rcpts = 0
            if f == "mail421":
                await self.send("421 4.3.2 faultpeer MAIL: closing connection")
                await self.close()
                return False
            if f == "longreply":
                await self.send("250 " + "x" * 65536)
                await self.wait_client()
            await self.send("250 2.1.0 Ok")
        elif verb == "RCPT":
            self.rcpts += 1
            if f == "rcpt421" and self.rcpts >= 2:
                await self.send("421 4.3.2 faultpeer RCPT: closing connection")
                await self.close()
                return False
            await self.send("250 2.1.5 Ok")
        elif verb == "DATA":
            return await self.data()
        elif verb == "QUIT":
            await self.send("221 2.0.0 Bye")
            await self.close()
            return False
        else:
            await self.send("250 2.0.0 Ok")
        return True

    async def data(self):
        """DATA and the content, with the DATA faults."""
        f = self.srv.fault
        if f == "data421":
            await self.send("421 4.3.2 faultpeer DATA: closing connection")
            await self.close()
            return False
        await self.send("354 End data with <CR><LF>.<CR><LF>")
        if f == "dropdata":
            await self.content(limit=1024)
            await self.close()
            return False
        await self.content()
        if f == "dropfinal":
            await self.close()
            return False
        if f == "dot421":
            await self.send("421 4.3.2 faultpeer end of data: closing connection")
            await self.close()
            return False
        self.rec["accepted"] = True
        await self.send("250 2.0.0 Ok: queued")
        return True


class Server:
    def __init__(self, opts):
        self.fault = opts.fault
        self.next_id = 0
        self.log = open(opts.log, "a", buffering=1)

    def write(self, rec):
        self.log.write(json.dumps(rec, sort_keys=True) + "\n")

    async def handle(self, reader, writer):
        s = Session(self, reader, writer)
        self.write({"type": "open", "conn": s.rec["conn"]})
        try:
            await s.run()
        except (Closed, ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        except ValueError:  # a line over the StreamReader limit
            s.rec["commands"].append("<line too long>")
        s.rec["seconds"] = round(time.monotonic() - s.start, 3)
        self.write(s.rec)
        writer.close()


async def serve(opts):
    srv = Server(opts)
    host, _, port = opts.listen.rpartition(":")
    server = await asyncio.start_server(srv.handle, host, int(port), reuse_address=True,
                                        limit=MAX_LINE)
    if opts.ready:
        open(opts.ready, "w").close()
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(prog="faultpeer.py")
    ap.add_argument("--listen", required=True, help="IP:PORT")
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", help="file created once listening")
    ap.add_argument("--fault", required=True, choices=FAULTS)
    opts = ap.parse_args()
    try:
        asyncio.run(serve(opts))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
