"""bench/conns.py: the opt-in scenarios of bench/run that hold 10,000 connections (issue 14
point 5), sluice only, one core's worth of event loop:

conns-out  10,000 messages queued (bench/qfill) for 10,000 domains c1..c10000.test, each
           with its own MX address 127.100.X.Y (zone "test."); one sink (bench/sink.c)
           bound to 0.0.0.0:25 in the namespace answers every command 1 s late (-d 1000),
           so a delivery holds its connection ~4 s and all 10,000 are open at once.
           sluice starts with delay_start 3 s: its anonymous memory with the queue loaded
           and no connection is the baseline; the peak during the drain minus the baseline,
           over the sink's peak of simultaneous connections, is the cost of a connection.
conns-in   10,000 SMTP sessions from this process (asyncio) to sluice's listener, each
           after its greeting, EHLO, MAIL and RCPT (a transaction open); once all are held,
           anonymous memory minus the idle daemon's, over the sessions, is the cost of one.

Counts scale with BENCH_SCALE. RLIMIT_NOFILE is raised for the harness and what it starts
(raise_nofile); sluice's limits for these runs: conns-out deliver.maxconnections N + 1,000,
queuecache 2N, maxmessages 1; conns-in smtpd.max_connections N + 1,000. Results: one table and DATE-HOST-conns.csv.
"""
import asyncio
import csv
import os
import resource
import subprocess
import time

SCENARIOS = ["conns-out", "conns-in"]
NOFILE = 65536
WANTED = {"zone": False}
FIELDS = ["scenario", "round", "n", "peak_conns", "base_anon_mb", "peak_anon_mb",
          "bytes_per_conn", "msgs_s", "seconds", "delivered", "cpu_s"]


def raise_nofile():
    """The soft RLIMIT_NOFILE up to NOFILE or the hard limit (children inherit it; a
    container may not let even root raise the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def plan(sc, scale):
    """bench/run's scenario(): the counts and limits."""
    n = max(1, int(round(10000 * scale)))
    sc.update(kind="conns", load=[], msgs=n)
    # each side's limit only where it is measured: the daemon needs the sum of both plus
    # 256 descriptors (this box's hard limit is 20,000)
    if sc["name"] == "conns-out":
        sc["limits"].update(maxconnections=n + 1000, queuecache=2 * n, delay_start="3s",
                            maxmessages=1)
    else:
        sc["limits"].update(smtpd_max=n + 1000)
    if sc["name"] == "conns-out":
        WANTED["zone"] = True
        WANTED["n"] = max(WANTED.get("n", 0), n)


def mx_addr(i):
    """The MX address of domain c<i>.test."""
    return "127.%d.%d.%d" % (100 + i // 65536, (i // 256) % 256, i % 256)


def zone_lines():
    """c1..cN.test, each its own MX host and address (only when conns-out runs)."""
    if not WANTED["zone"]:
        return []
    z = []
    for i in range(1, WANTED["n"] + 1):
        z.append("c%d IN MX 10 cmx%d.test." % (i, i))
        z.append("cmx%d IN A %s" % (i, mx_addr(i)))
    return z


def anon_mb(ctx, cg):
    """Anonymous resident memory of the cgroup's processes now."""
    return sum(ctx.proc_anon_kb(p) for p in cg.pids()) / 1024.0


def run(mta, sc, rnd, ctx):
    """One run of conns-out or conns-in; returns its row."""
    tag = "%s-sluice-r%d" % (sc["name"], rnd)
    ctx.log("%s: %d %s" % (tag, sc["msgs"], "destinations" if sc["name"] == "conns-out"
                           else "sessions"))
    mta.prepare(sc["limits"])
    mta.tag = tag
    if sc["name"] == "conns-out":
        row = run_out(mta, sc, tag, ctx)
    else:
        row = run_in(mta, sc, ctx)
    row.update(scenario=sc["name"], round=rnd, n=sc["msgs"])
    row["bytes_per_conn"] = ((row["peak_anon_mb"] - row["base_anon_mb"]) * 1048576.0 /
                             max(1, row["peak_conns"]))
    ctx.log("%s: %d connections at once, %.0f bytes each, %.1f -> %.1f MB anonymous"
            % (tag, row["peak_conns"], row["bytes_per_conn"], row["base_anon_mb"],
               row["peak_anon_mb"]))
    return row


def run_out(mta, sc, tag, ctx):
    """conns-out: queue filled, sink up (1 s per reply), restart, drain."""
    n = sc["msgs"]
    ctx.sh([os.path.join(ctx.W, "qfill"), mta.spool, str(n), str(n), "2048", "c"])
    sink = ctx.Sink(tag, ["-d", "1000"])
    sink_start_any(sink, ctx)
    mta.start()
    time.sleep(1.5)  # recovered, delay_start (3 s) not over: no connection yet
    base = anon_mb(ctx, mta.cg)
    cpu0 = mta.cg.cpu_seconds()
    mem = ctx.MemSampler(mta.cg)
    mem.start()
    ctx.wait_delivered(sink, n, 60)
    mem.finish()
    c = sink.counters()
    mta.stop()
    sink.stop()
    secs = max(0.001, (c["last"] - c["first"]) / 1000.0) if c["first"] else 0.0
    return dict(peak_conns=c["peak"], base_anon_mb=base, peak_anon_mb=mem.peak_anon / 1024.0,
                msgs_s=c["mesg"] / secs if secs else 0.0, seconds=secs, delivered=c["rcpt"],
                cpu_s=mta.cg.cpu_seconds() - cpu0)


def sink_start_any(sink, ctx):
    """The sink on 0.0.0.0:25: every 127.x.y.z of lo reaches it."""
    sink.proc = subprocess.Popen([os.path.join(ctx.W, "sink"), "-o", sink.series] +
                                 sink.args + ["0.0.0.0:25"])
    for _ in range(100):
        if os.path.exists(sink.series) and os.path.getsize(sink.series) > 0:
            return
        time.sleep(0.02)
    raise RuntimeError("sink did not start")


async def reply(r):
    """The last line of one (multi-line) reply, "" on EOF; at most 60 s."""
    while True:
        line = await asyncio.wait_for(r.readline(), 60)
        if not line or line[3:4] != b"-":
            return line


async def hold_session(port, i, held, release, opening):
    """One client: greeting, EHLO, MAIL, RCPT; holds until release; QUIT. At most
    len(opening) sessions are in their opening at once: a burst of 10,000 connects overflows
    the listen backlog, and a client whose handshake the server dropped waits forever."""
    async with opening:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 60)
        try:
            for cmd in (None, b"EHLO c%d.bench.test\r\n" % i,
                        b"MAIL FROM:<s%d@bench.test>\r\n" % i, b"RCPT TO:<r%d@d1.test>\r\n" % i):
                if cmd:
                    w.write(cmd)
                line = await reply(r)
                if not line.startswith((b"2", b"3")):
                    raise RuntimeError("session %d: %r" % (i, line))
        except BaseException:
            w.close()
            raise
    try:
        held.append(i)
        await release.wait()
        w.write(b"QUIT\r\n")
        await reply(r)
    finally:
        w.close()


async def hold_all(port, n, on_held):
    """n sessions at once; on_held(held) runs once all are held (or after 180 s, or once one
    failed)."""
    held, release, opening = [], asyncio.Event(), asyncio.Semaphore(200)
    tasks = [asyncio.ensure_future(hold_session(port, i, held, release, opening))
             for i in range(n)]
    end = time.time() + 180
    while len(held) < n and time.time() < end and not any(t.done() and t.exception()
                                                           for t in tasks):
        await asyncio.sleep(0.1)
    result = on_held(len(held))
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def run_in(mta, sc, ctx):
    """conns-in: n sessions held against the idle daemon."""
    mta.start()
    time.sleep(1.0)
    base = anon_mb(ctx, mta.cg)
    cpu0 = mta.cg.cpu_seconds()
    t0 = time.time()

    def on_held(k):
        time.sleep(0.5)
        return k, max(anon_mb(ctx, mta.cg) for _ in range(3)), time.time() - t0

    held, peak, secs = asyncio.run(hold_all(mta.port, sc["msgs"], on_held))
    cpu = mta.cg.cpu_seconds() - cpu0
    mta.stop()
    return dict(peak_conns=held, base_anon_mb=base, peak_anon_mb=peak, msgs_s=0.0,
                seconds=secs, delivered=0, cpu_s=cpu)


def table(rows):
    """The table on stdout."""
    out = ["| scenario | round | n | simultaneous | anon MB before | anon MB peak | "
           "bytes / connection | msgs/s | seconds | delivered | CPU s |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append("| %s | %d | %d | %d | %.1f | %.1f | %.0f | %.0f | %.2f | %d | %.2f |"
                   % (r["scenario"], r["round"], r["n"], r["peak_conns"], r["base_anon_mb"],
                      r["peak_anon_mb"], r["bytes_per_conn"], r["msgs_s"], r["seconds"],
                      r["delivered"], r["cpu_s"]))
    return "\n".join(out)


def write(stem, rows):
    """DATE-HOST-conns.csv."""
    with open(stem + "-conns.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in FIELDS})
