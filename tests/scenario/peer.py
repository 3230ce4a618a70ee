#!/usr/bin/env python3
"""peer.py: a scriptable SMTP server for sluice's scenario tests (stdlib only).

It shows what Postfix's smtp-sink cannot: connections per peer, peak concurrent connections,
messages per connection, recipients per transaction, how many commands arrived before their
replies were due (pipelining depth), and it answers chosen recipients with 4xx/5xx.

  peer.py serve --listen IP:PORT --log FILE [options]     run the server (foreground)
  peer.py report FILE                                      print key=value totals of a log

Log: JSON lines, flushed at once.
  {"type":"msg", "conn":N, "local":IP, "mail":S, "rcpts":[...], "size":N, "subject":S,
   "max_outstanding":N, "errors":N, "peak":N}   per accepted message (the last three: so far)
  {"type":"conn", "conn":N, "peer":IP, "refused":B, "active_at_open":N, "peak":N, "ehlo":B,
   "helo":S, "transactions":[{"mail":S, "rcpts":[...], "rejected":[[rcpt, reply]...],
   "delivered":B}], "messages":N, "max_outstanding":N, "quit":B, "errors":[...]}
   one per connection, written when it closes.
Pipelining depth ("max_outstanding"): commands (and end-of-data dots) received whose reply had
not been written yet, maximum over the connection. A client that waits for every reply
scores 1. Replies are written in order by one worker per connection, after --delay-ms.
Recipients in flight ("peak_rcpts", in every record: the maximum so far over all
connections): recipients accepted in transactions not yet ended (by the end-of-data dot,
RSET, EHLO/HELO or the connection's end), counted over every connection at once.

TLS (--tls-cert/--tls-key): STARTTLS is offered and upgrades the session (RFC 3207: the
client must EHLO again); --tls-implicit wraps every connection from the first byte (RFC
8314). --tls-fault NAME breaks the STARTTLS handshake instead: "garbage" (bytes that are
not TLS after the 220), "close" (close after the 220), "stall" (never answer after the
220). Every conn and msg record then has "tls": null (cleartext) or {"version", "cipher",
"resumed", "client_cn"}; "starttls" counts STARTTLS commands received.
AUTH (--auth-mechs PLAIN,LOGIN,EXTERNAL and --auth-user USER:PASS, repeatable; EXTERNAL
succeeds with a client certificate, --tls-client-ca, whose CN is the user): AUTH is offered
(after TLS only with --auth-tls-only) and checked; conn records list "auth" attempts as
{"mech", "user", "initrsp", "ok", "tls"} (the password is never logged), and with
--auth-required MAIL is refused (530) before a successful AUTH. msg records carry "auth_user".
--ehlo-keyword KW (repeatable) adds an EHLO line (e.g. "DELIVERBY 60", "DSN", "SMTPUTF8"):
what the keyword promises is not checked, but msg records carry "mail_args" (the MAIL
parameters as received), "rcpt_args" (each accepted recipient's), "body_8bit" and "headers"
(the header section, latin-1, at most 8 KB).
Receiver limits (the etiquette test, docs/shaping.md): --max-connections-per-ip N answers
"421 4.7.0 too many connections" to a client address with N sessions open (a session stops
counting once QUIT is answered); --max-messages-per-conn N answers MAIL after N messages of
one session with "421 4.7.0 too many messages in this session" and closes;
--max-msgs-per-second N answers MAIL with "451 4.7.1 rate limited" when N messages were
already accepted in the current second (fixed windows of the wall clock). conn records count
them in "rate_limited" and "session_limited"; msg records carry their time "t".
Death (--die-after N, a host that dies mid-run): once N messages were accepted in all, the
server stops listening (later connects are refused) and closes every session after the
replies already written; nothing more is read or answered, so every message logged got its
250 and none that was cut off is logged. A record {"type":"died", "messages":N} marks it.
"""
import argparse
import asyncio
import base64
import json
import re
import ssl
import sys
import time

MAX_LINE = 4096
MAX_MSG = 64 * 1024 * 1024


def parse_rules(specs):
    """'regex=reply text' -> [(compiled regex, reply)]."""
    rules = []
    for spec in specs or []:
        rx, sep, reply = spec.partition("=")
        if not sep or not re.match(r"^[245]\d\d ", reply):
            sys.exit(f"peer.py: bad rule {spec!r}, want 'regex=NNN text'")
        rules.append((re.compile(rx, re.I), reply))
    return rules


def args_of(arg):
    """'FROM:<a@b> X=Y Z' -> 'X=Y Z' (the ESMTP parameters as sent)."""
    m = re.match(r"^(?:FROM|TO):\s*<[^>]*>\s*(.*)$", arg, re.I)
    return m.group(1) if m else ""


def addr_of(arg):
    """'TO:<a@b> X=Y' -> 'a@b' (lower-case); None when malformed."""
    m = re.match(r"^(?:FROM|TO):\s*<([^>]*)>", arg, re.I)
    return m.group(1).lower() if m else None


class Server:
    """Shared state: options, connection counters, log file."""

    def __init__(self, opts):
        self.o = opts
        self.reject = parse_rules(opts.reject_rcpt)
        self.tempfail = parse_rules(opts.tempfail_rcpt)
        self.tempfail_seen = {}
        self.next_id = 0
        self.active = 0
        self.peak = 0
        self.rcpts_in_flight = 0
        self.peak_rcpts = 0
        self.log = open(opts.log, "a", buffering=1)
        self.per_ip = {}                 # client address -> sessions counted
        self.rate_second, self.rate_count = 0, 0
        self.ssl = None
        if opts.tls_cert:
            self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl.load_cert_chain(opts.tls_cert, opts.tls_key or opts.tls_cert)
            if opts.tls_client_ca:
                self.ssl.verify_mode = ssl.CERT_OPTIONAL
                self.ssl.load_verify_locations(opts.tls_client_ca)
        self.users = dict(u.split(":", 1) for u in (opts.auth_user or []))
        self.mechs = [m.upper() for m in (opts.auth_mechs or "").split(",") if m]
        self.messages = 0                # accepted, over every session (--die-after)
        self.dead = False
        self.conns = set()
        self.servers = []

    def die(self):
        """--die-after: stop listening, close every session (written replies still go)."""
        self.dead = True
        self.write({"type": "died", "messages": self.messages})
        for sv in self.servers:
            sv.close()
        for c in list(self.conns):
            c.t.close()

    def write(self, rec):
        self.log.write(json.dumps(rec, sort_keys=True) + "\n")

    def rcpts_change(self, n):
        """n recipients joined (n > 0) or left (n < 0) open transactions."""
        self.rcpts_in_flight += n
        self.peak_rcpts = max(self.peak_rcpts, self.rcpts_in_flight)

    def rcpt_reply(self, rcpt):
        """The reply for RCPT TO:<rcpt> under the reject/tempfail rules."""
        for rx, reply in self.reject:
            if rx.search(rcpt):
                return reply
        for rx, reply in self.tempfail:
            if rx.search(rcpt):
                n = self.tempfail_seen.get(rcpt, 0)
                self.tempfail_seen[rcpt] = n + 1
                if self.o.tempfail_times == 0 or n < self.o.tempfail_times:
                    return reply
        return "250 2.1.5 Ok"


class Conn(asyncio.Protocol):
    """One SMTP session. data_received splits lines; a worker task answers them in order."""

    def __init__(self, srv):
        self.srv = srv
        self.buf = b""
        self.queue = asyncio.Queue()
        self.outstanding = 0
        self.in_data = False
        self.body = []
        self.body_size = 0
        self.closed = False
        self.worker = None
        self.rec = None
        self.txn = None

    def connection_made(self, transport):
        srv = self.srv
        self.t = transport
        if srv.dead:  # accepted from the backlog before the listener closed
            transport.close()
            self.rec = None
            return
        srv.conns.add(self)
        srv.next_id += 1
        peer = transport.get_extra_info("peername")
        refused = srv.o.max_connections > 0 and srv.active >= srv.o.max_connections
        self.ip = peer[0] if peer else "?"
        self.ip_counted = False
        if not refused and srv.o.max_connections_per_ip > 0:
            refused = srv.per_ip.get(self.ip, 0) >= srv.o.max_connections_per_ip
        if not refused:
            srv.per_ip[self.ip] = srv.per_ip.get(self.ip, 0) + 1
            self.ip_counted = True
            srv.active += 1
            srv.peak = max(srv.peak, srv.active)
        local = transport.get_extra_info("sockname")
        self.rec = {"type": "conn", "conn": srv.next_id, "peer": peer[0] if peer else "?",
                    "local": local[0] if local else "?",
                    "refused": refused, "active_at_open": srv.active, "peak": srv.peak,
                    "ehlo": False, "helo": None, "transactions": [], "messages": 0,
                    "max_outstanding": 0, "quit": False, "errors": [], "tls": None,
                    "starttls": 0, "auth": [], "rate_limited": 0, "session_limited": 0}
        self.auth_user = None
        self.auth_state = None
        if srv.o.tls_implicit:
            self.rec["tls"] = tls_info(transport)
        if refused:
            transport.write(b"421 4.7.0 too many connections\r\n")
            transport.close()
            return
        self.worker = asyncio.get_running_loop().create_task(self.run())
        self.queue.put_nowait(("GREETING", None))

    def connection_lost(self, exc):
        self.closed = True
        if self.rec is None:
            return
        self.srv.conns.discard(self)
        if self.worker:
            self.worker.cancel()
        if not self.rec["refused"]:
            self.srv.active -= 1
        self.ip_release()
        self.end_txn()
        self.rec["peak"] = self.srv.peak
        self.rec["peak_rcpts"] = self.srv.peak_rcpts
        self.srv.write(self.rec)

    def ip_release(self):
        """The session stops counting against its client address (once)."""
        if self.ip_counted:
            self.ip_counted = False
            self.srv.per_ip[self.ip] -= 1

    def limited(self):
        """The reply for a MAIL over a receiver limit (and whether to close), or None."""
        o, srv = self.srv.o, self.srv
        if o.max_messages_per_conn and self.rec["messages"] >= o.max_messages_per_conn:
            self.rec["session_limited"] += 1
            return "421 4.7.0 too many messages in this session"
        if o.max_msgs_per_second:
            now = int(time.time())
            if now != srv.rate_second:
                srv.rate_second, srv.rate_count = now, 0
            if srv.rate_count >= o.max_msgs_per_second:
                self.rec["rate_limited"] += 1
                return "451 4.7.1 rate limited"
            srv.rate_count += 1
        return None

    def data_received(self, data):
        if self.srv.dead:
            return
        self.buf += data
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                if len(self.buf) > MAX_LINE and not self.in_data:
                    self.rec["errors"].append("line too long")
                    self.t.close()
                return
            line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
            self.line(line)

    def line(self, raw):
        """Body lines are collected here; commands and the final dot go to the worker."""
        text = raw.rstrip(b"\r\n")
        if self.in_data:
            if text == b".":
                self.in_data = False
                self.enqueue(("EOM", None))
                return
            self.body_size += len(raw)
            if self.body_size <= MAX_MSG:
                self.body.append(text[1:] if text.startswith(b"..") else text)
            return
        self.enqueue(("CMD", text.decode("latin-1")))

    def enqueue(self, item):
        self.outstanding += 1
        self.rec["max_outstanding"] = max(self.rec["max_outstanding"], self.outstanding)
        self.queue.put_nowait(item)

    def reply(self, text):
        if not self.closed:
            self.t.write(text.encode() + b"\r\n")

    async def run(self):
        delay = self.srv.o.delay_ms / 1000.0
        while True:
            kind, arg = await self.queue.get()
            if delay:
                await asyncio.sleep(delay)
            if self.srv.dead:
                return
            if kind == "GREETING":
                if not self.greet():
                    return
                continue
            if kind == "EOM":
                self.end_of_data()
            elif kind == "CMD" and arg.upper() == "STARTTLS" and self.auth_state is None:
                self.outstanding -= 1
                if not await self.starttls():
                    return
                continue
            elif not self.command(arg):
                self.outstanding -= 1
                self.t.close()
                return
            self.outstanding -= 1

    def greet(self):
        code = self.srv.o.greeting_code
        if code >= 400:
            self.reply(f"{code} peer.example service not available")
            self.t.close()
            return False
        self.reply(f"{code} peer.example ESMTP peer.py")
        return True

    async def starttls(self):
        """STARTTLS: 220, then the handshake (or the scripted fault). False: session over."""
        self.rec["starttls"] += 1
        o = self.srv.o
        if self.srv.ssl is None or self.rec["tls"] is not None:
            self.reply("454 4.7.0 TLS not available")
            return True
        self.reply("220 2.0.0 Ready to start TLS")
        if o.tls_fault == "garbage":
            self.t.write(b"HTTP/1.0 200 OK\r\n\r\nthis is not TLS at all\r\n")
            self.t.close()
            return False
        if o.tls_fault == "close":
            self.t.close()
            return False
        if o.tls_fault == "stall":
            await asyncio.Event().wait()
        try:
            self.t = await asyncio.get_running_loop().start_tls(self.t, self, self.srv.ssl,
                                                                server_side=True)
        except (ssl.SSLError, OSError, ConnectionError) as e:
            self.rec["errors"].append(f"handshake: {e}")
            self.t.close()
            return False
        self.buf = b""
        self.rec["tls"] = tls_info(self.t)
        self.rec["helo"] = None  # RFC 3207 §4.2: the client must say EHLO again
        self.end_txn()
        return True

    def ehlo_lines(self):
        caps = ["peer.example"]
        if not self.srv.o.no_pipelining:
            caps.append("PIPELINING")
        caps += [f"SIZE {self.srv.o.size}", "8BITMIME", "ENHANCEDSTATUSCODES"]
        if self.srv.ssl is not None and self.rec["tls"] is None:
            caps.append("STARTTLS")
        if self.srv.mechs and (self.rec["tls"] is not None or not self.srv.o.auth_tls_only):
            caps.append("AUTH " + " ".join(self.srv.mechs))
        caps += self.srv.o.ehlo_keyword or []
        return "\r\n".join(("250-" if i < len(caps) - 1 else "250 ") + c
                           for i, c in enumerate(caps))

    def command(self, line):
        """Answers one command. Returns False when the session must end."""
        if self.auth_state is not None:
            return self.auth_step(line)
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        handler = {"EHLO": self.do_ehlo, "HELO": self.do_helo, "MAIL": self.do_mail,
                   "RCPT": self.do_rcpt, "DATA": self.do_data, "RSET": self.do_rset,
                   "NOOP": self.do_noop, "QUIT": self.do_quit, "AUTH": self.do_auth}.get(verb)
        if handler is None:
            self.rec["errors"].append(f"unknown command {line[:80]!r}")
            self.reply("502 5.5.2 command not recognized")
            return True
        return handler(arg.strip())

    def end_txn(self):
        """The open transaction (if any) ends: its recipients are no longer in flight."""
        if self.txn is not None:
            self.srv.rcpts_change(-len(self.txn["rcpts"]))
        self.txn = None

    def do_ehlo(self, arg):
        self.end_txn()
        self.rec["ehlo"], self.rec["helo"] = True, arg
        self.reply(self.ehlo_lines())
        return True

    def do_helo(self, arg):
        self.end_txn()
        self.rec["helo"] = arg
        self.reply("250 peer.example")
        return True

    def do_auth(self, arg):
        """AUTH MECH [initial-response]: PLAIN and LOGIN, checked against --auth-user."""
        mech, _, ir = arg.partition(" ")
        mech = mech.upper()
        offered = self.srv.mechs and (self.rec["tls"] is not None or not self.srv.o.auth_tls_only)
        if not offered or mech not in self.srv.mechs or self.rec["helo"] is None:
            self.rec["errors"].append(f"AUTH {mech} not offered")
            self.reply("504 5.5.4 mechanism not available")
            return True
        if self.auth_user is not None:
            self.reply("503 5.5.1 already authenticated")
            return True
        self.auth_state = {"mech": mech, "initrsp": bool(ir), "got": []}
        if ir:
            return self.auth_step(ir)
        self.reply("334 " + ("VXNlcm5hbWU6" if mech == "LOGIN" else ""))
        return True

    def auth_step(self, line):
        """One client response of the AUTH exchange in progress."""
        st = self.auth_state
        if line == "*":
            self.auth_state = None
            self.reply("501 5.0.0 authentication cancelled")
            return True
        try:
            st["got"].append(base64.b64decode(line if line != "=" else "", validate=True))
        except ValueError:
            self.auth_state = None
            self.rec["errors"].append("AUTH: bad base64")
            self.reply("501 5.5.2 bad base64")
            return True
        if st["mech"] == "EXTERNAL":
            cn = (self.rec["tls"] or {}).get("client_cn")
            authz = st["got"][0].decode("latin-1")
            return self.auth_done(st, authz or cn or "", cn is not None and (not authz or authz == cn))
        if st["mech"] == "PLAIN":
            parts = st["got"][0].split(b"\0")
            user, pw = (parts[1], parts[2]) if len(parts) == 3 else (b"", b"")
        elif len(st["got"]) < 2:
            self.reply("334 UGFzc3dvcmQ6")
            return True
        else:
            user, pw = st["got"][0], st["got"][1]
        user, pw = user.decode("latin-1"), pw.decode("latin-1")
        return self.auth_done(st, user, self.srv.users.get(user) == pw)

    def auth_done(self, st, user, ok):
        """Records an AUTH attempt (never the password) and answers it."""
        self.rec["auth"].append({"mech": st["mech"], "user": user, "initrsp": st["initrsp"],
                                 "ok": ok, "tls": self.rec["tls"] is not None})
        self.auth_state = None
        if ok:
            self.auth_user = user
            self.reply("235 2.7.0 Authentication successful")
        else:
            self.reply("535 5.7.8 Error: authentication failed: bad credentials")
        return True

    def do_mail(self, arg):
        if self.srv.o.auth_required and self.auth_user is None:
            self.rec["errors"].append("MAIL before AUTH")
            self.reply("530 5.7.0 Authentication required")
        elif self.rec["helo"] is None:
            self.rec["errors"].append("MAIL before EHLO/HELO")
            self.reply("503 5.5.1 send EHLO first")
        elif self.txn is not None:
            self.rec["errors"].append("nested MAIL")
            self.reply("503 5.5.1 nested MAIL command")
        elif addr_of(arg) is None:
            self.rec["errors"].append(f"bad MAIL {arg[:80]!r}")
            self.reply("501 5.5.4 syntax: MAIL FROM:<address>")
        elif (lim := self.limited()) is not None:
            self.reply(lim)
            return not lim.startswith("421")
        else:
            self.txn = {"mail": addr_of(arg), "rcpts": [], "rejected": [], "delivered": False,
                        "mail_args": args_of(arg), "rcpt_args": []}
            self.rec["transactions"].append(self.txn)
            self.reply("250 2.1.0 Ok")
        return True

    def do_rcpt(self, arg):
        rcpt = addr_of(arg)
        if self.txn is None:
            self.rec["errors"].append("RCPT without MAIL")
            self.reply("503 5.5.1 need MAIL command")
        elif rcpt is None:
            self.rec["errors"].append(f"bad RCPT {arg[:80]!r}")
            self.reply("501 5.5.4 syntax: RCPT TO:<address>")
        else:
            reply = self.srv.rcpt_reply(rcpt)
            if reply.startswith("2"):
                self.txn["rcpts"].append(rcpt)
                self.txn["rcpt_args"].append(args_of(arg))
                self.srv.rcpts_change(1)
            else:
                self.txn["rejected"].append([rcpt, reply])
            self.reply(reply)
        return True

    def do_data(self, arg):
        if self.txn is None or not self.txn["rcpts"]:
            self.reply("554 5.5.1 no valid recipients")
            return True
        self.in_data, self.body, self.body_size = True, [], 0
        self.reply("354 End data with <CR><LF>.<CR><LF>")
        return True

    def end_of_data(self):
        txn, subject, headers = self.txn, "", []
        for b in self.body:
            if not b:
                break
            headers.append(b.decode("latin-1"))
            if b.lower().startswith(b"subject:"):
                subject = b[8:].strip().decode("latin-1")
        txn["delivered"] = True
        self.rec["messages"] += 1
        self.srv.write({"type": "msg", "conn": self.rec["conn"], "local": self.rec["local"],
                        "mail": txn["mail"],
                        "rcpts": txn["rcpts"], "size": self.body_size, "subject": subject,
                        "max_outstanding": self.rec["max_outstanding"], "peak": self.srv.peak,
                        "peak_rcpts": self.srv.peak_rcpts, "errors": len(self.rec["errors"]),
                        "tls": self.rec["tls"], "auth_user": self.auth_user,
                        "mail_args": txn["mail_args"], "rcpt_args": txn["rcpt_args"],
                        "body_8bit": any(c >= 0x80 for b in self.body for c in b),
                        "headers": "\n".join(headers)[:8192],
                        "t": time.time()})
        self.end_txn()
        self.reply("250 2.0.0 Ok: queued")
        self.srv.messages += 1
        if self.srv.o.die_after and self.srv.messages >= self.srv.o.die_after:
            self.srv.die()

    def do_rset(self, arg):
        self.end_txn()
        self.reply("250 2.0.0 Ok")
        return True

    def do_noop(self, arg):
        self.reply("250 2.0.0 Ok")
        return True

    def do_quit(self, arg):
        self.rec["quit"] = True
        self.ip_release()
        self.reply("221 2.0.0 Bye")
        return False


async def serve(opts):
    if opts.refuse:
        # Nothing listens: connections to this address are refused by the kernel.
        await asyncio.Event().wait()
    srv = Server(opts)
    loop = asyncio.get_running_loop()
    servers = srv.servers
    for addr in opts.listen:
        host, _, port = addr.rpartition(":")
        servers.append(await loop.create_server(lambda: Conn(srv), host.strip("[]"), int(port),
                                                reuse_address=True, backlog=512,
                                                ssl=srv.ssl if opts.tls_implicit else None))
    if opts.ready:
        open(opts.ready, "w").close()
    try:
        await asyncio.gather(*(sv.serve_forever() for sv in servers))
    except asyncio.CancelledError:  # --die-after closed them: stay up without listening
        await asyncio.Event().wait()


def tls_info(transport):
    """What a TLS transport negotiated: version, cipher, whether a session was resumed."""
    obj = transport.get_extra_info("ssl_object")
    if obj is None:
        return None
    cert = obj.getpeercert() or {}
    cn = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
    return {"version": obj.version(), "cipher": obj.cipher()[0], "resumed": obj.session_reused,
            "client_cn": cn[0] if cn else None}


def report(path):
    """Totals over a log: the numbers the scenario tests assert on."""
    conns = refused = peak = msgs = rcpts = txns = peak_rcpts = 0
    rate_limited = session_limited = 0
    max_msgs = max_rcpts = max_out = rejected = errors = 0
    msg_errors, conn_errors = {}, {}  # errors per connection: running (msg) and final (conn)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            peak_rcpts = max(peak_rcpts, r.get("peak_rcpts", 0))
            if r["type"] == "msg":
                msgs += 1
                rcpts += len(r["rcpts"])
                max_out = max(max_out, r["max_outstanding"])
                peak = max(peak, r["peak"])
                msg_errors[r["conn"]] = r["errors"]
                continue
            if r["type"] == "died":
                continue
            if r["refused"]:
                refused += 1
                continue
            conns += 1
            rate_limited += r.get("rate_limited", 0)
            session_limited += r.get("session_limited", 0)
            peak = max(peak, r["peak"])
            max_msgs = max(max_msgs, r["messages"])
            max_out = max(max_out, r["max_outstanding"])
            conn_errors[r["conn"]] = len(r["errors"])
            for t in r["transactions"]:
                txns += 1
                rejected += len(t["rejected"])
                max_rcpts = max(max_rcpts, len(t["rcpts"]) + len(t["rejected"]))
    msg_errors.update(conn_errors)
    errors = sum(msg_errors.values())
    for k, v in (("conns", conns), ("refused", refused), ("peak", peak), ("messages", msgs),
                 ("rcpts", rcpts), ("transactions", txns), ("max_msgs_per_conn", max_msgs),
                 ("max_rcpts_per_txn", max_rcpts), ("max_outstanding", max_out),
                 ("rejected", rejected), ("errors", errors), ("peak_rcpts", peak_rcpts),
                 ("rate_limited", rate_limited), ("session_limited", session_limited)):
        print(f"{k}={v}")


def main():
    ap = argparse.ArgumentParser(prog="peer.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--listen", required=True, action="append",
                   help="IP:PORT (repeatable: one server, counters shared by all addresses)")
    s.add_argument("--log", required=True)
    s.add_argument("--ready", help="file created once listening")
    s.add_argument("--reject-rcpt", action="append", help="'regex=550 5.1.1 text'")
    s.add_argument("--tempfail-rcpt", action="append", help="'regex=451 4.3.0 text'")
    s.add_argument("--tempfail-times", type=int, default=0,
                   help="tempfail each matching recipient only its first N times (0: always)")
    s.add_argument("--refuse", action="store_true", help="do not listen at all")
    s.add_argument("--greeting-code", type=int, default=220)
    s.add_argument("--no-pipelining", action="store_true")
    s.add_argument("--max-connections", type=int, default=0, help="421 beyond N concurrent")
    s.add_argument("--delay-ms", type=int, default=0, help="delay before every reply")
    s.add_argument("--max-connections-per-ip", type=int, default=0,
                   help="421 to a client address with N sessions open")
    s.add_argument("--max-messages-per-conn", type=int, default=0,
                   help="421 to MAIL after N messages of one session")
    s.add_argument("--max-msgs-per-second", type=int, default=0,
                   help="451 4.7.1 to MAIL past N messages in the current second")
    s.add_argument("--size", type=int, default=10240000)
    s.add_argument("--die-after", type=int, default=0,
                   help="after N messages in all: stop listening and close every session")
    s.add_argument("--ehlo-keyword", action="append",
                   help="one more EHLO line, e.g. 'DELIVERBY 60', DSN, SMTPUTF8 (repeatable)")
    s.add_argument("--tls-cert", help="PEM certificate (chain): offer STARTTLS")
    s.add_argument("--tls-key", help="PEM key (default: in --tls-cert)")
    s.add_argument("--tls-implicit", action="store_true", help="TLS from the first byte")
    s.add_argument("--tls-fault", choices=["garbage", "close", "stall"],
                   help="break the handshake after the 220 to STARTTLS")
    s.add_argument("--tls-client-ca", help="ask for a client certificate issued by this CA")
    s.add_argument("--auth-mechs", help="offer AUTH with these mechanisms (PLAIN,LOGIN,EXTERNAL)")
    s.add_argument("--auth-user", action="append", help="USER:PASS accepted by AUTH")
    s.add_argument("--auth-tls-only", action="store_true", help="offer AUTH only under TLS")
    s.add_argument("--auth-required", action="store_true", help="530 to MAIL before AUTH")
    r = sub.add_parser("report")
    r.add_argument("log")
    opts = ap.parse_args()
    if opts.cmd == "report":
        report(opts.log)
        return
    try:
        asyncio.run(serve(opts))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
