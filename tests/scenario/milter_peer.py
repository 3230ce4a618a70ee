#!/usr/bin/python3
"""milter_peer: milters for the milter client's tests (tests/unit/test_milter_client.c).

    milter_peer.py SOCKET MODE

Modes built on python3-milter (Milter: Debian's binding of Sendmail's libmilter, so the
protocol is spoken by the reference implementation):
  modify      at end of message: add X-Milter, insert X-First at the top, change Subject,
              delete the second Received, replace the body, add and delete a recipient,
              change the sender, quarantine; X-Macros reports the macros it was given
  reject      RCPT: 550 5.7.1 no thanks (setreply)
  tempfail    end of message: tempfail
  discard     end of message: discard
  accept      connect: accept (nothing more asked)
  STEP=ACTION[,STEP=ACTION...]  scripted (smtpd scenarios): STEP is connect, helo, mail,
              rcpt, header, eoh, body or eom; ACTION is continue, accept, discard,
              reject[:CODE:XCODE:TEXT], tempfail[:CODE:XCODE:TEXT] (with text: setreply),
              or at eom: edit (the changes of "modify" but quarantine; the recipient
              deleted is del@..., the one added added@...), quarantine, esmtp (change
              of sender with "RET=HDRS ENVID=milter+2Benv", a recipient par@one.example
              added with "NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig+2Bpar@one.example"),
              badfromarg (change of sender with "XFOO=1"), badrcptarg (a recipient
              added with "RET=FULL"), body8 (the body replaced with UTF-8 text
              "Gr\u00fc\u00dfe vom Milter"), and bysubject (the action is the message's
              Subject). mail and rcpt actions
              apply only to addresses starting with "no" (others continue).
              With MILTER_PEER_LOG set, each end of message appends one JSON line: the
              macros seen per step, the headers and the body as the milter got them.
Raw modes (a broken milter, plain sockets):
  silent      accepts the connection, never answers
  garbage     answers the option negotiation with a packet length of 4 GiB
  close       answers the option negotiation, then closes at the first step
SOCKET is a UNIX socket path; it exists once the peer listens.
"""
import os
import socket
import struct
import sys

MACROS = ["j", "{daemon_name}", "{client_addr}", "{client_name}", "_", "{mail_addr}",
          "{rcpt_addr}", "i", "{auth_authen}"]
ALL_MACROS = MACROS + ["v", "{daemon_addr}", "{daemon_port}", "{if_name}", "{if_addr}",
                       "{client_port}", "{client_ptr}", "{client_connections}",
                       "{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}",
                       "{cert_issuer}", "{auth_type}", "{auth_author}", "{mail_mailer}",
                       "{mail_host}", "{rcpt_mailer}", "{rcpt_host}"]


def raw(path, mode):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path + ".tmp")  # the socket appears at PATH only once it listens
    srv.listen(8)
    os.rename(path + ".tmp", path)
    kept = []
    while True:
        c, _ = srv.accept()
        if mode == "silent":
            c.recv(65536)
            kept.append(c)  # keep it open, say nothing
            continue
        c.recv(65536)
        if mode == "garbage":
            c.sendall(b"\xff\xff\xff\xffO")
            continue
        c.sendall(struct.pack(">IcIII", 13, b"O", 6, 0x1FF, 0))
        c.recv(65536)
        c.close()


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode in ("silent", "garbage", "close"):
        raw(path, mode)
        return
    if "=" in mode:
        scripted(path, dict(kv.split("=", 1) for kv in mode.split(",")))
        return
    import Milter

    class Peer(Milter.Base):
        def __init__(self):
            self.seen = {}

        def note(self):
            for m in MACROS:
                v = self.getsymval(m)
                if v is not None:
                    self.seen[m] = v

        def connect(self, hostname, family, hostaddr):
            self.note()
            self.seen["host"] = hostname
            return Milter.ACCEPT if mode == "accept" else Milter.CONTINUE

        def hello(self, name):
            self.seen["helo"] = name
            return Milter.CONTINUE

        def envfrom(self, f, *args):
            self.note()
            self.seen["from"] = f
            return Milter.CONTINUE

        def envrcpt(self, to, *args):
            self.note()
            if mode == "reject":
                self.setreply("550", "5.7.1", "no thanks")
                return Milter.REJECT
            return Milter.CONTINUE

        def header(self, name, value):
            self.seen.setdefault("headers", []).append(name)
            return Milter.CONTINUE

        def eom(self):
            self.note()
            if mode == "tempfail":
                return Milter.TEMPFAIL
            if mode == "discard":
                return Milter.DISCARD
            macros = ";".join("%s=%s" % (k, self.seen[k]) for k in sorted(self.seen)
                              if k != "headers")
            self.addheader("X-Macros", macros)
            self.addheader("X-Headers", ",".join(self.seen.get("headers", [])))
            self.addheader("X-Milter", "added")
            self.addheader("X-First", "1", 0)
            self.chgheader("Subject", 1, "changed")
            self.chgheader("Received", 2, "")
            self.replacebody(b"new body\r\n")
            self.addrcpt("<added@example.org>")
            self.delrcpt("<rcpt@example.org>")
            self.chgfrom("<new-from@example.org>")
            self.quarantine("held by test")
            return Milter.CONTINUE

    Milter.factory = Peer
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT |
                     Milter.DELRCPT | Milter.CHGFROM | Milter.QUARANTINE)
    Milter.runmilter("peer", "unix:" + path, 60)


def scripted(path, script):
    import json
    import Milter

    class Scripted(Milter.Base):
        def __init__(self):
            self.seen, self.headers, self.bodytext = {}, [], b""

        def note(self, step):
            self.seen[step] = {m: self.getsymval(m) for m in ALL_MACROS
                               if self.getsymval(m) is not None}

        def act(self, step):
            a = script.get(step, "continue").split(":", 3)
            if a[0] in ("reject", "tempfail") and len(a) == 4:
                self.setreply(a[1], a[2], a[3])
            return {"continue": Milter.CONTINUE, "accept": Milter.ACCEPT,
                    "discard": Milter.DISCARD, "reject": Milter.REJECT,
                    "tempfail": Milter.TEMPFAIL}.get(a[0], Milter.CONTINUE)

        def connect(self, hostname, family, hostaddr):
            self.note("connect")
            self.seen["host"] = hostname
            return self.act("connect")

        def hello(self, name):
            self.note("helo")
            self.seen["helo_name"] = name
            return self.act("helo")

        def envfrom(self, f, *args):
            self.note("mail")
            self.seen["from"] = f
            return self.act("mail") if f.lstrip("<").startswith("no") else Milter.CONTINUE

        def envrcpt(self, to, *args):
            self.note("rcpt")
            self.seen.setdefault("rcpts", []).append(to)
            return self.act("rcpt") if to.lstrip("<").startswith("no") else Milter.CONTINUE

        def header(self, name, value):
            self.headers.append([name, value])
            return self.act("header")

        def eoh(self):
            return self.act("eoh")

        def body(self, chunk):
            self.bodytext += chunk
            return self.act("body")

        def eom(self):
            self.note("eom")
            if os.environ.get("MILTER_PEER_LOG"):
                with open(os.environ["MILTER_PEER_LOG"], "a") as f:
                    f.write(json.dumps({"seen": self.seen, "headers": self.headers,
                                        "body": self.bodytext.decode("utf-8", "replace")}) + "\n")
            a = script.get("eom", "continue")
            if a == "bysubject":
                a = next((v.strip() for n, v in self.headers if n.lower() == "subject"), "")
                script["bysubject"] = a
                if a.startswith("reject") or a.startswith("tempfail"):
                    return self.act("bysubject")
            if a == "discard":
                return Milter.DISCARD
            if a == "quarantine":
                self.quarantine("held by the test milter")
                return Milter.CONTINUE
            if a == "edit":
                self.addheader("X-Milter", "added")
                self.addheader("X-First", "1", 0)
                self.chgheader("Subject", 1, "changed by milter")
                self.replacebody(b"new body\r\nfrom the milter\r\n")
                self.addrcpt("<added@one.example>")
                self.delrcpt("<del@one.example>")
                self.chgfrom("<new-from@src.test>")
                return Milter.ACCEPT
            if a == "body8":
                self.replacebody("Gr\u00fc\u00dfe vom Milter\r\n".encode())
                return Milter.ACCEPT
            if a == "esmtp":
                self.chgfrom("<new-from@src.test>", "RET=HDRS ENVID=milter+2Benv")
                self.addrcpt("<par@one.example>",
                             "NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig+2Bpar@one.example")
                return Milter.ACCEPT
            if a == "badfromarg":
                self.chgfrom("<new-from@src.test>", "XFOO=1")
                return Milter.ACCEPT
            if a == "badrcptarg":
                self.addrcpt("<par@one.example>", "RET=FULL")
                return Milter.ACCEPT
            return self.act("eom")

    Milter.factory = Scripted
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT |
                     Milter.DELRCPT | Milter.CHGFROM | Milter.QUARANTINE | Milter.ADDRCPT_PAR)
    Milter.runmilter("peer", "unix:" + path, 60)


if __name__ == "__main__":
    main()
