"""bench/peers.py: the peer MTAs of bench/run besides Postfix: Exim 4, OpenSMTPD and Haraka.

Debian's exim4, opensmtpd and postfix packages conflict (each provides mail-transport-agent),
so the installed Postfix stays and the other two are never installed: fetch() (run outside
the bench's network namespace) takes them with `apt-get download` and unpacks them with
`dpkg-deb -x` into build/bench/peers/root/, together with every library package they depend
on that is not installed (found from the packages' Depends, checked with ldd afterwards), and
clears any setuid/setgid bit on what it unpacked. Haraka comes from the npm registry at the
version pinned in bench/haraka/package.json and package-lock.json (`npm ci` into
build/bench/peers/haraka/).

Each peer is a private instance with its own configuration, queue and log under
build/bench/NAME/, listening on 127.0.0.1 (Exim 2527, OpenSMTPD 2528, Haraka 2529), resolving
MX through the bench's nsd (/etc/netns/NS/resolv.conf, bound by `ip netns exec`), and runs in
a cgroup of its own. Exim and OpenSMTPD run in a private mount namespace (`unshare --mount`
inside the bench's network namespace) where build/bench/peers/etc/passwd and group (the
host's plus the users the packages would create: Debian-exim, opensmtpd, opensmtpq) are bound
over /etc/passwd and /etc/group and tmpfs hides /var/lib, /var/spool and /run, so the paths
compiled into the binaries (Exim's configuration file, OpenSMTPD's spool, chroot and control
socket) can point into build/bench without touching the host. The limits of the scenario are
translated in config text below; bench/README.md has the table.

Classes share the interface bench/run drives: name, port, cg, tag; prepare(limits), start(),
stop() (the queue stays), sinks_up() (called when the sinks start in drain and queue-scale),
queued() (what is left), disk_mb() (the queue on disk). `ctx` is a small namespace of
bench/run's helpers: W, NS, Cgroup, netns_cmd, wait_port, du_mb, log.
"""
import glob
import os
import pwd
import grp
import shutil
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_DEBS = {"exim": ["exim4-daemon-light"], "opensmtpd": ["opensmtpd"]}
PEER_BINS = {"exim": "usr/sbin/exim4", "opensmtpd": "usr/sbin/smtpd"}
# The users the Debian packages' maintainer scripts would create (name, group).
PEER_USERS = {"exim": [("Debian-exim", "Debian-exim")],
              "opensmtpd": [("opensmtpd", "opensmtpd"), ("opensmtpq", "opensmtpq")]}
EXIM_PORT, OPENSMTPD_PORT, HARAKA_PORT = 2527, 2528, 2529


# ---------------------------------------------------------------- fetching (outside the netns)

def multiarch():
    """The Debian multiarch triplet (x86_64-linux-gnu)."""
    r = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True,
                       text=True)
    if r.returncode == 0 and r.stdout.strip():
        return r.stdout.strip()
    return subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                          text=True).stdout.strip()


def lib_path(root):
    """LD_LIBRARY_PATH for binaries unpacked under root."""
    ma = multiarch()
    return ":".join(os.path.join(root, d, ma) for d in ("usr/lib", "lib"))


def installed(pkg):
    """True when the Debian package is installed on this machine."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True,
                       text=True)
    return r.returncode == 0 and "install ok installed" in r.stdout


def deb_depends(deb):
    """The first alternative of every Depends/Pre-Depends entry of a .deb, names only."""
    out = []
    for field in ("Pre-Depends", "Depends"):
        r = subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True)
        for entry in r.stdout.replace("\n", " ").split(","):
            name = entry.split("|")[0].strip().split(" ")[0].split(":")[0]
            if name:
                out.append(name)
    return out


def download(pkg, debs):
    """apt-get download PKG into debs/; returns the .deb's path."""
    have = glob.glob(os.path.join(debs, "%s_*.deb" % pkg))
    if have:
        return have[0]
    r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
    have = glob.glob(os.path.join(debs, "%s_*.deb" % pkg))
    if r.returncode != 0 or not have:
        raise SystemExit("bench: apt-get download %s failed: %s" % (pkg, r.stderr.strip()))
    return have[0]


def unpack_closure(pkgs, root, debs, log):
    """Downloads and unpacks pkgs and every not-installed lib* package they depend on."""
    todo, seen = list(pkgs), set()
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        stamp = os.path.join(root, ".unpacked", pkg)
        deb = download(pkg, debs)
        if not os.path.exists(stamp):
            log("peers: unpacking %s" % os.path.basename(deb))
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
            os.makedirs(os.path.dirname(stamp), exist_ok=True)
            open(stamp, "w").close()
        for dep in deb_depends(deb):
            if dep.startswith("lib") and dep not in seen and not installed(dep):
                todo.append(dep)


def clear_setid(root):
    """No setuid/setgid binary is left in the unpacked tree: everything runs as root."""
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            if not os.path.islink(p) and st.st_mode & 0o6000:
                os.chmod(p, st.st_mode & ~0o6000)


def check_libs(root, names):
    """Fails when ldd finds a library missing for an unpacked binary."""
    env = dict(os.environ, LD_LIBRARY_PATH=lib_path(root))
    for n in names:
        binary = os.path.join(root, PEER_BINS[n])
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, env=env).stdout
        missing = [ln.split()[0] for ln in out.split("\n") if "not found" in ln]
        if missing:
            raise SystemExit("bench: %s needs %s (not installed, not unpacked)"
                             % (binary, " ".join(missing)))


def fetch_haraka(dest, log):
    """npm ci of bench/haraka/package.json + package-lock.json into dest."""
    lock = os.path.join(HERE, "haraka", "package-lock.json")
    stamp = os.path.join(dest, ".installed")
    if os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(lock):
        return
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for f in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(HERE, "haraka", f), dest)
    log("peers: npm ci (Haraka) into %s" % dest)
    r = subprocess.run(["npm", "ci", "--omit=optional", "--ignore-scripts", "--no-audit",
                        "--no-fund", "--loglevel=error"], cwd=dest, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise SystemExit("bench: npm ci for Haraka failed: %s" % r.stderr.strip()[-2000:])
    open(stamp, "w").close()


def prune_make_includes(top):
    """Removes every entry named *.d under top (init.d, contrib/bsd-rc.d, ...): the Makefile
    includes every *.d under build/ as a dependency file, and none of these is needed."""
    for d, dirs, files in os.walk(top):
        for name in list(dirs):
            if name.endswith(".d"):
                shutil.rmtree(os.path.join(d, name))
                dirs.remove(name)
        for name in files:
            if name.endswith(".d"):
                os.unlink(os.path.join(d, name))


def fetch(names, W, log):
    """Brings every peer in names (exim, opensmtpd, haraka) into W/peers/."""
    peers = os.path.join(W, "peers")
    root, debs = os.path.join(peers, "root"), os.path.join(peers, "debs")
    os.makedirs(debs, exist_ok=True)
    debian = [n for n in names if n in PEER_DEBS]
    if debian:
        for n in debian:
            unpack_closure(PEER_DEBS[n], root, debs, log)
        clear_setid(root)
        check_libs(root, debian)
    if "haraka" in names:
        if not shutil.which("npm"):
            raise SystemExit("bench: npm is missing (Haraka comes from the npm registry)")
        fetch_haraka(os.path.join(peers, "haraka"), log)
    prune_make_includes(peers)


# ---------------------------------------------------------------- the private mount namespace

def free_id(taken, start=64000):
    """The first id at or above start not in taken."""
    i = start
    while i in taken:
        i += 1
    return i


def write_users(W):
    """W/peers/etc/passwd and group: the host's plus the peers' users (unused ids)."""
    d = os.path.join(W, "peers", "etc")
    os.makedirs(d, exist_ok=True)
    with open("/etc/passwd") as f:
        passwd = f.read()
    with open("/etc/group") as f:
        group = f.read()
    uids = {p.pw_uid for p in pwd.getpwall()}
    gids = {g.gr_gid for g in grp.getgrall()}
    ids = {}
    for users in PEER_USERS.values():
        for user, gname in users:
            if user in (p.pw_name for p in pwd.getpwall()):
                ids[user] = pwd.getpwnam(user).pw_uid
                continue
            uid = free_id(uids | gids)
            uids.add(uid)
            gids.add(uid)
            passwd += "%s:x:%d:%d::/nonexistent:/usr/sbin/nologin\n" % (user, uid, uid)
            group += "%s:x:%d:\n" % (gname, uid)
            ids[user] = uid
    for name, text in (("passwd", passwd), ("group", group)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return ids


def private_mounts(W, setup):
    """sh -c text: binds the peers' passwd/group, hides /var/lib, /var/spool and /run under
    tmpfs, runs the peer's own setup lines, then execs "$@"."""
    etc = os.path.join(W, "peers", "etc")
    lines = ["set -e",
             "mount --bind %s/passwd /etc/passwd" % etc,
             "mount --bind %s/group /etc/group" % etc,
             "mount -t tmpfs -o mode=755 benchpeer /var/lib",
             "mount -t tmpfs -o mode=755 benchpeer /var/spool",
             "mount -t tmpfs -o mode=755 benchpeer /run"] + setup + ['exec "$@"']
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            "; ".join(lines), "peer"]


class Peer:
    """What the three peers share: a directory, a cgroup, a log, a stop by SIGTERM."""
    name = port = None

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.W, self.name)
        self.root = os.path.join(ctx.W, "peers", "root")
        self.cg = ctx.Cgroup("%s-%s" % (ctx.NS, self.name))
        self.proc = self.logf = None
        self.tag = ""

    def launch(self, argv, env=None):
        """Starts argv in the cgroup, output to DIR/NAME.log, waits for the listener."""
        self.logf = open(os.path.join(self.dir, "%s.log" % self.name), "ab")
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=self.logf,
                                     preexec_fn=self.cg.join_self, env=env)
        if not self.ctx.wait_port(self.port, timeout=60):
            raise RuntimeError("%s did not start, see %s/%s.log" % (self.name, self.dir,
                                                                   self.name))

    def stop(self):
        """SIGTERM (the queue stays), waits, then kills what is left in the cgroup."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for _ in range(50):
            if not self.cg.pids():
                break
            time.sleep(0.1)
        self.cg.kill_all()
        if self.logf:
            self.logf.close()
            self.logf = None

    def sinks_up(self):
        """Called when the sinks start (drain, queue-scale); nothing by default."""

    def disk_mb(self):
        """Disk used by the queue."""
        return self.ctx.du_mb(self.queue_dir())


# ---------------------------------------------------------------- Exim

EXIM_CONF = """# generated by bench/run: a private Exim, see bench/README.md
exim_path = %(bin)s
keep_environment = LD_LIBRARY_PATH
primary_hostname = exim.bench.test
qualify_domain = bench.test
spool_directory = %(dir)s/spool
log_file_path = %(dir)s/log/%%slog
pid_file_path = %(dir)s/exim.pid
exim_user = Debian-exim
exim_group = Debian-exim
local_interfaces = 127.0.0.1
daemon_smtp_ports = %(port)d
smtp_accept_max = 100
smtp_accept_queue_per_connection = 0
message_size_limit = 10240000
remote_max_parallel = %(conns)d
%(tls)s
acl_smtp_rcpt = acl_rcpt

begin acl
acl_rcpt:
  accept hosts = 127.0.0.0/8
  deny

begin routers
dnslookup:
  driver = dnslookup
  transport = remote_smtp
  no_more

begin transports
remote_smtp:
  driver = smtp
  max_rcpt = %(rcpt)d
  connection_max_messages = %(reuse)d
  max_parallel = %(conns)d

begin retry
* * F,5s,1s; F,3d,5s
"""


class Exim(Peer):
    """Debian's exim4-daemon-light, unpacked: `exim4 -bdf -q1s` as root, with its
    configuration bound at the compiled-in path /var/lib/exim4/config.autogenerated inside the
    private mount namespace (so no -C, and re-executions read the same file)."""
    name, port = "exim", EXIM_PORT

    def prepare(self, limits):
        """Empty spool and log directories, the configuration from the limits."""
        shutil.rmtree(self.dir, ignore_errors=True)
        for d in ("spool", "log"):
            os.makedirs(os.path.join(self.dir, d))
            shutil.chown(os.path.join(self.dir, d), self.ctx.ids["Debian-exim"],
                         self.ctx.ids["Debian-exim"])
        self.conf = os.path.join(self.dir, "exim.conf")
        # tls: offered to every client; the smtp transport uses STARTTLS when offered (its
        # default). Exim reads the key after dropping to Debian-exim, hence the owner.
        tls = self.ctx.tls_copy(limits, self.dir, self.ctx.ids["Debian-exim"])
        tls_text = ("tls_advertise_hosts = *\ntls_certificate = %s\ntls_privatekey = %s"
                    % tls if tls else "tls_advertise_hosts =")
        with open(self.conf, "w") as f:
            f.write(EXIM_CONF % dict(bin=os.path.join(self.root, PEER_BINS["exim"]),
                                     dir=self.dir, port=self.port, tls=tls_text,
                                     conns=limits["maxconnections"],
                                     rcpt=limits["maxrecips"], reuse=limits["maxmessages"]))

    def start(self):
        """The daemon with a queue runner every second."""
        if os.path.exists("/etc/exim4/exim4.conf"):
            raise SystemExit("bench: /etc/exim4/exim4.conf exists and would take precedence")
        setup = ["mkdir -p /var/lib/exim4",
                 "touch /var/lib/exim4/config.autogenerated",
                 "mount --bind %s /var/lib/exim4/config.autogenerated" % self.conf]
        env = dict(os.environ, LD_LIBRARY_PATH=lib_path(self.root))
        self.launch(self.ctx.netns_cmd(private_mounts(self.ctx.W, setup) + [
            os.path.join(self.root, PEER_BINS["exim"]), "-bdf", "-q1s"]), env=env)

    def queue_dir(self):
        return os.path.join(self.dir, "spool")

    def queued(self):
        """Messages left: header files in the spool's input directory."""
        return len(glob.glob(os.path.join(self.dir, "spool", "input", "**", "*-H"),
                             recursive=True))


# ---------------------------------------------------------------- OpenSMTPD

OPENSMTPD_CONF = """# generated by bench/run: a private OpenSMTPD, see bench/README.md
smtp limit max-mails 1000000 max-rcpt 1000
smtp max-message-size 10240000
queue ttl 3d
scheduler limit max-inflight %(active)d
mta limit max-conn-per-source %(conns)d max-conn-per-host %(conc)d max-conn-per-route %(conc)d session-mail-max %(reuse)d session-keepalive 2 conn-delay-route 0 conn-delay-relay 0 reconn-delay-route 0 inet4
%(pki)slisten on 127.0.0.1 port %(port)d hostname opensmtpd.bench.test%(listen_tls)s
action "relay" relay helo opensmtpd.bench.test
match from src 127.0.0.0/8 for any action "relay"
"""


class OpenSMTPD(Peer):
    """Debian's opensmtpd, unpacked: `smtpd -d -f CONF` as root. Its spool (/var/spool/smtpd),
    chroot (/var/lib/opensmtpd/empty) and control socket (/run/smtpd.sock) are compiled in:
    the private mount namespace binds build/bench/opensmtpd/spool at the first and has the
    others on its tmpfs."""
    name, port = "opensmtpd", OPENSMTPD_PORT

    def prepare(self, limits):
        """Empty spool (mode 711, as smtpd insists), the configuration from the limits."""
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "spool"))
        os.chmod(os.path.join(self.dir, "spool"), 0o711)
        self.conf = os.path.join(self.dir, "smtpd.conf")
        # tls: STARTTLS offered (`tls pki`); relaying uses STARTTLS when offered (default).
        tls = self.ctx.tls_copy(limits, self.dir)
        pki = 'pki bench cert "%s"\npki bench key "%s"\n' % tls if tls else ""
        with open(self.conf, "w") as f:
            f.write(OPENSMTPD_CONF % dict(port=self.port, active=limits["queuecache"],
                                          pki=pki, listen_tls=" tls pki bench" if tls else "",
                                          conns=limits["maxconnections"],
                                          conc=limits["maxserverconnections"],
                                          reuse=limits["maxmessages"]))

    def start(self):
        """smtpd in the foreground (-d), its log on stderr."""
        setup = ["mkdir -p /var/lib/opensmtpd/empty /var/spool/smtpd",
                 "mount --bind %s/spool /var/spool/smtpd" % self.dir]
        env = dict(os.environ, LD_LIBRARY_PATH=lib_path(self.root))
        self.launch(self.ctx.netns_cmd(private_mounts(self.ctx.W, setup) + [
            os.path.join(self.root, PEER_BINS["opensmtpd"]), "-d", "-f", self.conf]), env=env)

    def smtpctl(self, *args):
        """smtpctl ARGS in smtpd's namespaces; returns its output. smtpctl insists on running
        with the queue group as its effective gid (it is installed setgid opensmtpq; the
        unpacked copy has no setgid bit)."""
        r = subprocess.run(["nsenter", "--target", str(self.proc.pid), "--mount", "--net", "--",
                            "setpriv", "--egid=opensmtpq", "--keep-groups",
                            os.path.join(self.root, "usr/sbin/smtpctl")] + list(args),
                           capture_output=True, text=True,
                           env=dict(os.environ, LD_LIBRARY_PATH=lib_path(self.root)))
        return (r.stdout + r.stderr).strip()

    def loaded(self):
        """Envelopes the scheduler holds or has delivered (`smtpctl show stats`)."""
        st = {}
        for line in self.smtpctl("show", "stats").split("\n"):
            k, _, v = line.partition("=")
            if v.strip().isdigit():
                st[k.strip()] = int(v)
        return st.get("scheduler.envelope", 0) + st.get("scheduler.delivery.ok", 0)

    def sinks_up(self):
        """After the restart in queue-scale: `smtpctl schedule all` once the scheduler has
        loaded every envelope on disk. OpenSMTPD's next retry is 400 s x n^2 after the first
        attempt (BACKOFF_TRANSFER, compiled in), longer than any run, so the bench tells it
        the destinations are back, as an operator would."""
        want, end = self.queued(), time.time() + 120
        while self.loaded() < want and time.time() < end:
            time.sleep(0.05)
        self.ctx.log("%s: smtpctl schedule all: %s" % (self.tag, self.smtpctl("schedule",
                                                                              "all")))

    def queue_dir(self):
        return os.path.join(self.dir, "spool")

    def queued(self):
        """Envelopes left (one per recipient): every file beside a message file in
        queue/BUCKET/MSGID/ and incoming/MSGID/."""
        n = 0
        for sub in ("queue", "incoming"):
            for d, _, files in os.walk(os.path.join(self.dir, "spool", sub)):
                if "message" in files:
                    n += len(files) - 1
        return n


# ---------------------------------------------------------------- Haraka

HARAKA_RELAY = """// generated by bench/run: loopback clients relay (what the relay plugin's ACL does)
exports.hook_connect = function (next, connection) {
    if (connection.remote.ip.startsWith('127.')) connection.relaying = true
    next()
}
exports.hook_rcpt = function (next, connection) {
    if (connection.relaying) return next(OK)
    next()
}
"""


class Haraka(Peer):
    """Haraka from the npm registry (bench/haraka/package-lock.json), one instance directory
    (config/, plugins/, queue/) under build/bench/haraka/, `haraka -c DIR` in the foreground.
    Mail from 127.0.0.0/8 is relayed and queued by its outbound queue."""
    name, port = "haraka", HARAKA_PORT

    def prepare(self, limits):
        """A new instance (`haraka -i DIR`), then config files from the limits and the relay
        plugin in place of its defaults."""
        shutil.rmtree(self.dir, ignore_errors=True)
        r = subprocess.run(["node", self.haraka_bin(), "-i", self.dir], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError("haraka -i %s: %s" % (self.dir, r.stderr.strip()))
        os.makedirs(os.path.join(self.dir, "queue"), exist_ok=True)
        files = {
            "config/smtp.ini": "[main]\nlisten=127.0.0.1:%d\n" % self.port,
            "config/me": "haraka.bench.test\n",
            "config/databytes": "10240000\n",
            "config/plugins": "bench_relay\n",
            "config/outbound.ini": "concurrency_max=%d\nlocal_mx_ok=true\n"
                                   "temp_fail_intervals=5s*1000\n"
                                   % limits["maxconnections"],
            "plugins/bench_relay.js": HARAKA_RELAY,
        }
        tls = self.ctx.tls_copy(limits, os.path.join(self.dir, "config"))
        if tls:
            # the tls plugin offers STARTTLS with config/tls_cert.pem and tls_key.pem, which
            # outbound (enable_tls, its default) uses as well
            os.rename(tls[0], os.path.join(self.dir, "config", "tls_cert.pem"))
            os.rename(tls[1], os.path.join(self.dir, "config", "tls_key.pem"))
            files["config/plugins"] = "tls\nbench_relay\n"
        for path, text in files.items():
            with open(os.path.join(self.dir, path), "w") as f:
                f.write(text)

    def haraka_bin(self):
        """The haraka command installed by fetch()."""
        return os.path.join(self.ctx.W, "peers", "haraka", "node_modules", "Haraka", "bin",
                            "haraka")

    def start(self):
        """node haraka -c DIR."""
        self.launch(self.ctx.netns_cmd(["node", self.haraka_bin(), "-c", self.dir]))

    def queue_dir(self):
        return os.path.join(self.dir, "queue")

    def queued(self):
        """Queue files left (one per message and destination domain)."""
        return len([f for f in os.listdir(self.queue_dir())
                    if not f.startswith(".") and
                    os.path.isfile(os.path.join(self.queue_dir(), f))])


PEERS = {"exim": Exim, "opensmtpd": OpenSMTPD, "haraka": Haraka}
