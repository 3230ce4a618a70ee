#!/usr/bin/env python3
"""dns.py: DNS fault injection and checks for sluice's scenario tests (stdlib only).

  dns.py proxy --listen IP:PORT --upstream IP:PORT [--drop SUFFIX]... [--servfail SUFFIX]...
      UDP and TCP front for the authoritative nsd: forwards every query to upstream, except
      queries for a name equal to or below a --drop suffix (never answered: the resolver
      times out) or a --servfail suffix (answered SERVFAIL). nsd cannot do either by itself,
      and a delegation to a dead server does not help: a stub resolver forwarding with RD
      set treats the referral as an empty answer.
      --log FILE appends one line per query received: "udp|tcp NAME TYPE VERDICT".
  dns.py query NAME TYPE [--server IP:PORT]
      One UDP query; prints "rcode=N" then one line per answer record "TYPE rdata".
      Exit 0 when an answer arrived, 1 on timeout.
"""
import argparse
import asyncio
import random
import socket
import struct
import sys

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}


def qname_of(pkt):
    """The question name of a DNS message, lower-case, without the final dot; None if bad."""
    labels, i = [], 12
    while i < len(pkt):
        n = pkt[i]
        if n == 0:
            return ".".join(labels).lower()
        if n & 0xC0 or i + 1 + n > len(pkt):
            return None
        labels.append(pkt[i + 1:i + 1 + n].decode("latin-1"))
        i += 1 + n
    return None


def qtype_of(pkt):
    """The question type of a DNS message as text ("MX", "A", ..., or the number)."""
    i = 12
    while i < len(pkt) and pkt[i] != 0 and not pkt[i] & 0xC0:
        i += 1 + pkt[i]
    if i + 3 > len(pkt):
        return "?"
    t = struct.unpack("!H", pkt[i + 1:i + 3])[0]
    return {v: k for k, v in TYPES.items()}.get(t, str(t))


def under(name, suffixes):
    return any(name == s or name.endswith("." + s) for s in suffixes)


def servfail(pkt):
    """The query turned into a SERVFAIL response (question kept, no records)."""
    qd_end = 12
    while qd_end < len(pkt) and pkt[qd_end] != 0:
        qd_end += 1 + pkt[qd_end]
    qd_end += 5
    flags = struct.unpack("!H", pkt[2:4])[0]
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | 2  # QR, opcode+RD kept, RA, SERVFAIL
    return pkt[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + pkt[12:qd_end]


class Rules:
    def __init__(self, opts):
        self.drop = [s.lower().strip(".") for s in opts.drop or []]
        self.fail = [s.lower().strip(".") for s in opts.servfail or []]
        self.log = open(opts.log, "a", buffering=1) if getattr(opts, "log", None) else None

    def note(self, proto, pkt, verdict):
        """With --log: one line per query received."""
        if self.log:
            self.log.write(f"{proto} {qname_of(pkt)} {qtype_of(pkt)} {verdict}\n")

    def verdict(self, pkt):
        """'drop', 'servfail' or 'forward'."""
        name = qname_of(pkt)
        if name is None:
            return "drop"
        if under(name, self.drop):
            return "drop"
        if under(name, self.fail):
            return "servfail"
        return "forward"


class UdpFront(asyncio.DatagramProtocol):
    def __init__(self, rules, upstream):
        self.rules, self.upstream = rules, upstream

    def connection_made(self, transport):
        self.t = transport

    def datagram_received(self, pkt, addr):
        v = self.rules.verdict(pkt)
        self.rules.note("udp", pkt, v)
        if v == "servfail":
            self.t.sendto(servfail(pkt), addr)
        elif v == "forward":
            asyncio.get_running_loop().create_task(self.forward(pkt, addr))

    async def forward(self, pkt, addr):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        class Once(asyncio.DatagramProtocol):
            def datagram_received(self, data, _):
                if not fut.done():
                    fut.set_result(data)

        t, _ = await loop.create_datagram_endpoint(Once, remote_addr=self.upstream)
        try:
            t.sendto(pkt)
            self.t.sendto(await asyncio.wait_for(fut, 5), addr)
        except asyncio.TimeoutError:
            pass
        finally:
            t.close()


async def tcp_front(rules, upstream, reader, writer):
    """Length-prefixed queries, forwarded one by one over a TCP connection to upstream."""
    try:
        while True:
            n = struct.unpack("!H", await reader.readexactly(2))[0]
            pkt = await reader.readexactly(n)
            v = rules.verdict(pkt)
            rules.note("tcp", pkt, v)
            if v == "drop":
                continue
            if v == "servfail":
                ans = servfail(pkt)
            else:
                ur, uw = await asyncio.open_connection(*upstream)
                uw.write(struct.pack("!H", len(pkt)) + pkt)
                ans = await ur.readexactly(struct.unpack("!H", await ur.readexactly(2))[0])
                uw.close()
            writer.write(struct.pack("!H", len(ans)) + ans)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        writer.close()


def hostport(s, default_port):
    host, sep, port = s.rpartition(":")
    return (host, int(port)) if sep else (s, default_port)


async def proxy(opts):
    rules, up = Rules(opts), hostport(opts.upstream, 53)
    host, port = hostport(opts.listen, 53)
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: UdpFront(rules, up), local_addr=(host, port))
    server = await asyncio.start_server(lambda r, w: tcp_front(rules, up, r, w), host, port)
    async with server:
        await server.serve_forever()


def name_at(pkt, i):
    """Decodes a (possibly compressed) name at offset i: (name, offset after it)."""
    labels, end, hops = [], None, 0
    while True:
        n = pkt[i]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = i + 2
            i = ((n & 0x3F) << 8) | pkt[i + 1]
            hops += 1
            if hops > 32:
                raise ValueError("compression loop")
            continue
        if n == 0:
            return (".".join(labels) + ".", end if end is not None else i + 1)
        labels.append(pkt[i + 1:i + 1 + n].decode("latin-1"))
        i += 1 + n


def rdata_text(pkt, rtype, off, rdlen):
    if rtype == 1:
        return socket.inet_ntop(socket.AF_INET, pkt[off:off + 4])
    if rtype == 28:
        return socket.inet_ntop(socket.AF_INET6, pkt[off:off + 16])
    if rtype == 15:
        return f"{struct.unpack('!H', pkt[off:off + 2])[0]} {name_at(pkt, off + 2)[0]}"
    if rtype in (2, 5):
        return name_at(pkt, off)[0]
    return pkt[off:off + rdlen].hex()


def query(opts):
    qtype = TYPES[opts.type.upper()]
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in opts.name.strip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(opts.timeout)
    s.sendto(q, hostport(opts.server, 53))
    try:
        pkt = s.recv(65535)
    except socket.timeout:
        print("timeout")
        return 1
    _, flags, qd, an, _, _ = struct.unpack("!HHHHHH", pkt[:12])
    print(f"rcode={flags & 0xF}")
    i = 12
    for _ in range(qd):
        i = name_at(pkt, i)[1] + 4
    for _ in range(an):
        _, i = name_at(pkt, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", pkt[i:i + 10])
        i += 10
        name = {v: k for k, v in TYPES.items()}.get(rtype, str(rtype))
        print(f"{name} {rdata_text(pkt, rtype, i, rdlen)}")
        i += rdlen
    return 0


def main():
    ap = argparse.ArgumentParser(prog="dns.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("proxy")
    p.add_argument("--listen", default="127.0.0.1:53")
    p.add_argument("--upstream", required=True)
    p.add_argument("--drop", action="append")
    p.add_argument("--servfail", action="append")
    p.add_argument("--log", help="append one line per query: udp|tcp NAME TYPE VERDICT")
    q = sub.add_parser("query")
    q.add_argument("name")
    q.add_argument("type")
    q.add_argument("--server", default="127.0.0.1:53")
    q.add_argument("--timeout", type=float, default=2.0)
    opts = ap.parse_args()
    if opts.cmd == "query":
        sys.exit(query(opts))
    asyncio.run(proxy(opts))


if __name__ == "__main__":
    main()
